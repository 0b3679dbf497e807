/**
 * What an actor's faults did to the data it sent (counted by the sender; the receivers count what they
 * refused in `rejected`). Read from the actor's state in tests (SimEngine.stateOf).
 */
export interface FaultTally {
  /** Stripes whose first copy a lossy link dropped (link-degrade lossPct): sent again. */
  lost: number;
  /** Stripes whose first copy went out corrupted (link-degrade corruptPct): the next hop refuses it as `corrupt`. */
  corrupted: number;
  /** Data messages sent twice (message-duplicate), and the stripes in those copies. */
  duplicated: number;
  duplicatedStripes: number;
  /** Data messages held back behind the next one (message-reorder). */
  reordered: number;
  /** Transfers whose send waited for a flapping link to come up (link-flap), and the ns waited in all. */
  flapWaits: number;
  flapWaitNs: number;
  /** Stripes that reached this actor across a partition and were dropped (counted by the receiver). */
  partitioned: number;
}

export const emptyFaultTally = (): FaultTally => ({ lost: 0, corrupted: 0, duplicated: 0, duplicatedStripes: 0, reordered: 0, flapWaits: 0, flapWaitNs: 0, partitioned: 0 });

/**
 * Why an actor (or the coordinator) refused a message. Every refusal is counted under one reason,
 * reported in `status` replies and in `report.json` `rejected`, and logged (first per sender and
 * reason, then every Nth).
 */
export const RejectReason = {
  /** A data stripe (or op-done) already seen: a replay, or a duplicate the transport made. */
  Duplicate: "duplicate",
  /** Sender fields that disagree with the subject, the topology or the op (spoofed source, wrong path, control from a non-coordinator). */
  Forged: "forged",
  /** For an op that already ended here, or of another epoch. */
  Stale: "stale",
  /** Does not decode, or fails the guard. */
  Malformed: "malformed",
  /** Larger than the largest message accepted from the wire. */
  Oversize: "oversize",
  /** A bounded buffer or window was full (messages for ops not started, dedup windows, open ops). */
  Overflow: "overflow",
  /** The payload's CRC-32 does not match: never reduced into a result. */
  Corrupt: "corrupt",
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];
export const REJECT_REASONS: readonly RejectReason[] = Object.values(RejectReason);

/** Refusals per reason. */
export type RejectCounts = { readonly [K in RejectReason]: number };

export function emptyRejectCounts(): { [K in RejectReason]: number } {
  return { duplicate: 0, forged: 0, stale: 0, malformed: 0, oversize: 0, overflow: 0, corrupt: 0 };
}

export function totalRejected(c: RejectCounts): number {
  let n = 0;
  for (const k of REJECT_REASONS) n += c[k];
  return n;
}

/** Adds `b` into `a`. */
export function addRejectCounts(a: { [K in RejectReason]: number }, b: RejectCounts): void {
  for (const k of REJECT_REASONS) a[k] += b[k];
}

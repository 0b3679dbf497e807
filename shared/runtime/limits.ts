/**
 * Bounds on what an actor keeps for messages it cannot use yet or must remember, so that no sender
 * — a replay, a flood, a forged op id — can grow an actor's memory without bound. The defaults are
 * far above what full-scale runs use (stripes arrive early only when transport order differs from
 * causal order, a few per peer) and low enough that a flood stays within tens of MB per actor.
 */
export interface ActorLimits {
  /** Data messages of ops not started here, kept per sender. */
  readonly earlyMessagesPerSender: number;
  /** Bytes (payload plus a fixed overhead per message and stripe) of such messages, per actor. */
  readonly earlyBytesPerActor: number;
  /** Ops with buffered early messages, or open duplicate-detection windows, per actor. */
  readonly openOps: number;
  /** Transfers remembered per op window (each with its stripes seen). */
  readonly transfersPerOp: number;
}

export const DEFAULT_EARLY_MESSAGES_PER_SENDER = 4096;
export const DEFAULT_EARLY_BYTES_PER_ACTOR = 16 * 1024 * 1024;
export const DEFAULT_OPEN_OPS = 16;
export const DEFAULT_TRANSFERS_PER_OP = 2 * 1024 * 1024;

export const DEFAULT_LIMITS: ActorLimits = {
  earlyMessagesPerSender: DEFAULT_EARLY_MESSAGES_PER_SENDER,
  earlyBytesPerActor: DEFAULT_EARLY_BYTES_PER_ACTOR,
  openOps: DEFAULT_OPEN_OPS,
  transfersPerOp: DEFAULT_TRANSFERS_PER_OP,
};

import type { ActorLimits } from "../../shared/runtime/index.js";

/** Stripe counts up to this are kept as a bitmask in one number; larger transfers get a byte per stripe. */
const MASK_STRIPES = 30;

/** What a window says of a stripe. */
export type Admit = "new" | "duplicate" | "overflow";

/**
 * The stripes of one op an actor has already accepted, per transfer: a stripe seen again (a replay, or
 * a duplicate the transport made) is known before it costs port time or is used. Bounded: at most
 * `transfersPerOp` transfers; the whole window is released when the op ends here.
 */
export class StripeWindow {
  private readonly seen = new Map<number, number | Uint8Array>();

  constructor(readonly epoch: number, private readonly maxTransfers: number) {}

  /** Marks the stripe seen; says whether it was new. `transfer` is a number unique within the op. */
  admit(transfer: number, stripe: number, stripes: number): Admit {
    const had = this.seen.get(transfer);
    if (had === undefined) {
      if (this.seen.size >= this.maxTransfers) return "overflow";
      if (stripes <= MASK_STRIPES) this.seen.set(transfer, 1 << stripe);
      else { const b = new Uint8Array(stripes); b[stripe] = 1; this.seen.set(transfer, b); }
      return "new";
    }
    if (typeof had === "number") {
      const bit = 1 << stripe;
      if (had & bit) return "duplicate";
      this.seen.set(transfer, had | bit);
      return "new";
    }
    if (had[stripe]) return "duplicate";
    had[stripe] = 1;
    return "new";
  }

  get transfers(): number { return this.seen.size; }
}

/**
 * Windows of the ops open at one actor, oldest first. Opening more than `openOps` closes the oldest
 * (its stragglers become stale), so a forged op id can evict nothing but itself out of a full set.
 */
export class OpWindows {
  private readonly open = new Map<number, StripeWindow>();
  /** The highest op ever opened here: ops at or below it that are not open have ended (stale). */
  highestOp = 0;

  constructor(private readonly limits: ActorLimits) {}

  openOp(op: number, epoch: number): StripeWindow {
    if (this.open.size >= this.limits.openOps) this.open.delete(this.open.keys().next().value as number);
    const w = new StripeWindow(epoch, this.limits.transfersPerOp);
    this.open.set(op, w);
    this.highestOp = Math.max(this.highestOp, op);
    return w;
  }

  get(op: number): StripeWindow | undefined { return this.open.get(op); }
  close(op: number): void { this.open.delete(op); }
  /** An op that ended here, or that this actor skipped: nothing of it may be used any more. */
  isStale(op: number): boolean { return op <= this.highestOp && !this.open.has(op); }
}

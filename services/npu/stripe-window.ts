import type { ActorLimits } from "../../shared/runtime/index.js";

/** Stripe counts up to this are kept as a bitmask in one number; larger transfers get a byte per stripe. */
export const MASK_STRIPES = 30;
const INITIAL_SLOTS = 1024;

/** What a window says of a stripe. */
export type Admit = "new" | "duplicate" | "overflow";

/**
 * The stripes of one op an actor has already accepted, per transfer (src, dst, tag): a stripe seen
 * again (a replay, or a duplicate the transport made) is known before it costs port time or is used.
 * Bounded: at most `maxTransfers` transfers; the whole window is released when the op ends here.
 * Narrow transfers live in an open-addressing table of typed arrays (no allocation, small-integer
 * keys: this is on every switch's hot path); wider ones in a map of byte flags.
 */
export class StripeWindow {
  private pairs = new Int32Array(INITIAL_SLOTS);
  private tags = new Int32Array(INITIAL_SLOTS);
  private masks = new Int32Array(INITIAL_SLOTS);
  private used = 0;
  private readonly wide = new Map<string, Uint8Array>();

  constructor(readonly epoch: number, private readonly maxTransfers: number) {}

  get transfers(): number { return this.used + this.wide.size; }

  /**
   * Stripes of one narrow transfer at once (a message's parts; stripes ≤ MASK_STRIPES): marks the
   * stripes of `mask` seen and returns those that were new, or -1 when the window is full.
   * `pair` (< 2^31) names (src, dst), `tag` (< 2^31) the transfer between them.
   */
  admitMask(pair: number, tag: number, mask: number): number {
    const slot = this.find(pair, tag);
    if (this.pairs[slot] !== 0) {
      const had = this.masks[slot]!;
      this.masks[slot] = had | mask;
      return mask & ~had;
    }
    if (this.transfers >= this.maxTransfers) return -1;
    this.pairs[slot] = pair + 1;
    this.tags[slot] = tag;
    this.masks[slot] = mask;
    if (++this.used * 2 > this.pairs.length) this.grow();
    return mask;
  }

  /** One stripe of a transfer of any width. */
  admit(pair: number, tag: number, stripe: number, stripes: number): Admit {
    if (stripes <= MASK_STRIPES) {
      const fresh = this.admitMask(pair, tag, 1 << stripe);
      return fresh < 0 ? "overflow" : fresh ? "new" : "duplicate";
    }
    const key = `${pair}:${tag}`;
    let flags = this.wide.get(key);
    if (!flags) {
      if (this.transfers >= this.maxTransfers) return "overflow";
      flags = new Uint8Array(stripes);
      this.wide.set(key, flags);
    }
    if (stripe >= flags.length || flags[stripe]) return stripe >= flags.length ? "overflow" : "duplicate";
    flags[stripe] = 1;
    return "new";
  }

  /** The slot holding (pair, tag), or the empty slot where it would go (linear probing). */
  private find(pair: number, tag: number): number {
    const mask = this.pairs.length - 1;
    let i = (Math.imul(pair, 0x9e3779b1) ^ Math.imul(tag + 1, 0x85ebca77)) & mask;
    for (;;) {
      const p = this.pairs[i]!;
      if (p === 0 || (p === pair + 1 && this.tags[i] === tag)) return i;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const [pairs, tags, masks] = [this.pairs, this.tags, this.masks];
    this.pairs = new Int32Array(pairs.length * 2);
    this.tags = new Int32Array(pairs.length * 2);
    this.masks = new Int32Array(pairs.length * 2);
    for (let i = 0; i < pairs.length; i++) {
      if (pairs[i] === 0) continue;
      const slot = this.find(pairs[i]! - 1, tags[i]!);
      this.pairs[slot] = pairs[i]!;
      this.tags[slot] = tags[i]!;
      this.masks[slot] = masks[i]!;
    }
  }
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

import type { ActorLimits } from "../../shared/runtime/index.js";

/** Stripe counts up to this are kept as a bitmask in one number; larger transfers get a byte per stripe. */
export const MASK_STRIPES = 30;
const INITIAL_SLOTS = 256;
/**
 * Int32s per slot; a power of two (8 = 32 bytes), so that a slot never straddles a cache line. A slot
 * holds the stripe masks of TAGS_PER_SLOT consecutive tags of one pair: a ring sends a pair its steps
 * as consecutive tags, so one slot stands for six transfers (5 bytes each instead of 16, issue 11).
 */
const SLOT_INTS = 8;
const TAGS_PER_SLOT = 6;
/**
 * Mixes (pair, tag block) into 32 bits whose low bits depend on every input bit (murmur3's finalizer): the
 * table indexes by the low bits, and tags differ mostly in their high bits (one 2^20 range per
 * collective of a training step), which a bare multiply leaves out of them (13 probes a lookup).
 */
function slotHash(pair: number, tag: number): number {
  let h = Math.imul(pair, 0x9e3779b1) ^ Math.imul(tag + 1, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** What a window says of a stripe. */
export type Admit = "new" | "duplicate" | "overflow";

/**
 * The stripes of one op an actor has already accepted, per transfer (src, dst, tag): a stripe seen
 * again (a replay, or a duplicate the transport made) is known before it costs port time or is used.
 * Bounded: at most `maxTransfers` transfers; the whole window is released when the op ends here.
 * Narrow transfers live in an open-addressing table in one typed array (no allocation, and a probe
 * touches one cache line: this is on every switch's hot path, over tables of 10^5 transfers); wider
 * ones in a map of byte flags.
 */
export class StripeWindow {
  /**
   * Slot i is slots[8i..8i+7] = (pair + 1 or 0 when empty, tag block ⌊tag / 6⌋, then the stripes seen of
   * each of the block's six tags, 0 for a transfer not seen): one probe, one cache line.
   */
  private slots = new Int32Array(INITIAL_SLOTS * SLOT_INTS);
  /** Slots taken, and transfers seen (a tag with a nonzero mask). */
  private used = 0;
  private narrow = 0;
  private readonly wide = new Map<string, Uint8Array>();

  constructor(readonly epoch: number, private readonly maxTransfers: number) {}

  get transfers(): number { return this.narrow + this.wide.size; }

  /**
   * Stripes of one narrow transfer at once (a message's parts; stripes ≤ MASK_STRIPES): marks the
   * stripes of `mask` seen and returns those that were new, or -1 when the window is full.
   * `pair` (< 2^31) names (src, dst), `tag` (< 2^31) the transfer between them.
   */
  admitMask(pair: number, tag: number, mask: number): number {
    const slots = this.slots;
    const block = (tag / TAGS_PER_SLOT) | 0;
    let at = this.find(slots, pair, block);
    const had = slots[at] === 0 ? 0 : slots[at + 2 + tag - TAGS_PER_SLOT * block]!;
    if (had !== 0) {
      slots[at + 2 + tag - TAGS_PER_SLOT * block] = had | mask;
      return mask & ~had;
    }
    if (this.transfers >= this.maxTransfers) return -1;
    if (slots[at] === 0) {
      slots[at] = pair + 1;
      slots[at + 1] = block;
      if (++this.used * 2 * SLOT_INTS > slots.length) { this.grow(); at = this.find(this.slots, pair, block); }
    }
    this.slots[at + 2 + tag - TAGS_PER_SLOT * block] = mask;
    this.narrow++;
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

  /** Offset of the slot holding (pair, tag block), or of the empty slot where it would go (linear probing). */
  private find(slots: Int32Array, pair: number, block: number): number {
    const mask = slots.length - SLOT_INTS;
    let i = (slotHash(pair, block) << 3) & mask;
    for (;;) {
      const p = slots[i]!;
      if (p === 0 || (p === pair + 1 && slots[i + 1] === block)) return i;
      i = (i + SLOT_INTS) & mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    for (let i = 0; i < old.length; i += SLOT_INTS) {
      if (old[i] === 0) continue;
      const at = this.find(slots, old[i]! - 1, old[i + 1]!);
      for (let k = 0; k < SLOT_INTS; k++) slots[at + k] = old[i + k]!; // no subarray view per slot
    }
    this.slots = slots;
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

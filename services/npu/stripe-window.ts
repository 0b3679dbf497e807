import type { ActorLimits } from "../../shared/runtime/index.js";
import { RememberingMap } from "./remembering-map.js";

/** Stripe counts up to this are kept as a bitmask in one number; larger transfers get a byte per stripe. */
export const MASK_STRIPES = 30;
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

/** Tags of one 2^20 range (a training step's collective: comm.ts Tags) share a table. */
const RANGE_BITS = 20;
const RANGE_MASK = (1 << RANGE_BITS) - 1;
/** Slots a range's table starts with: most ranges hold a few transfers at a given switch. */
const RANGE_SLOTS = 16;

/** Offset of the slot holding (pair, tag block), or of the empty slot where it would go (linear probing). */
function find(slots: Int32Array, pair: number, block: number): number {
  const mask = slots.length - SLOT_INTS;
  let i = (slotHash(pair, block) << 3) & mask;
  for (;;) {
    const p = slots[i]!;
    if (p === 0 || (p === pair + 1 && slots[i + 1] === block)) return i;
    i = (i + SLOT_INTS) & mask;
  }
}

/** The table doubled, every slot rehashed into it. */
function grown(old: Int32Array): Int32Array {
  const slots = new Int32Array(old.length * 2);
  for (let i = 0; i < old.length; i += SLOT_INTS) {
    if (old[i] === 0) continue;
    const at = find(slots, old[i]! - 1, old[i + 1]!);
    for (let k = 0; k < SLOT_INTS; k++) slots[at + k] = old[i + k]!; // no subarray view per slot
  }
  return slots;
}

/**
 * The stripes of one op an actor has already accepted, per transfer (src, dst, tag): a stripe seen
 * again (a replay, or a duplicate the transport made) is known before it costs port time or is used.
 * Bounded: at most `maxTransfers` transfers; the whole window is released when the op ends here.
 *
 * Narrow transfers live in open-addressing tables in typed arrays (no allocation, and a probe touches
 * one cache line), one table per 2^20 range of tags. A training step is one op whose collectives each
 * take a range, and a switch sees 10^5–10^6 transfers in it: in one table every lookup missed the
 * cache (8 MB tables here) and growing rehashed them all; a range's table holds one collective's
 * transfers, the few in flight at a time stay in cache, and a finished collective's table is never
 * touched again. Wider transfers live in a map of byte flags.
 */
export class StripeWindow {
  /**
   * One open-addressing table per tag range, tag >>> 20 (< 2^12 for any 32-bit tag, < 2^11 for the
   * guard's tags below 2^31). Slot i of a table is slots[8i..8i+7] = (pair + 1 or 0 when empty, tag
   * block ⌊tag / 6⌋ within the range, then the stripes seen of each of the block's six tags, 0 for a
   * transfer not seen): one probe, one cache line.
   */
  private readonly ranges: (Int32Array | undefined)[] = [];
  /** Slots taken in each range's table. Both arrays grow to the highest range used, densely (never sparse). */
  private readonly taken: number[] = [];
  private narrow = 0;
  /** The range used last and its table (a message is nearly always of the range before it): no array load. */
  private lastRange = -1;
  private lastSlots: Int32Array | undefined;
  private readonly wide = new Map<string, Uint8Array>();

  constructor(readonly epoch: number, private readonly maxTransfers: number) {}

  get transfers(): number { return this.narrow + this.wide.size; }

  /**
   * Stripes of one narrow transfer at once (a message's parts; stripes ≤ MASK_STRIPES): marks the
   * stripes of `mask` seen and returns those that were new, or -1 when the window is full.
   * `pair` (< 2^31) names (src, dst), `tag` (< 2^31) the transfer between them.
   */
  admitMask(pair: number, tag: number, mask: number): number {
    const r = tag >>> RANGE_BITS, low = tag & RANGE_MASK;
    let slots = r === this.lastRange ? this.lastSlots : this.ranges[r];
    if (slots === undefined) slots = this.newRange(r);
    this.lastRange = r; this.lastSlots = slots;
    const block = (low / TAGS_PER_SLOT) | 0, col = 2 + low - TAGS_PER_SLOT * block;
    let at = find(slots, pair, block);
    const had = slots[at] === 0 ? 0 : slots[at + col]!;
    if (had !== 0) {
      slots[at + col] = had | mask;
      return mask & ~had;
    }
    if (this.transfers >= this.maxTransfers) return -1;
    if (slots[at] === 0) {
      slots[at] = pair + 1;
      slots[at + 1] = block;
      if (++this.taken[r]! * 2 * SLOT_INTS > slots.length) { slots = this.ranges[r] = this.lastSlots = grown(slots); at = find(slots, pair, block); }
    }
    slots[at + col] = mask;
    this.narrow++;
    return mask;
  }

  /** An empty table for range r, the arrays grown to reach it (a few ranges for a collective op, one per collective for a training step). */
  private newRange(r: number): Int32Array {
    while (this.ranges.length <= r) { this.ranges.push(undefined); this.taken.push(0); }
    return (this.ranges[r] = new Int32Array(RANGE_SLOTS * SLOT_INTS));
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
}

/**
 * Windows of the ops open at one actor, oldest first. Opening more than `openOps` closes the oldest
 * (its stragglers become stale), so a forged op id can evict nothing but itself out of a full set.
 * It is the remembering map itself (not one held in a field): the window of the op looked up last is
 * read from this object, one cache line fewer per message.
 */
export class OpWindows extends RememberingMap<StripeWindow> {
  /** The highest op ever opened here: ops at or below it that are not open have ended (stale). */
  highestOp = 0;

  constructor(private readonly limits: ActorLimits) { super(); }

  openOp(op: number, epoch: number): StripeWindow {
    if (this.size >= this.limits.openOps) this.delete(this.keys().next().value as number);
    const w = new StripeWindow(epoch, this.limits.transfersPerOp);
    this.set(op, w);
    this.highestOp = Math.max(this.highestOp, op);
    return w;
  }

  close(op: number): void { this.delete(op); }
  /** An op that ended here, or that this actor skipped: nothing of it may be used any more. */
  isStale(op: number): boolean { return op <= this.highestOp && !this.has(op); }
}

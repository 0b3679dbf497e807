import type { Delivered } from "../../shared/collectives/index.js";
import { deliveredAtNs } from "../../shared/linkmodel/index.js";
import type { StripePart } from "../../shared/protocol/index.js";
import { f64, type SimNs } from "../../shared/units/index.js";

/** What a stripe did to its transfer. */
export type Added = Delivered | "partial" | "duplicate" | "mismatch" | "overflow";

const INITIAL_SLOTS = 256;
/** A slot is (key, state): 16 bytes; state is EMPTY_SLOT, DONE, or 1 + the index of the transfer's Pending. */
const EMPTY_SLOT = 0, DONE = -1;
/** What a transfer whose stripes carry no real elements delivers: nothing to copy, nothing to write. */
const NO_DATA = new Float64Array(0);

/** A transfer with some of its stripes in. Records are reused, so a transfer allocates nothing here. */
interface Pending {
  parts: (Float64Array | undefined)[];
  got: number;
  firstByteNs: number;
  deliveredNs: number;
}

/** Mixes an integer-valued key (< 2^53) into 32 bits whose low bits depend on all of its bits. */
function keyHash(key: number): number {
  let h = Math.imul(key >>> 0, 0x9e3779b1) ^ Math.imul((key / 4294967296) >>> 0, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Collects the stripes of each transfer of one op. A transfer is delivered when its last stripe is;
 * its first byte is the earliest stripe head. Real elements are joined in stripe order, never arrival
 * order. It also is the op's duplicate detector: a stripe it already holds, or of a transfer it
 * already delivered, is a "duplicate" (remembered until the op ends here, when the whole object
 * goes); at most `maxTransfers` transfers are tracked ("overflow" past that).
 *
 * On every endpoint's hot path, with keys past 2^30 (not V8 small integers): every transfer seen is
 * a (key, state) slot of an open-addressing table in one Float64Array, and only the few transfers
 * still missing stripes have a record, from a free list.
 */
export class Reassembly {
  private slots = new Float64Array(INITIAL_SLOTS * 2);
  private used = 0;
  private readonly records: Pending[] = [];
  private readonly free: number[] = [];

  constructor(private readonly maxTransfers = Infinity) {}

  /** Adds a stripe; the whole transfer once every stripe is in. */
  add(key: number, stripes: number, totalBytes: number, m: StripePart, endpointOverheadNs: number): Added {
    let at = this.find(key);
    let state = this.slots[at + 1]!;
    if (state === DONE) return "duplicate";
    if (state === EMPTY_SLOT) {
      if (this.used >= this.maxTransfers) return "overflow";
      at = this.claim(at, key, stripes);
      state = this.slots[at + 1]!;
    }
    const p = this.records[state - 1]!;
    if (p.parts.length !== stripes || m.stripe >= stripes) return "mismatch";
    if (p.parts[m.stripe] !== undefined) return "duplicate";
    p.parts[m.stripe] = m.payload;
    p.got++;
    p.firstByteNs = Math.min(p.firstByteNs, m.headNs);
    p.deliveredNs = Math.max(p.deliveredNs, deliveredAtNs(m.tailNs, endpointOverheadNs));
    if (p.got < stripes) return "partial";
    this.slots[at + 1] = DONE;
    const d: Delivered = { data: joined(p.parts), bytes: totalBytes, firstByteNs: p.firstByteNs as SimNs, deliveredNs: p.deliveredNs as SimNs };
    p.parts.fill(undefined);
    this.free.push(state - 1);
    return d;
  }

  /** Transfers with some but not all stripes in. */
  get pending(): number { return this.records.length - this.free.length; }

  /** Offset of the slot holding `key`, or of the empty slot where it would go (linear probing). */
  private find(key: number): number {
    const s = this.slots, mask = s.length - 2;
    let i = (keyHash(key) << 1) & mask;
    while (s[i + 1] !== EMPTY_SLOT && s[i] !== key) i = (i + 2) & mask;
    return i;
  }

  /** Starts a transfer in the empty slot at `at` (or where it lands after the table grows). */
  private claim(at: number, key: number, stripes: number): number {
    const r = this.record(stripes); // first: a bad stripe count throws here, before a slot is taken
    if ((this.used + 1) * 4 > this.slots.length) { this.grow(); at = this.find(key); }
    this.slots[at] = key;
    this.slots[at + 1] = r + 1;
    this.used++;
    return at;
  }

  /** A cleared record for a transfer of `stripes` stripes: its index. */
  private record(stripes: number): number {
    const r = this.free.pop();
    if (r === undefined) {
      this.records.push({ parts: new Array<Float64Array | undefined>(stripes).fill(undefined), got: 0, firstByteNs: Infinity, deliveredNs: 0 });
      return this.records.length - 1;
    }
    const p = this.records[r]!;
    if (p.parts.length !== stripes) p.parts = new Array<Float64Array | undefined>(stripes).fill(undefined);
    p.got = 0; p.firstByteNs = Infinity; p.deliveredNs = 0;
    return r;
  }

  private grow(): void {
    const old = this.slots;
    const s = (this.slots = new Float64Array(old.length * 2));
    for (let i = 0; i < old.length; i += 2) {
      if (old[i + 1] === EMPTY_SLOT) continue;
      const at = this.find(old[i]!);
      s[at] = old[i]!;
      s[at + 1] = old[i + 1]!;
    }
  }
}

/** The stripes' real elements in stripe order, as one new array. */
function joined(parts: readonly (Float64Array | undefined)[]): Float64Array {
  let len = 0;
  for (let i = 0; i < parts.length; i++) len += parts[i]!.length;
  if (len === 0) return NO_DATA;
  const data = f64(len);
  let at = 0;
  for (let i = 0; i < parts.length; i++) { // element by element: a stripe holds a few (TypedArray#set costs more per call)
    const p = parts[i]!;
    for (let j = 0; j < p.length; j++) data[at + j] = p[j]!;
    at += p.length;
  }
  return data;
}

import { f64Slice, splitEven, splitOffsets } from "../units/index.js";

/** A buffer cut into `n` chunks: real element offsets and modelled bytes per chunk, split the same way everywhere. */
export interface Chunking {
  /** offsets[i] .. offsets[i+1] are chunk i's real elements, relative to `base`. */
  readonly offsets: readonly number[];
  readonly bytes: readonly number[];
  readonly base: number;
}

export function chunking(realElements: number, modelledBytes: number, n: number, base = 0): Chunking {
  return { offsets: splitOffsets(realElements, n), bytes: splitEven(modelledBytes, n), base };
}

/** Shared by every empty chunk (most chunks of a small real buffer cut for many ranks): it holds nothing to write. */
const EMPTY = new Float64Array(0);

/** A copy of chunk i's real elements (an empty chunk: one shared empty array). */
export function chunkSlice(buf: Float64Array, c: Chunking, i: number): Float64Array {
  const lo = c.base + (c.offsets[i] as number), hi = c.base + (c.offsets[i + 1] as number);
  return lo === hi ? EMPTY : f64Slice(buf, lo, hi);
}

export function chunkStart(c: Chunking, i: number): number {
  return c.base + (c.offsets[i] as number);
}

export function chunkLength(c: Chunking, i: number): number {
  return (c.offsets[i + 1] as number) - (c.offsets[i] as number);
}

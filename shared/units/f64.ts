/**
 * Small Float64Arrays carved out of shared 64 KiB slabs. A typed array over 64 bytes (8 elements)
 * gets its own off-heap backing store, and V8 allocates that one at a time: 300–550 ns for 9–32
 * elements here (node 20), against 70–100 ns for a view `new Float64Array(slab, offset, length)`
 * into a buffer already there. The stripes of every data message, and the transfers joined from
 * them, are arrays of this size, millions a training step.
 *
 * What it hands out behaves as `new Float64Array(length)` does — zero-filled, never handed out twice —
 * except that its `buffer` is the slab (every reader here goes through byteOffset and byteLength). A
 * slab is freed once no view of it is left; views live as long as a message is in flight, so the
 * slabs held are about the volume in flight. Lengths past SLAB_ELEMENTS / 8 get their own buffer.
 */
const SLAB_ELEMENTS = 8192;
const OWN_BUFFER_PAST = SLAB_ELEMENTS / 8;

let slab = new ArrayBuffer(8 * SLAB_ELEMENTS);
let at = 0;

/** A zero-filled array of `length` elements (from a slab when it is small). */
export function f64(length: number): Float64Array {
  if (length > OWN_BUFFER_PAST) return new Float64Array(length);
  if (at + length > SLAB_ELEMENTS) { slab = new ArrayBuffer(8 * SLAB_ELEMENTS); at = 0; }
  const a = new Float64Array(slab, 8 * at, length);
  at += length;
  return a;
}

/** A copy of `src[from..to)`, as `src.slice(from, to)` (from a slab when it is small). */
export function f64Slice(src: Float64Array, from: number, to: number): Float64Array {
  const n = Math.min(to, src.length) - from;
  if (n <= 0 || n > OWN_BUFFER_PAST || from < 0) return src.slice(from, to);
  const a = f64(n);
  for (let i = 0; i < n; i++) a[i] = src[from + i]!; // element by element: a few, and TypedArray#set costs more per call
  return a;
}

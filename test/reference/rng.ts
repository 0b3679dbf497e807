/**
 * Hash-based random numbers of docs/training.md §1.1, written from the document alone.
 * Stateless: every value is a pure function of its four integer coordinates, so the reference and
 * the emulator can draw the same element without sharing a generator or a draw order.
 */

const MIX_A = 73856093;
const MIX_B = 19349663;
const MIX_C = 83492791;
const MIX_D = 2654435761; // > 2^31: Math.imul's ToInt32 wraps it, which is the intended uint32 product
const FMIX_1 = 0x85ebca6b;
const FMIX_2 = 0xc2b2ae35;
const TWO_POW_32 = 4294967296;

/** A number in [0, 1): the coordinate mix, then the 32-bit murmur3 finalizer, over 2^32. */
export function unit(a: number, b: number, c: number, d: number): number {
  // Each product wraps to 32 bits on its own before the xor; `^` of int32s is the xor of their bit patterns.
  let x = (Math.imul(a, MIX_A) ^ Math.imul(b, MIX_B) ^ Math.imul(c, MIX_C) ^ Math.imul(d, MIX_D)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, FMIX_1) >>> 0;
  x = (x ^ (x >>> 13)) >>> 0;
  x = Math.imul(x, FMIX_2) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x / TWO_POW_32;
}

/** A number in [−1, 1): `2·unit − 1`. */
export function sym(a: number, b: number, c: number, d: number): number {
  return 2 * unit(a, b, c, d) - 1;
}

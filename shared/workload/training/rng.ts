/** docs/training.md §1.1: a hash of four integers to [0, 1), in 32-bit unsigned arithmetic. */
export function unit(a: number, b: number, c: number, d: number): number {
  let x = (Math.imul(a, 73856093) ^ Math.imul(b, 19349663) ^ Math.imul(c, 83492791) ^ Math.imul(d, 2654435761)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x = (x ^ (x >>> 13)) >>> 0;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x / 4294967296;
}

/** In [−1, 1). */
export const sym = (a: number, b: number, c: number, d: number): number => 2 * unit(a, b, c, d) - 1;

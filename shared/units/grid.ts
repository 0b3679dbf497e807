/**
 * The virtual time grid: every duration is rounded up to 1/1024 ns, so every virtual time is a dyadic
 * fraction that float64 adds and compares exactly (up to 2^43 ns, about 2.4 hours). Sums in any order
 * give the same bits, and the two engines agree to the last bit.
 */
export const TICKS_PER_NS = 1024;

/** Rounds a duration (ns) up to the virtual time grid. */
export function onGrid(ns: number): number {
  return Math.ceil(ns * TICKS_PER_NS) / TICKS_PER_NS;
}

/**
 * Gate weights as dyadic fractions: units / D with D a power of two and every token's units summing
 * to D. A weighted sum of small integers is then exact in float64, in any order, so the origin can
 * check combined results with ===.
 */

/** Smallest weight denominator: weights are multiples of 1/64 for top-k up to 16. */
export const MIN_WEIGHT_DENOMINATOR = 64;

/** Power-of-two denominator with room for at least 4 units per expert on average: 64 up to top-16. */
export function weightDenominator(topK: number): number {
  let d = MIN_WEIGHT_DENOMINATOR;
  while (d < 4 * topK) d *= 2;
  return d;
}

/**
 * Positive raw weights → integer units summing to `denominator`, each at least 1: every slot gets
 * 1 + ⌊(D − k) · raw_k / Σ raw⌋, and the few units left go to the largest remainders (ties to lower k).
 */
export function quantizeWeights(raw: readonly number[], denominator: number): number[] {
  const k = raw.length;
  let total = 0;
  for (const r of raw) total += r;
  const exact = raw.map((r) => ((denominator - k) * r) / total);
  const units = exact.map((x) => 1 + Math.floor(x));
  const rest = exact.map((x) => x - Math.floor(x));
  let left = denominator;
  for (const u of units) left -= u;
  // left < k units remain; float rounding may also leave one unit too many (left = -1).
  for (; left > 0; left--) bump(units, rest, +1);
  for (; left < 0; left++) bump(units, rest, -1);
  return units;
}

/** Gives a unit to the largest remainder (or takes one from the smallest, keeping ≥ 1); ties to the lower k. */
function bump(units: number[], rest: number[], dir: 1 | -1): void {
  let at = -1;
  for (let i = 0; i < units.length; i++) {
    if (dir < 0 && units[i]! <= 1) continue;
    if (at < 0 || dir * rest[i]! > dir * rest[at]!) at = i;
  }
  if (at < 0) return;
  units[at] = units[at]! + dir;
  rest[at] = dir > 0 ? -Infinity : Infinity;
}

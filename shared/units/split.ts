/**
 * Splits `total` integer units into `parts` integers that differ by at most one, larger ones first.
 * Used for modelled chunk sizes and for real payload slices, so both engines split identically.
 */
export function splitEven(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total - base * parts;
  const out = new Array<number>(parts);
  for (let i = 0; i < parts; i++) out[i] = base + (i < extra ? 1 : 0);
  return out;
}

/** Prefix offsets of `splitEven(total, parts)`: offsets[i] is where part i starts; offsets[parts] = total. */
export function splitOffsets(total: number, parts: number): number[] {
  const sizes = splitEven(total, parts);
  const out = new Array<number>(parts + 1);
  out[0] = 0;
  for (let i = 0; i < parts; i++) out[i + 1] = (out[i] as number) + (sizes[i] as number);
  return out;
}

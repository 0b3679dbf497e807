import type { TrainingSpec } from "../../protocol/index.js";
import { sym } from "./rng.js";

/** docs/training.md §1.3: the sample tokens of DP rank `d` in micro-step `u` of step `k`, and their targets. */
export function sampleTokens(t: TrainingSpec, k: number, u: number, d: number): { x: Float64Array[]; target: Float64Array[] } {
  const h = t.numerics.hidden, seed = t.numerics.seed;
  const x: Float64Array[] = [], target: Float64Array[] = [];
  for (let tok = 0; tok < t.numerics.tokensPerRank; tok++) {
    const v = new Float64Array(h);
    for (let i = 0; i < h; i++) v[i] = sym(seed + 17, 100000 + k * 1000 + u, d * 1000 + tok, i);
    const y = new Float64Array(h);
    for (let i = 0; i < h; i++) {
      let s = 0;
      for (let j = 0; j < h; j++) s += sym(seed + 29, 0, i, j) * v[j]!;
      y[i] = s;
    }
    x.push(v);
    target.push(y);
  }
  return { x, target };
}

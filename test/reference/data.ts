/** Sample tokens and teacher targets of docs/training.md §1.3. */
import { sym } from "./rng.js";
import type { RefConfig } from "./params.js";

/** Where a sample token sits in the step: step k, micro-step u, DP rank d, token t. */
export interface TokenId {
  step: number;
  micro: number;
  rank: number;
  token: number;
}

/** `x[i] = sym(seed + 17, 100000 + k·1000 + u, d·1000 + t, i)`. */
export function sampleInput(c: RefConfig, id: TokenId): Float64Array {
  const x = new Float64Array(c.hidden);
  for (let i = 0; i < c.hidden; i++) x[i] = sym(c.seed + 17, 100000 + id.step * 1000 + id.micro, id.rank * 1000 + id.token, i);
  return x;
}

/** The teacher `T[i][j] = sym(seed + 29, 0, i, j)`, h × h, row-major. */
export function teacher(c: RefConfig): Float64Array {
  const h = c.hidden;
  const T = new Float64Array(h * h);
  for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) T[i * h + j] = sym(c.seed + 29, 0, i, j);
  return T;
}

/** `y*[i] = Σ_j T[i][j]·x[j]`. */
export function target(c: RefConfig, T: Float64Array, x: Float64Array): Float64Array {
  const h = c.hidden;
  const y = new Float64Array(h);
  for (let i = 0; i < h; i++) {
    let acc = 0;
    for (let j = 0; j < h; j++) acc += T[i * h + j]! * x[j]!;
    y[i] = acc;
  }
  return y;
}

/** The step's tokens in the reference's summation order: micro-step, then DP rank, then token. */
export function* stepTokens(c: RefConfig, step: number): Generator<TokenId> {
  for (let micro = 0; micro < c.microSteps; micro++)
    for (let rank = 0; rank < c.dp; rank++)
      for (let token = 0; token < c.tokensPerRank; token++) yield { step, micro, rank, token };
}

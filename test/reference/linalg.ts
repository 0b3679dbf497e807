/** Plain float64 loops over row-major matrices; the reference deliberately uses nothing cleverer. */
import type { Matrix } from "./params.js";

/** `M·x`. */
export function matVec(M: Matrix, x: Float64Array): Float64Array {
  const out = new Float64Array(M.rows);
  for (let i = 0; i < M.rows; i++) {
    let acc = 0;
    for (let j = 0; j < M.cols; j++) acc += M.data[i * M.cols + j]! * x[j]!;
    out[i] = acc;
  }
  return out;
}

/** `out += scale · Mᵀ·g`. */
export function addMatTVec(out: Float64Array, M: Matrix, g: Float64Array, scale = 1): void {
  for (let i = 0; i < M.rows; i++) {
    const gi = scale * g[i]!;
    if (gi === 0) continue;
    for (let j = 0; j < M.cols; j++) out[j]! += M.data[i * M.cols + j]! * gi;
  }
}

/** `dM += scale · g·xᵀ` (the weight gradient of `y = M·x` given dy = g). */
export function addOuter(dM: Matrix, g: Float64Array, x: Float64Array, scale = 1): void {
  for (let i = 0; i < dM.rows; i++) {
    const gi = scale * g[i]!;
    if (gi === 0) continue;
    for (let j = 0; j < dM.cols; j++) dM.data[i * dM.cols + j]! += gi * x[j]!;
  }
}

/** `out += scale · v`. */
export function addScaled(out: Float64Array, v: Float64Array, scale = 1): void {
  for (let i = 0; i < out.length; i++) out[i]! += scale * v[i]!;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += a[i]! * b[i]!;
  return acc;
}

export function relu(a: Float64Array): Float64Array {
  return a.map((v) => (v > 0 ? v : 0));
}

/** Softmax with the maximum subtracted first, as §1.4 prescribes. */
export function softmax(z: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  const e = z.map((v) => Math.exp(v - max));
  let sum = 0;
  for (const v of e) sum += v;
  return e.map((v) => v / sum);
}

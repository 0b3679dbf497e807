import { BlockKind, type ShardBlock } from "./layout.js";

/** A rank's piece of a parameter block (or of its gradient): rows × cols, row-major, inside a shard vector. */
export interface Mat {
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
  /** Where the piece starts in the full block: row r0, column c0. */
  readonly r0: number;
  readonly c0: number;
}

/**
 * The Mats already found, per vector and per block list: the numerics ask for the same few blocks once
 * per token copy, and a search over the rank's blocks plus a fresh view each time was most of their cost.
 * Weak on both keys, so a step's vectors go with the step.
 */
const found = new WeakMap<Float64Array, WeakMap<readonly ShardBlock[], Map<number, Mat>>>();

/** Finds the rank's piece of block (layer, kind, index) in `vec` (its parameters or its gradients). */
export function matOf(blocks: readonly ShardBlock[], vec: Float64Array, layer: number, kind: BlockKind, index = 0): Mat {
  let byBlocks = found.get(vec);
  if (!byBlocks) { byBlocks = new WeakMap(); found.set(vec, byBlocks); }
  let mats = byBlocks.get(blocks);
  if (!mats) { mats = new Map(); byBlocks.set(blocks, mats); }
  const key = (layer * 64 + kind) * 1_048_576 + index; // kind < 64, index < 2^20: one number per block
  let m = mats.get(key);
  if (m === undefined) {
    const b = blocks.find((x) => x.full.layer === layer && x.full.kind === kind && x.full.index === index);
    if (!b) throw new Error(`this rank holds no block ${kind}/${index} of layer ${layer}`);
    const rows = b.r1 - b.r0, cols = b.c1 - b.c0;
    m = { data: vec.subarray(b.at, b.at + rows * cols), rows, cols, r0: b.r0, c0: b.c0 };
    mats.set(key, m);
  }
  return m;
}

/** y = M·x[c0 … c0+cols) (x is the full input vector). */
export function mv(m: Mat, x: Float64Array): Float64Array {
  const y = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < m.cols; j++) s += m.data[i * m.cols + j]! * x[m.c0 + j]!;
    y[i] = s;
  }
  return y;
}

/**
 * out[o …] = M·relu(a)[c0 …): mv(M, relu(a)) written in place — the same products summed in the same
 * order, without the two intermediate vectors (the expert FFN's second matmul, once per token copy).
 */
export function mvReluInto(m: Mat, a: Float64Array, out: Float64Array, o: number): void {
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < m.cols; j++) {
      const v = a[m.c0 + j]!;
      s += m.data[i * m.cols + j]! * (v > 0 ? v : 0);
    }
    out[o + i] = s;
  }
}

/** Mᵀ·g, into the full-width vector `out` at columns c0 …, added to what is there. */
export function mtvAdd(m: Mat, g: Float64Array, out: Float64Array): void {
  for (let j = 0; j < m.cols; j++) {
    let s = 0;
    for (let i = 0; i < m.rows; i++) s += m.data[i * m.cols + j]! * g[i]!;
    out[m.c0 + j] = out[m.c0 + j]! + s;
  }
}

/** Mᵀ·g added into out[o + c0 …]: mtvAdd into a vector that starts at offset o of `out`. */
export function mtvAddAt(m: Mat, g: Float64Array, out: Float64Array, o: number): void {
  for (let j = 0; j < m.cols; j++) {
    let s = 0;
    for (let i = 0; i < m.rows; i++) s += m.data[i * m.cols + j]! * g[i]!;
    out[o + m.c0 + j] = out[o + m.c0 + j]! + s;
  }
}

/** dM += g ⊗ x[c0 …] (the gradient of y = M·x for output gradient g). */
export function outerAdd(dm: Mat, g: Float64Array, x: Float64Array): void {
  for (let i = 0; i < dm.rows; i++) {
    const gi = g[i]!;
    for (let j = 0; j < dm.cols; j++) dm.data[i * dm.cols + j] = dm.data[i * dm.cols + j]! + gi * x[dm.c0 + j]!;
  }
}

export function relu(a: Float64Array): Float64Array {
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i]! > 0 ? a[i]! : 0;
  return y;
}

/** relu(a) into `out` (a scratch vector of a's length). */
export function reluInto(a: Float64Array, out: Float64Array): Float64Array {
  for (let i = 0; i < a.length; i++) out[i] = a[i]! > 0 ? a[i]! : 0;
  return out;
}

/** g ⊙ relu′(a) into `out` (a scratch vector of g's length). */
export function reluGradInto(g: Float64Array, a: Float64Array, out: Float64Array): Float64Array {
  for (let i = 0; i < g.length; i++) out[i] = a[i]! > 0 ? g[i]! : 0;
  return out;
}

/** g ⊙ relu′(a). */
export function reluGrad(g: Float64Array, a: Float64Array): Float64Array {
  const y = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) y[i] = a[i]! > 0 ? g[i]! : 0;
  return y;
}

export function addInto(into: Float64Array, x: Float64Array, scale = 1): void {
  for (let i = 0; i < into.length; i++) into[i] = into[i]! + scale * x[i]!;
}

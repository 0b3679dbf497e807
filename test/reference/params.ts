/**
 * Configuration and parameters of the reference trainer (docs/training.md §1.2), and the canonical
 * flattening another implementation compares against element by element.
 */
import { sym } from "./rng.js";

/** The tiny numerics model and its training plan. Widths and counts are plain element counts. */
export interface RefConfig {
  seed: number;
  /** Emulated layers, in order; each has an attention block, then a dense FFN or an MoE block. */
  layers: ("dense" | "moe")[];
  /** h: width of the token vector. */
  hidden: number;
  /** f: hidden width of dense FFNs and of every expert. */
  expertHidden: number;
  /** E: routed experts per MoE layer. */
  experts: number;
  topK: number;
  sharedExperts: number;
  /** DP ranks; each draws its own sample tokens. */
  dp: number;
  /** Micro-steps per step (gradient accumulation, one update per step). */
  microSteps: number;
  /** Sample tokens per DP rank per micro-step. */
  tokensPerRank: number;
  lr: number;
  steps: number;
}

/** A row-major matrix: element (i, j) is `data[i·cols + j]` and multiplies input j into output i. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/** A two-matrix FFN (dense FFN, routed or shared expert): `W2·relu(W1·x)`, W1 f × h, W2 h × f. */
export interface Ffn {
  W1: Matrix;
  W2: Matrix;
}

/** One emulated layer: attention A (h × h), then a dense FFN or an MoE block. */
export type RefLayer =
  | { kind: "dense"; A: Matrix; ffn: Ffn }
  | { kind: "moe"; A: Matrix; G: Matrix; experts: Ffn[]; shared: Ffn[] };

/**
 * Every parameter, by layer then block. A gradient has the same shape (see `zerosLike`).
 * MoE: `G` is the E × h router, `experts[e]` is (W1e, W2e), `shared[s]` is (S1s, S2s).
 */
export interface RefParams {
  layers: RefLayer[];
}

function matrix(rows: number, cols: number, value: (i: number, j: number) => number): Matrix {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = value(i, j);
  return { rows, cols, data };
}

/** A block's initial values: `scale · sym(seed, tag, i, j) / √fanIn`, fanIn = cols. */
function drawn(seed: number, tag: number, rows: number, cols: number, scale: number): Matrix {
  const norm = scale / Math.sqrt(cols);
  return matrix(rows, cols, (i, j) => norm * sym(seed, tag, i, j));
}

/** Rejects a config the model cannot run; the reference is a test oracle, so it fails loudly. */
export function validateConfig(c: RefConfig): void {
  const counts = { hidden: c.hidden, expertHidden: c.expertHidden, dp: c.dp, microSteps: c.microSteps, tokensPerRank: c.tokensPerRank };
  for (const [name, v] of Object.entries(counts)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`RefConfig.${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(c.steps) || c.steps < 0) throw new RangeError(`RefConfig.steps must be a non-negative integer, got ${c.steps}`);
  if (!Number.isInteger(c.seed)) throw new RangeError(`RefConfig.seed must be an integer, got ${c.seed}`);
  if (c.layers.includes("moe")) {
    if (!Number.isInteger(c.experts) || c.experts < 1) throw new RangeError(`RefConfig.experts must be ≥ 1, got ${c.experts}`);
    if (!Number.isInteger(c.topK) || c.topK < 1 || c.topK > c.experts) throw new RangeError(`RefConfig.topK must be in [1, experts], got ${c.topK}`);
    if (!Number.isInteger(c.sharedExperts) || c.sharedExperts < 0) throw new RangeError(`RefConfig.sharedExperts must be ≥ 0, got ${c.sharedExperts}`);
  }
}

/** Initial parameters, table of §1.2. */
/** §1.2: the stream of a parameter block: 100000·layer + 10000·kind + expert (or shared expert) index. */
const tag = (layer: number, kind: number, index: number): number => 100000 * layer + 10000 * kind + index;

export function initParams(c: RefConfig): RefParams {
  validateConfig(c);
  const { seed, hidden: h, expertHidden: f } = c;
  const layers = c.layers.map((kind, l): RefLayer => {
    const A = drawn(seed, tag(l, 1, 0), h, h, 0.3);
    if (kind === "dense") return { kind, A, ffn: { W1: drawn(seed, tag(l, 2, 0), f, h, 1), W2: drawn(seed, tag(l, 3, 0), h, f, 0.5) } };
    const experts = Array.from({ length: c.experts }, (_, e) => ({
      W1: drawn(seed, tag(l, 5, e), f, h, 1),
      W2: drawn(seed, tag(l, 6, e), h, f, 0.5),
    }));
    const shared = Array.from({ length: c.sharedExperts }, (_, s) => ({
      W1: drawn(seed, tag(l, 7, s), f, h, 1),
      W2: drawn(seed, tag(l, 8, s), h, f, 0.5),
    }));
    return { kind, A, G: drawn(seed, tag(l, 4, 0), c.experts, h, 1), experts, shared };
  });
  return { layers };
}

/** Every matrix of `p`, in the canonical order (see `flatten`). */
export function matrices(p: RefParams): Matrix[] {
  const out: Matrix[] = [];
  for (const layer of p.layers) {
    out.push(layer.A);
    if (layer.kind === "dense") out.push(layer.ffn.W1, layer.ffn.W2);
    else {
      out.push(layer.G);
      for (const e of layer.experts) out.push(e.W1, e.W2);
      for (const s of layer.shared) out.push(s.W1, s.W2);
    }
  }
  return out;
}

/** Same shape as `p`, all zeros: the accumulator of a gradient. */
export function zerosLike(p: RefParams): RefParams {
  const z = (m: Matrix): Matrix => ({ rows: m.rows, cols: m.cols, data: new Float64Array(m.data.length) });
  const zf = (x: Ffn): Ffn => ({ W1: z(x.W1), W2: z(x.W2) });
  return {
    layers: p.layers.map((l): RefLayer =>
      l.kind === "dense" ? { kind: l.kind, A: z(l.A), ffn: zf(l.ffn) } : { kind: l.kind, A: z(l.A), G: z(l.G), experts: l.experts.map(zf), shared: l.shared.map(zf) },
    ),
  };
}

/**
 * Canonical flattening: per layer in order, A; then dense W1, W2, or MoE G, then (W1e, W2e) for
 * e = 0..E−1, then (S1s, S2s) for each shared expert; every matrix row-major.
 */
export function flatten(c: RefConfig, p: RefParams): Float64Array {
  if (p.layers.length !== c.layers.length) throw new RangeError(`params have ${p.layers.length} layers, config ${c.layers.length}`);
  const ms = matrices(p);
  const out = new Float64Array(ms.reduce((n, m) => n + m.data.length, 0));
  let at = 0;
  for (const m of ms) {
    out.set(m.data, at);
    at += m.data.length;
  }
  return out;
}

/** Inverse of `flatten`: parameters shaped for `c` holding the values of `flat`. */
export function unflatten(c: RefConfig, flat: Float64Array): RefParams {
  const p = zerosLike(initParams(c));
  let at = 0;
  for (const m of matrices(p)) {
    m.data.set(flat.subarray(at, at + m.data.length));
    at += m.data.length;
  }
  if (at !== flat.length) throw new RangeError(`flat has ${flat.length} values, config needs ${at}`);
  return p;
}

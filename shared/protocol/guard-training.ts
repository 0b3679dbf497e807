import { array, float64s, int, map, oneOf, real, reject, type Fields } from "./guard-fields.js";

// Bounds on a training op-start: generous for any plan the scenario checks accept, small enough that a
// rank cannot be made to loop or allocate without bound (tiny widths, bounded layers and micro-steps).
const MAX_DIM = 2 ** 40;
const MAX_LAYERS = 1024;
const MAX_MICRO_STEPS = 4096;
const MAX_TINY_WIDTH = 64;
const MAX_PARAMS = 131_072;

function bool(x: unknown, field: string): void {
  if (typeof x !== "boolean") reject(field, "a boolean", x);
}

/** spec.training of a training-step op (shared/protocol training-spec.ts). */
export function checkTrainingSpec(x: unknown, ranks: number): void {
  const t = map(x, "op-start.spec.training");
  const f = (k: string) => `op-start.spec.training.${k}`;
  int(t.step, f("step"));
  const s = map(t.shape, f("shape"));
  for (const k of ["layers", "hidden", "heads", "headDim", "vHeadDim", "attentionParams", "ffnIntermediate", "vocab"]) int(s[k], `${f("shape")}.${k}`, 1, MAX_DIM);
  for (const k of ["sharedExperts", "expertIntermediate"]) int(s[k], `${f("shape")}.${k}`, 0, MAX_DIM);
  const experts = int(s.experts, `${f("shape")}.experts`, 0, 65_536);
  int(s.topK, `${f("shape")}.topK`, experts > 0 ? 1 : 0, experts);
  const dp = int(t.dp, f("dp"), 1, ranks), tp = int(t.tp, f("tp"), 1, ranks), ep = int(t.ep, f("ep"), 1, dp);
  if (dp * tp !== ranks) reject(f("dp"), `dp × tp = the ${ranks} ranks of the group`, dp * tp);
  if (dp % ep !== 0 || (experts > 0 && experts % ep !== 0)) reject(f("ep"), "a divisor of dp and of the experts", ep);
  array(t.layers, f("layers"), 1, MAX_LAYERS).forEach((l, i) => {
    const layer = map(l, `${f("layers")}[${i}]`);
    const kind = oneOf(layer.kind, ["dense", "moe"], `${f("layers")}[${i}].kind`);
    if (kind === "moe" && (experts === 0 || tp > 1)) reject(`${f("layers")}[${i}].kind`, "moe only with experts and tp 1", kind);
    int(layer.count, `${f("layers")}[${i}].count`, 1, MAX_LAYERS);
  });
  oneOf(t.zero, [0, 1], f("zero"));
  bool(t.overlap, f("overlap"));
  oneOf(t.recompute, ["none", "selective", "full"], f("recompute"));
  const micro = int(t.microSteps, f("microSteps"), 1, MAX_MICRO_STEPS);
  for (const k of ["microBatch", "seqLen", "bucketLayers"]) int(t[k], f(k), 1, MAX_DIM);
  oneOf(t.gradBytes, [2, 4], f("gradBytes"));
  oneOf(t.dpAlgorithm, ["ring", "hierarchical"], f("dpAlgorithm"));
  const e = map(t.efficiency, f("efficiency"));
  for (const k of ["matmul", "attention", "elementwise", "optimizer"]) real(e[k], `${f("efficiency")}.${k}`, 0, 1);
  const n = map(t.numerics, f("numerics"));
  checkNumerics(n, tp);
  // A shrunk step covers the declared DP's samples: dp × microSteps of them must be whole micro-steps of it.
  if (n.sampleDp !== undefined && (dp * micro) % (n.sampleDp as number) !== 0) reject(f("numerics.sampleDp"), `a divisor of dp × microSteps = ${dp * micro}`, n.sampleDp);
}

function checkNumerics(n: Fields, tp: number): void {
  const f = (k: string) => `op-start.spec.training.numerics.${k}`;
  for (const k of ["hidden", "expertHidden"]) {
    const w = int(n[k], f(k), 1, MAX_TINY_WIDTH);
    if (w % tp !== 0) reject(f(k), `a multiple of tp ${tp}`, w);
  }
  int(n.tokensPerRank, f("tokensPerRank"), 1, MAX_TINY_WIDTH);
  real(n.lr, f("lr"), 0, 10);
  int(n.seed, f("seed"), 0, 2 ** 32);
  if (n.sampleDp !== undefined) int(n.sampleDp, f("sampleDp"), 1, 65_536);
}

/** A training rank's part: its parameters. */
export function checkTrainingPart(x: unknown): void {
  const p = map(x, "op-start.part");
  float64s(p.params, "op-start.part.params", MAX_PARAMS);
}

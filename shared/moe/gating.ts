import { ScenarioError } from "../errors/index.js";
import { hash3 } from "../collectives/data.js";
import { placeExperts, type Placement } from "./placement.js";
import { Scorer } from "./scores.js";
import { EACH_RANK_A_NODE, totalTokens, type Gating, type MoeShape, type RankNode } from "./types.js";
import { quantizeWeights, weightDenominator } from "./weights.js";

const WEIGHT_SALT = 0x510e527f;
/** Node-limited routing scores a node by the sum of its best this-many expert scores (DeepSeek-V3: K/M = 8/4). */
export const NODE_SCORE_TOP = 2;

/**
 * Every token's topK distinct experts and gate weights, flat in (global token, k) order: token g's
 * k-th expert is experts[g·topK + k]. Weights are weightUnits / weightDenominator, a power of two, and
 * each token's units sum to the denominator: gate-weighted sums of small integers are exact in float64.
 */
export interface ExpertChoices {
  readonly tokens: number;
  /** Global id of the first token held (0 for a whole layer; a rank's own choices start at rank × tokensPerRank). */
  readonly firstToken?: number;
  readonly topK: number;
  readonly experts: Int32Array;
  readonly weightUnits: Int32Array;
  readonly weightDenominator: number;
}

export interface GatingOptions {
  /** Where experts live; default placeExperts(shape). Only node-limited routing needs it. */
  readonly placement?: Placement;
  /** Node of each rank; default: every rank its own node. */
  readonly rankNode?: RankNode;
}

/**
 * Routes every token of the layer. `fixed` takes the given assignments (k order as given); other
 * kinds take the top-k scores (ties to the lower expert id), in descending score order, and with
 * `nodeLimit` M only among experts whose home rank is on the token's M best nodes (see nodeMask).
 * Weights: the gate normalizes its selected sigmoid scores; the sampled kinds use hashed raw
 * weights in 1..8 — then both are quantized to dyadic units.
 */
export function chooseExperts(shape: MoeShape, gating: Gating, seed: number, opts: GatingOptions = {}): ExpertChoices {
  const N = totalTokens(shape), K = shape.topK, D = weightDenominator(K);
  const experts = new Int32Array(N * K), weightUnits = new Int32Array(N * K);
  const scorer = gating.kind === "fixed" ? undefined : new Scorer(shape, gating, seed);
  const limit = scorer && shape.nodeLimit !== undefined ? nodeLimiter(shape, opts) : undefined;
  const hashed = (g: number) => Array.from({ length: K }, (_, k) => 1 + (hash3(seed ^ WEIGHT_SALT, g, k) % 8));
  for (let g = 0; g < N; g++) {
    let picked: readonly number[], raw: number[];
    if (gating.kind === "fixed" || scorer === undefined) {
      picked = fixedRow(gating, g, K);
      raw = hashed(g);
    } else {
      const s = scorer.scores(g);
      picked = topK(s, K, limit?.(s));
      if (picked.length < K) throw new ScenarioError("workload.nodeLimit", `token ${g}: its ${shape.nodeLimit} best nodes hold ${picked.length} experts, fewer than topK ${K}`);
      raw = gating.kind === "gate" ? picked.map((e) => s[e]!) : hashed(g);
    }
    const units = quantizeWeights(raw, D);
    for (let k = 0; k < K; k++) { experts[g * K + k] = picked[k]!; weightUnits[g * K + k] = units[k]!; }
  }
  return { tokens: N, topK: K, experts, weightUnits, weightDenominator: D };
}

/** Token g's k-th expert and its gate weight (a dyadic fraction). */
export function choiceAt(c: ExpertChoices, g: number, k: number): { expert: number; weight: number } {
  const i = (g - (c.firstToken ?? 0)) * c.topK + k;
  return { expert: c.experts[i]!, weight: c.weightUnits[i]! / c.weightDenominator };
}

function fixedRow(gating: Gating, g: number, K: number): readonly number[] {
  if (gating.kind !== "fixed") throw new Error(`fixedRow on ${gating.kind} gating`);
  const row = gating.assignments[g];
  if (row?.length !== K) throw new ScenarioError(`workload.gating.assignments[${g}]`, `token ${g} needs ${K} experts, got ${row?.length ?? 0}`);
  return row;
}

/** Indices of the k highest scores (among `allowed` when given), highest first, ties to the lower index. */
export function topK(s: Float64Array, k: number, allowed?: Uint8Array): number[] {
  const idx = new Int32Array(k);
  let n = 0;
  for (let e = 0; e < s.length; e++) {
    if (allowed !== undefined && allowed[e] === 0) continue;
    const v = s[e]!;
    if (n === k && v <= s[idx[k - 1]!]!) continue;
    let at = n < k ? n++ : k - 1;
    while (at > 0 && s[idx[at - 1]!]! < v) { idx[at] = idx[at - 1]!; at--; }
    idx[at] = e;
  }
  return Array.from(idx.subarray(0, n));
}

/**
 * DeepSeek-V3 node-limited routing: experts are grouped by the node of their home rank; a node's
 * score is the sum of its NODE_SCORE_TOP best expert scores; the token may use only the experts
 * of its M best nodes (ties to the lower node id). Returns a per-token mask builder.
 */
function nodeLimiter(shape: MoeShape, opts: GatingOptions): (s: Float64Array) => Uint8Array | undefined {
  const placement = opts.placement ?? placeExperts(shape);
  const rankNode = opts.rankNode ?? EACH_RANK_A_NODE;
  const nodeIds = Array.from({ length: shape.experts }, (_, e) => rankNode(placement.homeOf(e)));
  const distinct = [...new Set(nodeIds)].sort((a, b) => a - b);
  const M = shape.nodeLimit ?? distinct.length;
  if (M >= distinct.length) return () => undefined;
  const dense = new Map(distinct.map((n, i) => [n, i]));
  const nodeOf = Int32Array.from(nodeIds, (n) => dense.get(n)!);
  const scratch = { best: new Float64Array(distinct.length * NODE_SCORE_TOP), nodeScore: new Float64Array(distinct.length) };
  return (s) => nodeMask(s, nodeOf, M, scratch);
}

/** Experts of the token's M best nodes (1) and the others (0); `scratch` is reused across tokens. */
function nodeMask(s: Float64Array, nodeOf: Int32Array, M: number, scratch: { best: Float64Array; nodeScore: Float64Array }): Uint8Array {
  // best[n·TOP + j]: node n's j-th best expert score so far (descending), -Infinity when unfilled.
  const TOP = NODE_SCORE_TOP, { best, nodeScore } = scratch;
  best.fill(-Infinity);
  for (let e = 0; e < s.length; e++) {
    const base = nodeOf[e]! * TOP, v = s[e]!;
    let at = base + TOP - 1;
    if (!(v > best[at]!)) continue;
    while (at > base && best[at - 1]! < v) { best[at] = best[at - 1]!; at--; }
    best[at] = v;
  }
  for (let n = 0; n < nodeScore.length; n++) {
    let sum = 0;
    for (let j = 0; j < TOP; j++) if (best[n * TOP + j]! > -Infinity) sum += best[n * TOP + j]!;
    nodeScore[n] = sum;
  }
  const chosen = new Uint8Array(nodeScore.length);
  for (const n of topK(nodeScore, M)) chosen[n] = 1;
  const mask = new Uint8Array(s.length);
  for (let e = 0; e < s.length; e++) mask[e] = chosen[nodeOf[e]!]!;
  return mask;
}

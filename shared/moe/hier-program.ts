import { compute, mark, type Program, type ProgramEnv } from "../collectives/program.js";
import { expertFlopsPerCopy } from "./bounds.js";
import { NodeMap } from "./hier-routes.js";
import { viewPart } from "./part.js";
import { placeExperts } from "./placement.js";
import {
  COMBINE_ELEMENTS, DEFAULT_CHUNK_TOKENS, DISPATCH_ELEMENTS, exchange, expertWeightBytes, finish, gather, packDispatch, type Partial,
} from "./program.js";
import { applyExpert, tokenVector, TOKEN_ELEMENTS, type ExpertPart } from "./reference.js";

/** Phases (tags) of hierarchical dispatch and combine; direct same-node copies use phases 0 and 1. */
const Phase = { Direct: 0, DirectBack: 1, Cross: 2, Scatter: 3, ScatterBack: 4, CrossBack: 5 } as const;

/** A token bound for another node: (src, token, copies, (dst, k, expert, weight units) × topK, vector). */
const tokenWidth = (K: number) => 3 + 4 * K + TOKEN_ELEMENTS;
/** A copy scattered by the receiver: (src, token, k, expert, weight units, vector). */
const COPY_WIDTH = 5 + TOKEN_ELEMENTS;
/** An expert output back to the receiver: (src, token, k, output). */
const OUT_WIDTH = 3 + TOKEN_ELEMENTS;
/** A gate-weighted partial sum of one token on one node: (src, token, mask of its k's, partial). */
const PARTIAL_WIDTH = 3 + TOKEN_ELEMENTS;
/** k's travel as a bitmask in a float64: exact up to 2^53. */
export const MAX_HIERARCHICAL_TOP_K = 52;

/** Concatenates per-peer record lists into Float64Arrays (undefined when empty). */
function pack(lists: readonly number[][]): (Float64Array | undefined)[] {
  return lists.map((l) => (l.length ? Float64Array.from(l) : undefined));
}

/**
 * One EP rank's side of an MoE layer with hierarchical dispatch (routes: hier-routes.ts). Each rank
 * plays three roles: source of its tokens, receiver on its node for the tokens of the ranks with its
 * local index on other nodes, and expert holder. Every role handles its peers in rank order, never in
 * arrival order, so the result and the virtual times do not depend on the transport.
 */
export function* hierarchicalMoeProgram(env: ProgramEnv): Program {
  const spec = env.spec, shape = spec.moe!.shape;
  const me = env.rank, n = shape.ep, T = shape.tokensPerRank, K = shape.topK, seed = spec.seed;
  if (me >= n) return new Float64Array(0);
  const part = env.moePart;
  if (!part?.cross || !part.scatter) throw new Error(`rank ${me}: hierarchical moe-layer op-start without this rank's hierarchical counts`);
  const view = viewPart(part, me, n, T, K);
  const nodes = new NodeMap(spec.nodeGroups, n);
  const myNode = nodes.nodeOf[me]!;
  const chunk = spec.moe!.chunkTokens ?? DEFAULT_CHUNK_TOKENS;
  const W = tokenWidth(K);
  const flops = expertFlopsPerCopy(shape), weights = expertWeightBytes(shape);
  if (shape.sharedExperts > 0) yield* compute(T * shape.sharedExperts * flops, shape.sharedExperts * weights, true);

  // 1. As source: same-node copies directly; each token once to its receiver on every other node it needs.
  const direct = view.sendsTo.map((list, dst) => (nodes.nodeOf[dst] === myNode ? list : []));
  const toReceiver: number[][] = Array.from({ length: n }, () => []);
  for (let t = 0; t < T; t++) {
    const byNode = new Map<number, number[]>();
    view.sendsTo.forEach((list, dst) => {
      const b = nodes.nodeOf[dst]!;
      if (b === myNode) return;
      for (const c of list) if (c.token === t) byNode.set(b, [...(byNode.get(b) ?? []), dst, c.k, c.expert, part.weightUnits[t * K + c.k]!]);
    });
    for (const [b, copies] of [...byNode].sort((x, y) => x[0] - y[0])) {
      const rec = new Array<number>(W).fill(0);
      rec[0] = me; rec[1] = t; rec[2] = copies.length / 4;
      copies.forEach((v, i) => { rec[3 + i] = v; });
      tokenVector(seed, me * T + t).forEach((v, i) => { rec[3 + 4 * K + i] = v; });
      toReceiver[nodes.receiver(me, b)]!.push(...rec);
    }
  }
  const directOut = direct.map((list) => (list.length ? packDispatch(seed, me * T, list) : undefined));
  directOut[me] = undefined; // own experts: handled below without a message
  yield* exchange(me, n, chunk, Phase.Direct, shape.dispatchBytesPerToken, DISPATCH_ELEMENTS, directOut);
  const crossOut = pack(toReceiver);
  yield* exchange(me, n, chunk, Phase.Cross, shape.dispatchBytesPerToken, W, crossOut);

  // 2. As receiver: scatter each copy to the rank holding its expert; remember each token's weights.
  const toHolder: number[][] = Array.from({ length: n }, () => []);
  const crossedFrom: (Float64Array | undefined)[] = new Array(n);
  for (let p = 0; p < n; p++) {
    const items = part.cross[p]!;
    if (items === 0) continue;
    const data = yield* gather(p, chunk, items, Phase.Cross, W);
    crossedFrom[p] = data;
    for (let at = 0; at < data.length; at += W) {
      for (let c = 0; c < data[at + 2]!; c++) {
        const o = at + 3 + 4 * c;
        toHolder[data[o]!]!.push(data[at]!, data[at + 1]!, data[o + 1]!, data[o + 2]!, data[o + 3]!, ...data.subarray(at + 3 + 4 * K, at + W));
      }
    }
  }
  const scatterOut = pack(toHolder);
  const scatteredToMe = scatterOut[me];
  scatterOut[me] = undefined;
  yield* exchange(me, n, chunk, Phase.Scatter, shape.dispatchBytesPerToken, COPY_WIDTH, scatterOut);

  // 3. As expert holder: copies from receivers (scatter) and from same-node sources (direct).
  const scattered: (Float64Array | undefined)[] = new Array(n);
  const directIn: (Float64Array | undefined)[] = new Array(n);
  for (let q = 0; q < n; q++) {
    if (part.scatter[q]! > 0) scattered[q] = q === me ? scatteredToMe : yield* gather(q, chunk, part.scatter[q]!, Phase.Scatter, COPY_WIDTH);
    if (q !== me && view.recvCounts[q]! > 0) directIn[q] = yield* gather(q, chunk, view.recvCounts[q]!, Phase.Direct, DISPATCH_ELEMENTS);
  }
  directIn[me] = view.sendsTo[me]!.length ? packDispatch(seed, me * T, view.sendsTo[me]!) : undefined;
  yield* mark();

  const held = new Set(placeExperts(shape).expertsOn(me));
  const used = new Set<number>();
  let processed = 0;
  const apply = (expert: number, x: Float64Array): Float64Array => {
    if (!held.has(expert)) throw new Error(`rank ${me} got a copy for expert ${expert}, which it does not hold`);
    used.add(expert);
    processed++;
    return applyExpert(seed, expert, x);
  };
  const directBack = directIn.map((data) => {
    if (!data) return undefined;
    const out: number[] = [];
    for (let at = 0; at < data.length; at += DISPATCH_ELEMENTS) out.push(data[at]!, data[at + 1]!, ...apply(data[at + 2]!, data.subarray(at + 3, at + DISPATCH_ELEMENTS)));
    return Float64Array.from(out);
  });
  const scatterBack = scattered.map((data) => {
    if (!data) return undefined;
    const out: number[] = [];
    for (let at = 0; at < data.length; at += COPY_WIDTH) out.push(data[at]!, data[at + 1]!, data[at + 2]!, ...apply(data[at + 3]!, data.subarray(at + 5, at + COPY_WIDTH)));
    return Float64Array.from(out);
  });
  if (processed > 0) yield* compute(processed * flops, used.size * weights);
  yield* mark();

  // 4. Combine, back along the same routes.
  const directBackOwn = directBack[me];
  directBack[me] = undefined;
  yield* exchange(me, n, chunk, Phase.DirectBack, shape.combineBytesPerToken, COMBINE_ELEMENTS, directBack);
  const scatterBackOwn = scatterBack[me];
  scatterBack[me] = undefined;
  yield* exchange(me, n, chunk, Phase.ScatterBack, shape.combineBytesPerToken, OUT_WIDTH, scatterBack);

  // As receiver: sum each token's gate-weighted outputs from my node's experts, one partial per token.
  const D = part.weightDenominator;
  const partialsFor: number[][] = Array.from({ length: n }, () => []);
  const outputs = new Map<string, Float64Array>();
  for (let q = 0; q < n; q++) {
    const copies = toHolder[q]!.length / COPY_WIDTH;
    if (copies === 0) continue;
    const data = q === me ? scatterBackOwn! : yield* gather(q, chunk, copies, Phase.ScatterBack, OUT_WIDTH);
    for (let at = 0; at < data.length; at += OUT_WIDTH) outputs.set(`${data[at]}:${data[at + 1]}:${data[at + 2]}`, data.subarray(at + 3, at + OUT_WIDTH));
  }
  for (let p = 0; p < n; p++) {
    const data = crossedFrom[p];
    if (!data) continue;
    for (let at = 0; at < data.length; at += W) {
      const sum = new Float64Array(TOKEN_ELEMENTS);
      let mask = 0;
      for (let c = 0; c < data[at + 2]!; c++) {
        const o = at + 3 + 4 * c;
        const y = outputs.get(`${data[at]}:${data[at + 1]}:${data[o + 1]}`);
        if (!y) throw new Error(`rank ${me}: no expert output for token ${data[at + 1]} of rank ${data[at]}, k ${data[o + 1]}`);
        for (let i = 0; i < TOKEN_ELEMENTS; i++) sum[i] = sum[i]! + (data[o + 3]! / D) * y[i]!;
        mask += 2 ** data[o + 1]!;
      }
      partialsFor[p]!.push(data[at]!, data[at + 1]!, mask, ...sum);
    }
  }
  yield* exchange(me, n, chunk, Phase.CrossBack, shape.combineBytesPerToken, PARTIAL_WIDTH, pack(partialsFor));

  // As source: direct parts per k, partials per (token, node), then the same check as direct dispatch.
  const parts: ExpertPart[][] = Array.from({ length: T }, () => []);
  const partials: Partial[][] = Array.from({ length: T }, () => []);
  const collect = (data: Float64Array) => {
    for (let at = 0; at < data.length; at += COMBINE_ELEMENTS) parts[data[at]!]!.push({ k: data[at + 1]!, output: data.slice(at + 2, at + COMBINE_ELEMENTS) });
  };
  if (directBackOwn) collect(directBackOwn);
  for (let dst = 0; dst < n; dst++) {
    if (dst !== me && direct[dst]!.length > 0) collect(yield* gather(dst, chunk, direct[dst]!.length, Phase.DirectBack, COMBINE_ELEMENTS));
    const sent = crossOut[dst] ? crossOut[dst]!.length / W : 0;
    if (sent === 0) continue;
    const data = yield* gather(dst, chunk, sent, Phase.CrossBack, PARTIAL_WIDTH);
    for (let at = 0; at < data.length; at += PARTIAL_WIDTH) partials[data[at + 1]!]!.push({ kMask: data[at + 2]!, sum: data.slice(at + 3, at + PARTIAL_WIDTH) });
  }
  return yield* finish(shape, seed, me, view, parts, processed, partials);
}

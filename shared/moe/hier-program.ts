import { compute, mark, span, SPAN_END, type Program, type ProgramEnv } from "../collectives/program.js";
import type { MoeRankPart } from "../protocol/index.js";
import { expertFlopsPerCopy } from "./bounds.js";
import { NodeMap } from "./hier-routes.js";
import { viewPart, type PartView } from "./part.js";
import {
  COMBINE_ELEMENTS, DEFAULT_CHUNK_TOKENS, DISPATCH_ELEMENTS, ExpertRunner, exchange, expertWeightBytes, finish, gather, packDispatch, type Partial,
} from "./program.js";
import { tokenVector, TOKEN_ELEMENTS, type ExpertPart } from "./reference.js";
import type { MoeShape } from "./types.js";

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

type Box = (Float64Array | undefined)[];

/** What one rank's roles share. */
interface Ctx {
  readonly me: number;
  readonly n: number;
  readonly shape: MoeShape;
  readonly seed: number;
  readonly chunk: number;
  /** Elements of a crossing token record. */
  readonly W: number;
  readonly part: MoeRankPart & { readonly cross: readonly number[]; readonly scatter: readonly number[] };
  readonly view: PartView;
  readonly nodes: NodeMap;
}

/** Concatenates per-peer record lists into Float64Arrays (undefined when empty). */
function pack(lists: readonly number[][]): Box {
  return lists.map((l) => (l.length ? Float64Array.from(l) : undefined));
}

/** Takes a box's own entry out (it needs no message) and returns it. */
function own(box: Box, me: number): Float64Array | undefined {
  const mine = box[me];
  box[me] = undefined;
  return mine;
}

/**
 * One EP rank's side of an MoE layer with hierarchical dispatch (routes: hier-routes.ts). Each rank
 * plays three roles: source of its tokens, receiver on its node for the tokens of the ranks with its
 * local index on other nodes, and expert holder. Every role handles its peers in rank order, never in
 * arrival order, so the result and the virtual times do not depend on the transport.
 */
export function* hierarchicalMoeProgram(env: ProgramEnv): Program {
  const spec = env.spec, shape = spec.moe!.shape, me = env.rank, n = shape.ep;
  if (me >= n) return new Float64Array(0);
  const part = env.moePart;
  if (!part?.cross || !part.scatter) throw new Error(`rank ${me}: hierarchical moe-layer op-start without this rank's hierarchical counts`);
  const c: Ctx = {
    me, n, shape, seed: spec.seed, chunk: spec.moe!.chunkTokens ?? DEFAULT_CHUNK_TOKENS, W: tokenWidth(shape.topK),
    part: part as Ctx["part"], view: viewPart(part, me, n, shape.tokensPerRank, shape.topK), nodes: new NodeMap(spec.nodeGroups, n),
  };
  const flops = expertFlopsPerCopy(shape), weights = expertWeightBytes(shape);
  if (shape.sharedExperts > 0) yield* compute(shape.tokensPerRank * shape.sharedExperts * flops, shape.sharedExperts * weights, true, { cls: "shared experts", flops: shape.tokensPerRank * shape.sharedExperts * flops });

  yield span("dispatch (hierarchical)", "ep");
  const { direct, crossOut } = yield* sendTokens(c);
  const { crossedFrom, toHolder } = yield* scatterCrossings(c);
  const { directIn, scattered } = yield* receiveCopies(c, own(toHolder.box, me));
  yield SPAN_END;
  yield* mark();
  const ex = runExperts(c, directIn, scattered);
  yield span("experts", "ep");
  if (ex.processed > 0) yield* compute(ex.processed * flops, ex.used * weights, false, { cls: "matmul", flops: ex.processed * flops });
  yield SPAN_END;
  yield* mark();
  yield span("combine (hierarchical)", "ep");

  const directBackOwn = own(ex.directBack, me);
  yield* exchange(me, n, c.chunk, Phase.DirectBack, shape.combineBytesPerToken, COMBINE_ELEMENTS, ex.directBack);
  const scatterBackOwn = own(ex.scatterBack, me);
  yield* exchange(me, n, c.chunk, Phase.ScatterBack, shape.combineBytesPerToken, OUT_WIDTH, ex.scatterBack);
  yield* sendPartials(c, toHolder.counts, crossedFrom, scatterBackOwn);
  const { parts, partials } = yield* collectAtSource(c, direct, crossOut, directBackOwn);
  yield SPAN_END;
  return yield* finish(shape, c.seed, me, c.view, parts, ex.processed, partials);
}

/** As source: same-node copies go directly; each token goes once to its receiver on every other node it needs. */
function* sendTokens(c: Ctx): Program<{ direct: number[]; crossOut: Box }> {
  const { me, n, shape, seed, view, nodes, W } = c;
  const T = shape.tokensPerRank, K = shape.topK, myNode = nodes.nodeOf[me]!;
  const toReceiver: number[][] = Array.from({ length: n }, () => []);
  // byToken[t]: node → (dst, k, expert, weight units) of token t's copies on other nodes, dst ascending.
  const byToken = Array.from({ length: T }, () => new Map<number, number[]>());
  view.sendsTo.forEach((list, dst) => {
    const b = nodes.nodeOf[dst]!;
    if (b === myNode) return;
    for (const x of list) {
      const m = byToken[x.token]!;
      if (!m.has(b)) m.set(b, []);
      m.get(b)!.push(dst, x.k, x.expert, c.part.weightUnits[x.token * K + x.k]!);
    }
  });
  for (let t = 0; t < T; t++) {
    for (const [b, copies] of [...byToken[t]!].sort((x, y) => x[0] - y[0])) {
      const rec = new Array<number>(W).fill(0);
      rec[0] = me; rec[1] = t; rec[2] = copies.length / 4;
      copies.forEach((v, i) => { rec[3 + i] = v; });
      tokenVector(seed, me * T + t).forEach((v, i) => { rec[3 + 4 * K + i] = v; });
      toReceiver[nodes.receiver(me, b)]!.push(...rec);
    }
  }
  const sameNode = view.sendsTo.map((list, dst) => (nodes.nodeOf[dst] === myNode && dst !== me ? list : []));
  const directOut = sameNode.map((list) => (list.length ? packDispatch(seed, me * T, list) : undefined));
  yield* exchange(me, n, c.chunk, Phase.Direct, shape.dispatchBytesPerToken, DISPATCH_ELEMENTS, directOut);
  const crossOut = pack(toReceiver);
  yield* exchange(me, n, c.chunk, Phase.Cross, shape.dispatchBytesPerToken, W, crossOut);
  return { direct: sameNode.map((l) => l.length), crossOut };
}

/** As receiver: takes the crossings (in rank order) and scatters every copy to the rank holding its expert. */
function* scatterCrossings(c: Ctx): Program<{ crossedFrom: Box; toHolder: { box: Box; counts: number[] } }> {
  const { me, n, shape, W } = c, K = shape.topK;
  const toHolder: number[][] = Array.from({ length: n }, () => []);
  const crossedFrom: Box = new Array(n);
  for (let p = 0; p < n; p++) {
    if (c.part.cross[p]! === 0) continue;
    const data = yield* gather(p, c.chunk, c.part.cross[p]!, Phase.Cross, W);
    crossedFrom[p] = data;
    for (let at = 0; at < data.length; at += W) {
      for (let i = 0; i < data[at + 2]!; i++) {
        const o = at + 3 + 4 * i;
        toHolder[data[o]!]!.push(data[at]!, data[at + 1]!, data[o + 1]!, data[o + 2]!, data[o + 3]!, ...data.subarray(at + 3 + 4 * K, at + W));
      }
    }
  }
  const box = pack(toHolder);
  const mine = box[me];
  box[me] = undefined;
  yield* exchange(me, n, c.chunk, Phase.Scatter, shape.dispatchBytesPerToken, COPY_WIDTH, box);
  box[me] = mine;
  return { crossedFrom, toHolder: { box, counts: toHolder.map((l) => l.length / COPY_WIDTH) } };
}

/** As expert holder: copies from receivers (scatter) and from same-node sources (direct), in rank order. */
function* receiveCopies(c: Ctx, scatteredToMe: Float64Array | undefined): Program<{ directIn: Box; scattered: Box }> {
  const { me, n, shape, seed, view, part } = c;
  const scattered: Box = new Array(n), directIn: Box = new Array(n);
  for (let q = 0; q < n; q++) {
    if (part.scatter[q]! > 0) scattered[q] = q === me ? scatteredToMe : yield* gather(q, c.chunk, part.scatter[q]!, Phase.Scatter, COPY_WIDTH);
    if (q !== me && view.recvCounts[q]! > 0) directIn[q] = yield* gather(q, c.chunk, view.recvCounts[q]!, Phase.Direct, DISPATCH_ELEMENTS);
  }
  const mine = view.sendsTo[me]!;
  directIn[me] = mine.length ? packDispatch(seed, me * shape.tokensPerRank, mine) : undefined;
  return { directIn, scattered };
}

/** Applies the experts to every copy held: direct copies as direct dispatch does, scattered ones keyed (src, token, k). */
function runExperts(c: Ctx, directIn: Box, scattered: Box): { directBack: Box; scatterBack: Box; processed: number; used: number } {
  const experts = new ExpertRunner(c.part.held, c.seed, c.me);
  const directBack = experts.direct(directIn);
  const scatterBack = scattered.map((data) => {
    if (!data) return undefined;
    const out: number[] = [];
    for (let at = 0; at < data.length; at += COPY_WIDTH) out.push(data[at]!, data[at + 1]!, data[at + 2]!, ...experts.apply(data[at + 3]!, data.subarray(at + 5, at + COPY_WIDTH)));
    return Float64Array.from(out);
  });
  return { directBack, scatterBack, processed: experts.processed, used: experts.used };
}

/** As receiver: sums each crossing token's gate-weighted outputs into one partial and returns it to its source. */
function* sendPartials(c: Ctx, scattered: readonly number[], crossedFrom: Box, scatterBackOwn: Float64Array | undefined): Program<void> {
  const { me, n, W } = c, D = c.part.weightDenominator;
  const outputs = new Map<string, Float64Array>();
  for (let q = 0; q < n; q++) {
    if (scattered[q]! === 0) continue;
    const data = q === me ? scatterBackOwn! : yield* gather(q, c.chunk, scattered[q]!, Phase.ScatterBack, OUT_WIDTH);
    for (let at = 0; at < data.length; at += OUT_WIDTH) outputs.set(`${data[at]}:${data[at + 1]}:${data[at + 2]}`, data.subarray(at + 3, at + OUT_WIDTH));
  }
  const partialsFor: number[][] = Array.from({ length: n }, () => []);
  crossedFrom.forEach((data, p) => {
    if (!data) return;
    for (let at = 0; at < data.length; at += W) {
      const sum = new Float64Array(TOKEN_ELEMENTS);
      let mask = 0;
      for (let i = 0; i < data[at + 2]!; i++) {
        const o = at + 3 + 4 * i;
        const y = outputs.get(`${data[at]}:${data[at + 1]}:${data[o + 1]}`);
        if (!y) throw new Error(`rank ${me}: no expert output for token ${data[at + 1]} of rank ${data[at]}, k ${data[o + 1]}`);
        for (let e = 0; e < TOKEN_ELEMENTS; e++) sum[e] = sum[e]! + (data[o + 3]! / D) * y[e]!;
        mask += 2 ** data[o + 1]!;
      }
      partialsFor[p]!.push(data[at]!, data[at + 1]!, mask, ...sum);
    }
  });
  yield* exchange(me, n, c.chunk, Phase.CrossBack, c.shape.combineBytesPerToken, PARTIAL_WIDTH, pack(partialsFor));
}

/** As source: per-k parts from same-node experts, partials from each node its tokens crossed to. */
function* collectAtSource(c: Ctx, direct: readonly number[], crossOut: Box, directBackOwn: Float64Array | undefined): Program<{ parts: ExpertPart[][]; partials: Partial[][] }> {
  const { me, n, W } = c, T = c.shape.tokensPerRank;
  const parts: ExpertPart[][] = Array.from({ length: T }, () => []);
  const partials: Partial[][] = Array.from({ length: T }, () => []);
  const collect = (data: Float64Array) => {
    for (let at = 0; at < data.length; at += COMBINE_ELEMENTS) parts[data[at]!]!.push({ k: data[at + 1]!, output: data.slice(at + 2, at + COMBINE_ELEMENTS) });
  };
  if (directBackOwn) collect(directBackOwn);
  for (let dst = 0; dst < n; dst++) {
    if (direct[dst]! > 0) collect(yield* gather(dst, c.chunk, direct[dst]!, Phase.DirectBack, COMBINE_ELEMENTS));
    const sent = crossOut[dst] ? crossOut[dst]!.length / W : 0;
    if (sent === 0) continue;
    const data = yield* gather(dst, c.chunk, sent, Phase.CrossBack, PARTIAL_WIDTH);
    for (let at = 0; at < data.length; at += PARTIAL_WIDTH) partials[data[at + 1]!]!.push({ kMask: data[at + 2]!, sum: data.slice(at + 3, at + PARTIAL_WIDTH) });
  }
  return { parts, partials };
}

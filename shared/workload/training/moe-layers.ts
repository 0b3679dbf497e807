import type { Program } from "../../collectives/index.js";
import { BACKWARD_FACTOR } from "../../compute/index.js";
import { exchange } from "./comm.js";
import { comm, kernels, type StepCtx } from "./context.js";
import type { Tokens } from "./dense-layers.js";
import { expertOwner } from "./groups.js";
import { BlockKind } from "./layout.js";
import { addInto, matOf, mtvAdd, mv, outerAdd, relu, reluGrad, type Mat } from "./tensors.js";

/** Per token: the selected experts (in k order) and their gate weights, renormalised over the top-k. */
interface Gate { readonly experts: number[]; readonly w: number[] }

/** What the backward needs of an MoE layer's forward. */
export interface MoeCache {
  readonly x: Tokens;
  readonly gates: Gate[];
  /** Expert outputs back at the origin, per token and k. */
  readonly outputs: Float64Array[][];
  /** Shared experts' pre-activations, per token and shared expert. */
  readonly sharedA: Float64Array[][];
  /** The expert side: per sending member, the copies it sent (token, k, expert, x, pre-activation). */
  readonly held: { t: number; k: number; e: number; x: Float64Array; a: Float64Array }[][];
}

/** softmax over experts, top-k by probability (ties: lower id), weights renormalised over the k. */
function gate(G: Mat, x: Float64Array, topK: number): Gate {
  const z = mv(G, x);
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  const p = z.map((v) => Math.exp(v - max));
  const sum = p.reduce((a, b) => a + b, 0);
  for (let i = 0; i < p.length; i++) p[i] = p[i]! / sum;
  const order = [...p.keys()].sort((a, b) => p[b]! - p[a]! || a - b).slice(0, topK);
  const sel = order.reduce((a, e) => a + p[e]!, 0);
  return { experts: order, w: order.map((e) => p[e]! / sel) };
}

const expertMats = (c: StepCtx, vec: Float64Array, layer: number, e: number) =>
  ({ W1: matOf(c.blocks, vec, layer, BlockKind.W1e, e), W2: matOf(c.blocks, vec, layer, BlockKind.W2e, e) });

/** Records (token, k, expert, vector) per EP member, in (token, k) order. */
function dispatchRecords(c: StepCtx, gates: readonly Gate[], vec: (t: number, k: number) => Float64Array, withExpert: boolean): Float64Array[] {
  const n = c.place.epGroup.length;
  const lists: number[][] = Array.from({ length: n }, () => []);
  gates.forEach((g, t) => g.experts.forEach((e, k) => {
    const list = lists[expertOwner(c.t, e)]!;
    list.push(t, k, ...(withExpert ? [e] : []), ...vec(t, k));
  }));
  return lists.map((l) => Float64Array.from(l));
}

/**
 * MoE FFN (docs/training.md §1.4): the router picks each token's experts, token copies travel to the
 * EP ranks holding them (dispatch), experts run, outputs come back (combine) and are summed with the
 * gate weights; shared experts run on the origin meanwhile. Timing: the real copies, each standing for
 * `scale` modelled tokens, drive the dispatched bytes and the experts' flops.
 */
export function* moeForward(c: StepCtx, layer: number, x: Tokens): Program<{ y: Tokens; cache: MoeCache }> {
  const h = c.t.numerics.hidden, K = c.t.shape.topK;
  yield* kernels(c, c.k.router());
  yield* kernels(c, c.k.sharedExperts(), 1, true);
  const G = matOf(c.blocks, c.params, layer, BlockKind.G);
  const gates = x.map((v) => gate(G, v, K));
  const out = dispatchRecords(c, gates, (t) => x[t]!, true);
  const got = yield* comm(c, "epNs", exchange(c.place.epGroup, c.place.epRank, out, 3 + h, c.scale * c.k.copyBytes, c.tags.next()));
  const held: MoeCache["held"] = got.map(() => []);
  let copies = 0;
  const replies = got.map((recs, m) => {
    const reply: number[] = [];
    for (let at = 0; at < recs.length; at += 3 + h) {
      const t = recs[at]!, k = recs[at + 1]!, e = recs[at + 2]!, xv = recs.slice(at + 3, at + 3 + h);
      const { W1, W2 } = expertMats(c, c.params, layer, e);
      const a = mv(W1, xv);
      held[m]!.push({ t, k, e, x: xv, a });
      reply.push(t, k, ...mv(W2, relu(a)));
      copies++;
    }
    return Float64Array.from(reply);
  });
  yield* kernels(c, [c.k.experts(copies * c.scale)]);
  const back = yield* comm(c, "epNs", exchange(c.place.epGroup, c.place.epRank, replies, 2 + h, c.scale * c.k.copyBytes, c.tags.next()));
  const outputs: Float64Array[][] = x.map(() => new Array<Float64Array>(K));
  for (const recs of back) for (let at = 0; at < recs.length; at += 2 + h) outputs[recs[at]!]![recs[at + 1]!] = recs.slice(at + 2, at + 2 + h);
  const S = c.t.shape.sharedExperts;
  const sharedA = x.map((v) => Array.from({ length: S }, (_, s) => mv(matOf(c.blocks, c.params, layer, BlockKind.S1, s), v)));
  const y = x.map((v, t) => {
    const r = v.slice();
    gates[t]!.w.forEach((w, k) => addInto(r, outputs[t]![k]!, w));
    for (let s = 0; s < S; s++) addInto(r, mv(matOf(c.blocks, c.params, layer, BlockKind.S2, s), relu(sharedA[t]![s]!)));
    return r;
  });
  return { y, cache: { x, gates, outputs, sharedA, held } };
}

/** The backward: output gradients go to the experts (the dispatch direction), input gradients come back. */
export function* moeBackward(c: StepCtx, layer: number, cache: MoeCache, g: Tokens): Program<Tokens> {
  const h = c.t.numerics.hidden, f = c.t.numerics.expertHidden;
  yield* kernels(c, [...c.k.router(), ...c.k.sharedExperts()], BACKWARD_FACTOR + (c.t.recompute === "full" ? 1 : 0));
  const out = dispatchRecords(c, cache.gates, (t, k) => g[t]!.map((v) => v * cache.gates[t]!.w[k]!), false);
  const got = yield* comm(c, "epNs", exchange(c.place.epGroup, c.place.epRank, out, 2 + h, c.scale * c.k.copyBytes, c.tags.next()));
  let copies = 0;
  const replies = got.map((recs, m) => {
    const reply: number[] = [];
    const list = cache.held[m]!;
    for (let at = 0, i = 0; at < recs.length; at += 2 + h, i++) {
      const { t, k, e, x, a } = list[i]!;
      if (recs[at] !== t || recs[at + 1] !== k) throw new Error(`expert gradients out of order from member ${m}`);
      const dO = recs.slice(at + 2, at + 2 + h);
      const P = expertMats(c, c.params, layer, e), D = expertMats(c, c.grads, layer, e);
      outerAdd(D.W2, dO, relu(a));
      const dr = new Float64Array(f);
      mtvAdd(P.W2, dO, dr);
      const da = reluGrad(dr, a);
      outerAdd(D.W1, da, x);
      const dx = new Float64Array(h);
      mtvAdd(P.W1, da, dx);
      reply.push(t, k, ...dx);
      copies++;
    }
    return Float64Array.from(reply);
  });
  yield* kernels(c, [c.k.experts(copies * c.scale)], BACKWARD_FACTOR);
  const back = yield* comm(c, "epNs", exchange(c.place.epGroup, c.place.epRank, replies, 2 + h, c.scale * c.k.copyBytes, c.tags.next()));
  const dx: Tokens = g.map((gt) => gt.slice());
  for (const recs of back) for (let at = 0; at < recs.length; at += 2 + h) addInto(dx[recs[at]!]!, recs.subarray(at + 2, at + 2 + h));
  routerAndSharedBackward(c, layer, cache, g, dx);
  return dx;
}

/** The router's gradient through the renormalised top-k softmax, and the shared experts'; both add to dx. */
function routerAndSharedBackward(c: StepCtx, layer: number, cache: MoeCache, g: Tokens, dx: Tokens): void {
  const G = matOf(c.blocks, c.params, layer, BlockKind.G), dG = matOf(c.blocks, c.grads, layer, BlockKind.G);
  const h = c.t.numerics.hidden, f = c.t.numerics.expertHidden, S = c.t.shape.sharedExperts;
  g.forEach((gt, t) => {
    const { experts, w } = cache.gates[t]!, x = cache.x[t]!;
    const dw = experts.map((_, k) => dot(gt, cache.outputs[t]![k]!));
    const mean = w.reduce((a, wk, k) => a + wk * dw[k]!, 0);
    experts.forEach((e, k) => {
      const dz = w[k]! * (dw[k]! - mean);
      for (let j = 0; j < h; j++) {
        dG.data[e * h + j] = dG.data[e * h + j]! + dz * x[j]!;
        dx[t]![j] = dx[t]![j]! + dz * G.data[e * h + j]!;
      }
    });
    for (let s = 0; s < S; s++) {
      const a = cache.sharedA[t]![s]!;
      const S1 = matOf(c.blocks, c.params, layer, BlockKind.S1, s), S2 = matOf(c.blocks, c.params, layer, BlockKind.S2, s);
      outerAdd(matOf(c.blocks, c.grads, layer, BlockKind.S2, s), gt, relu(a));
      const dr = new Float64Array(f);
      mtvAdd(S2, gt, dr);
      const da = reluGrad(dr, a);
      outerAdd(matOf(c.blocks, c.grads, layer, BlockKind.S1, s), da, x);
      mtvAdd(S1, da, dx[t]!);
    }
  });
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

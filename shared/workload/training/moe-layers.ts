import { span, SPAN_END, type Program } from "../../collectives/index.js";
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

/**
 * The indices of the k largest values, largest first, ties to the lower index: what sorting all of
 * them by (value desc, index asc) and keeping k gives, in O(n·k) (k = 8 of 256 per token).
 */
function topKOf(p: Float64Array, k: number): number[] {
  const order: number[] = [];
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (order.length === k && v <= p[order[k - 1]!]!) continue; // not above the k-th (a tie keeps the lower index)
    let at = Math.min(order.length, k - 1);
    while (at > 0 && p[order[at - 1]!]! < v) at--;
    if (order.length === k) order.pop();
    order.splice(at, 0, i);
  }
  return order;
}

/** softmax over experts, top-k by probability (ties: lower id), weights renormalised over the k. */
function gate(G: Mat, x: Float64Array, topK: number): Gate {
  const p = mv(G, x); // logits, then probabilities in place (plain loops: the same sums in the same order)
  let max = -Infinity;
  for (let i = 0; i < p.length; i++) max = Math.max(max, p[i]!);
  let sum = 0;
  for (let i = 0; i < p.length; i++) { p[i] = Math.exp(p[i]! - max); sum += p[i]!; }
  for (let i = 0; i < p.length; i++) p[i] = p[i]! / sum;
  const order = topKOf(p, topK);
  let sel = 0;
  for (const e of order) sel += p[e]!;
  return { experts: order, w: order.map((e) => p[e]! / sel) };
}

const expertMats = (c: StepCtx, vec: Float64Array, layer: number, e: number) =>
  ({ W1: matOf(c.blocks, vec, layer, BlockKind.W1e, e), W2: matOf(c.blocks, vec, layer, BlockKind.W2e, e) });

/** Records (token, k, expert, vector) per EP member, in (token, k) order; each vector has `h` elements. */
function dispatchRecords(c: StepCtx, gates: readonly Gate[], vec: (t: number, k: number) => Float64Array, withExpert: boolean): Float64Array[] {
  const n = c.place.epGroup.length, h = c.t.numerics.hidden, stride = (withExpert ? 3 : 2) + h;
  const counts = new Int32Array(n);
  for (const g of gates) for (const e of g.experts) counts[expertOwner(c.t, e)]!++;
  const lists = Array.from(counts, (k) => new Float64Array(k * stride));
  const at = new Int32Array(n);
  gates.forEach((g, t) => g.experts.forEach((e, k) => {
    const m = expertOwner(c.t, e), list = lists[m]!, v = vec(t, k);
    if (v.length !== h) throw new Error(`token vector of ${v.length} elements, the numerics' hidden is ${h}`);
    let i = at[m]!;
    list[i++] = t; list[i++] = k;
    if (withExpert) list[i++] = e;
    for (let j = 0; j < h; j++) list[i + j] = v[j]!; // a few elements: a loop beats TypedArray#set's per-call cost
    at[m] = i + h;
  }));
  return lists;
}

/** Builds one reply list of (token, k, vector of h) records, `count` of them, from `fill`. */
function records(count: number, h: number, fill: (i: number) => { t: number; k: number; v: Float64Array }): Float64Array {
  const out = new Float64Array(count * (2 + h));
  for (let i = 0, at = 0; i < count; i++, at += 2 + h) {
    const { t, k, v } = fill(i);
    out[at] = t; out[at + 1] = k;
    for (let j = 0; j < h; j++) out[at + 2 + j] = v[j]!;
  }
  return out;
}

/**
 * MoE FFN (docs/training.md §1.4): the router picks each token's experts, token copies travel to the
 * EP ranks holding them (dispatch), experts run, outputs come back (combine) and are summed with the
 * gate weights; shared experts run on the origin meanwhile. Timing: the real copies, each standing for
 * `scale` modelled tokens, drive the dispatched bytes and the experts' flops.
 */
export function* moeForward(c: StepCtx, layer: number, x: Tokens): Program<{ y: Tokens; cache: MoeCache }> {
  const h = c.t.numerics.hidden, K = c.t.shape.topK;
  yield span(`${c.where} MoE`, "layer");
  yield* kernels(c, c.k.router());
  yield* kernels(c, c.k.sharedExperts(), 1, true);
  const G = matOf(c.blocks, c.params, layer, BlockKind.G);
  const gates = x.map((v) => gate(G, v, K));
  const out = dispatchRecords(c, gates, (t) => x[t]!, true);
  yield span(`${c.where} EP dispatch`, "ep", { ranks: c.place.epGroup.length });
  const got = yield* comm(c, "epNs", exchange(c.place.epGroup, c.place.epRank, out, 3 + h, c.scale * c.k.copyBytes, c.tags.next()));
  yield SPAN_END;
  const held: MoeCache["held"] = got.map(() => []);
  let copies = 0;
  const replies = got.map((recs, m) => records(recs.length / (3 + h), h, (i) => {
    const at = i * (3 + h);
    const t = recs[at]!, k = recs[at + 1]!, e = recs[at + 2]!, xv = recs.slice(at + 3, at + 3 + h);
    const { W1, W2 } = expertMats(c, c.params, layer, e);
    const a = mv(W1, xv);
    held[m]!.push({ t, k, e, x: xv, a });
    copies++;
    return { t, k, v: mv(W2, relu(a)) };
  }));
  yield* kernels(c, [c.k.experts(copies * c.scale)]);
  yield span(`${c.where} EP combine`, "ep", { ranks: c.place.epGroup.length });
  const back = yield* comm(c, "epNs", exchange(c.place.epGroup, c.place.epRank, replies, 2 + h, c.scale * c.k.copyBytes, c.tags.next()));
  yield SPAN_END;
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
  yield SPAN_END;
  return { y, cache: { x, gates, outputs, sharedA, held } };
}

/** The backward: output gradients go to the experts (the dispatch direction), input gradients come back. */
export function* moeBackward(c: StepCtx, layer: number, cache: MoeCache, g: Tokens): Program<Tokens> {
  const h = c.t.numerics.hidden, f = c.t.numerics.expertHidden;
  yield span(`${c.where} MoE`, "layer");
  yield* kernels(c, [...c.k.router(), ...c.k.sharedExperts()], BACKWARD_FACTOR + (c.t.recompute === "full" ? 1 : 0));
  const out = dispatchRecords(c, cache.gates, (t, k) => g[t]!.map((v) => v * cache.gates[t]!.w[k]!), false);
  yield span(`${c.where} EP dispatch`, "ep", { ranks: c.place.epGroup.length });
  const got = yield* comm(c, "epNs", exchange(c.place.epGroup, c.place.epRank, out, 2 + h, c.scale * c.k.copyBytes, c.tags.next()));
  yield SPAN_END;
  let copies = 0;
  const replies = got.map((recs, m) => {
    const list = cache.held[m]!;
    if (recs.length !== list.length * (2 + h)) throw new Error(`expert gradients for ${recs.length / (2 + h)} copies from member ${m}, it sent ${list.length}`);
    return records(list.length, h, (i) => {
      const at = i * (2 + h), { t, k, e, x, a } = list[i]!;
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
      copies++;
      return { t, k, v: dx };
    });
  });
  yield* kernels(c, [c.k.experts(copies * c.scale)], BACKWARD_FACTOR);
  yield span(`${c.where} EP combine`, "ep", { ranks: c.place.epGroup.length });
  const back = yield* comm(c, "epNs", exchange(c.place.epGroup, c.place.epRank, replies, 2 + h, c.scale * c.k.copyBytes, c.tags.next()));
  yield SPAN_END;
  const dx: Tokens = g.map((gt) => gt.slice());
  for (const recs of back) for (let at = 0; at < recs.length; at += 2 + h) addInto(dx[recs[at]!]!, recs.subarray(at + 2, at + 2 + h));
  routerAndSharedBackward(c, layer, cache, g, dx);
  yield SPAN_END;
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

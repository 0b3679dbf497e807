import { span, SPAN_END, type Program } from "../../collectives/index.js";
import { BACKWARD_FACTOR } from "../../compute/index.js";
import { exchange } from "./comm.js";
import { comm, kernels, type StepCtx } from "./context.js";
import type { Tokens } from "./dense-layers.js";
import { expertOwner } from "./groups.js";
import { BlockKind } from "./layout.js";
import { addInto, matOf, mtvAdd, mtvAddAt, mv, mvReluInto, outerAdd, relu, reluGrad, reluGradInto, reluInto, type Mat } from "./tensors.js";

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

interface ExpertMats { readonly W1: Mat; readonly W2: Mat }

/** An expert's two matrices in `vec`, found once per layer call (each is asked for once per token copy). */
function expertMatsOf(c: StepCtx, vec: Float64Array, layer: number): (e: number) => ExpertMats {
  const memo: (ExpertMats | undefined)[] = [];
  return (e) => (memo[e] ??= { W1: matOf(c.blocks, vec, layer, BlockKind.W1e, e), W2: matOf(c.blocks, vec, layer, BlockKind.W2e, e) });
}

/**
 * Records (token, k, expert, vector) per EP member, in (token, k) order; each vector has `h` elements:
 * token t's vector, times `weight(t, k)` when given.
 */
function dispatchRecords(c: StepCtx, gates: readonly Gate[], vec: (t: number) => Float64Array, withExpert: boolean, weight?: (t: number, k: number) => number): Float64Array[] {
  const n = c.place.epGroup.length, h = c.t.numerics.hidden, stride = (withExpert ? 3 : 2) + h;
  const counts = new Int32Array(n);
  for (const g of gates) for (const e of g.experts) counts[expertOwner(c.t, e)]!++;
  const lists = Array.from(counts, (k) => new Float64Array(k * stride));
  const at = new Int32Array(n);
  for (let t = 0; t < gates.length; t++) {
    const experts = gates[t]!.experts, v = vec(t);
    if (v.length !== h) throw new Error(`token vector of ${v.length} elements, the numerics' hidden is ${h}`);
    for (let k = 0; k < experts.length; k++) {
      const e = experts[k]!, m = expertOwner(c.t, e), list = lists[m]!;
      let i = at[m]!;
      list[i++] = t; list[i++] = k;
      if (withExpert) list[i++] = e;
      if (weight) { const w = weight(t, k); for (let j = 0; j < h; j++) list[i + j] = v[j]! * w; }
      else for (let j = 0; j < h; j++) list[i + j] = v[j]!; // a few elements: a loop beats TypedArray#set's per-call cost
      at[m] = i + h;
    }
  }
  return lists;
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
  const mats = expertMatsOf(c, c.params, layer);
  let copies = 0;
  const replies = got.map((recs, m) => {
    const n = recs.length / (3 + h), out = new Float64Array(n * (2 + h)), list = held[m]!;
    for (let i = 0, at = 0, o = 0; i < n; i++, at += 3 + h, o += 2 + h) {
      const t = recs[at]!, k = recs[at + 1]!, e = recs[at + 2]!, xv = recs.slice(at + 3, at + 3 + h);
      const { W1, W2 } = mats(e);
      const a = mv(W1, xv);
      list.push({ t, k, e, x: xv, a });
      out[o] = t; out[o + 1] = k;
      mvReluInto(W2, a, out, o + 2); // the expert's output, written into its reply record
      copies++;
    }
    return out;
  });
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
  const out = dispatchRecords(c, cache.gates, (t) => g[t]!, false, (t, k) => cache.gates[t]!.w[k]!);
  yield span(`${c.where} EP dispatch`, "ep", { ranks: c.place.epGroup.length });
  const got = yield* comm(c, "epNs", exchange(c.place.epGroup, c.place.epRank, out, 2 + h, c.scale * c.k.copyBytes, c.tags.next()));
  yield SPAN_END;
  const P = expertMatsOf(c, c.params, layer), D = expertMatsOf(c, c.grads, layer);
  const ra = new Float64Array(f), dr = new Float64Array(f), da = new Float64Array(f); // scratch, per copy
  let copies = 0;
  const replies = got.map((recs, m) => {
    const list = cache.held[m]!;
    if (recs.length !== list.length * (2 + h)) throw new Error(`expert gradients for ${recs.length / (2 + h)} copies from member ${m}, it sent ${list.length}`);
    const out = new Float64Array(list.length * (2 + h));
    for (let i = 0, at = 0; i < list.length; i++, at += 2 + h) {
      const { t, k, e, x, a } = list[i]!;
      if (recs[at] !== t || recs[at + 1] !== k) throw new Error(`expert gradients out of order from member ${m}`);
      const dO = recs.subarray(at + 2, at + 2 + h);
      const p = P(e), d = D(e);
      outerAdd(d.W2, dO, reluInto(a, ra));
      dr.fill(0);
      mtvAdd(p.W2, dO, dr);
      reluGradInto(dr, a, da);
      outerAdd(d.W1, da, x);
      out[at] = t; out[at + 1] = k;
      mtvAddAt(p.W1, da, out, at + 2); // dx, into its reply record (zero until now)
      copies++;
    }
    return out;
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

import { span, SPAN_END, type Program } from "../../collectives/index.js";
import { BACKWARD_FACTOR } from "../../compute/index.js";
import { allReduce } from "./comm.js";
import { comm, kernels, type StepCtx } from "./context.js";
import { BlockKind } from "./layout.js";
import { addInto, matOf, mtvAdd, mv, outerAdd, relu, reluGrad } from "./tensors.js";

/** Tokens of a micro-step: one full-width vector each. */
export type Tokens = Float64Array[];

/** The sum over the TP group of per-token partial vectors (row-parallel output), in place. */
function* tpSum(c: StepCtx, parts: Tokens): Program<void> {
  if (c.t.tp < 2) return;
  const h = parts[0]?.length ?? 0;
  const buf = new Float64Array(parts.length * h);
  parts.forEach((p, i) => buf.set(p, i * h));
  yield span(`${c.where} TP all-reduce`, "tp", { bytes: c.k.activationBytes, ranks: c.place.tpGroup.length });
  yield* comm(c, "tpNs", allReduce(c.place.tpGroup, c.place.tpRank, buf, c.k.activationBytes, c.tags.next()));
  yield SPAN_END;
  parts.forEach((p, i) => p.set(buf.subarray(i * h, (i + 1) * h)));
}

/** Recomputation (full): the forward's kernels run again before the backward. */
const recomputeTimes = (c: StepCtx): number => (c.t.recompute === "full" ? 1 : 0);

/** Attention block, x ← x + A·x (docs/training.md §1.4); A split by input columns over TP. */
export function* attentionForward(c: StepCtx, layer: number, x: Tokens): Program<Tokens> {
  yield span(`${c.where} attention`, "layer");
  yield* kernels(c, c.k.attention());
  const A = matOf(c.blocks, c.params, layer, BlockKind.A);
  const parts = x.map((v) => mv(A, v));
  yield* tpSum(c, parts);
  yield SPAN_END;
  return x.map((v, i) => { const y = v.slice(); addInto(y, parts[i]!); return y; });
}

export function* attentionBackward(c: StepCtx, layer: number, xIn: Tokens, g: Tokens): Program<Tokens> {
  yield span(`${c.where} attention`, "layer");
  yield* kernels(c, c.k.attention(), BACKWARD_FACTOR + recomputeTimes(c));
  const A = matOf(c.blocks, c.params, layer, BlockKind.A), dA = matOf(c.blocks, c.grads, layer, BlockKind.A);
  const parts = g.map((gt, i) => {
    outerAdd(dA, gt, xIn[i]!);
    const d = new Float64Array(gt.length);
    mtvAdd(A, gt, d);
    return d;
  });
  yield* tpSum(c, parts);
  yield SPAN_END;
  return g.map((gt, i) => { const d = gt.slice(); addInto(d, parts[i]!); return d; });
}

/** What a dense FFN's backward needs of its forward, per token: input and pre-activation (full width, zero outside the shard). */
export interface DenseCache { readonly x: Tokens; readonly a: Tokens }

/** Dense FFN, x ← x + W2·relu(W1·x): W1 split by rows, W2 by columns over TP (column- then row-parallel). */
export function* denseForward(c: StepCtx, layer: number, x: Tokens): Program<{ y: Tokens; cache: DenseCache }> {
  yield span(`${c.where} FFN`, "layer");
  yield* kernels(c, c.k.denseFfn());
  const W1 = matOf(c.blocks, c.params, layer, BlockKind.W1), W2 = matOf(c.blocks, c.params, layer, BlockKind.W2);
  const f = c.t.numerics.expertHidden;
  const a = x.map((v) => { const full = new Float64Array(f); full.set(mv(W1, v), W1.r0); return full; });
  const parts = a.map((av) => mv(W2, relu(av)));
  yield* tpSum(c, parts);
  yield SPAN_END;
  return { y: x.map((v, i) => { const y = v.slice(); addInto(y, parts[i]!); return y; }), cache: { x, a } };
}

export function* denseBackward(c: StepCtx, layer: number, cache: DenseCache, g: Tokens): Program<Tokens> {
  yield span(`${c.where} FFN`, "layer");
  yield* kernels(c, c.k.denseFfn(), BACKWARD_FACTOR + recomputeTimes(c));
  const W1 = matOf(c.blocks, c.params, layer, BlockKind.W1), W2 = matOf(c.blocks, c.params, layer, BlockKind.W2);
  const dW1 = matOf(c.blocks, c.grads, layer, BlockKind.W1), dW2 = matOf(c.blocks, c.grads, layer, BlockKind.W2);
  const f = c.t.numerics.expertHidden;
  const parts = g.map((gt, i) => {
    const a = cache.a[i]!;
    outerAdd(dW2, gt, relu(a));
    const dr = new Float64Array(f);
    mtvAdd(W2, gt, dr);
    const da = reluGrad(dr, a).subarray(W1.r0, W1.r0 + W1.rows);
    outerAdd(dW1, da, cache.x[i]!);
    const dx = new Float64Array(gt.length);
    mtvAdd(W1, da, dx);
    return dx;
  });
  yield* tpSum(c, parts);
  yield SPAN_END;
  return g.map((gt, i) => { const d = gt.slice(); addInto(d, parts[i]!); return d; });
}

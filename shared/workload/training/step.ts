import { advance, fork, join, span, SPAN_END, tally, type Program, type ProgramEnv } from "../../collectives/index.js";
import { BACKWARD_FACTOR } from "../../compute/index.js";
import type { TrainingLayerKind } from "../../protocol/index.js";
import { embeddingBucket, gatherParams, ownedRange, reduceBucket, countedBackward, type Bucket } from "./buckets.js";
import { barrier, timed } from "./comm.js";
import { kernels, repeatInto, snapshot, stepCtx, type StepCtx } from "./context.js";
import { sampleTokens } from "./data.js";
import { attentionBackward, attentionForward, denseBackward, denseForward, type DenseCache, type Tokens } from "./dense-layers.js";
import { placeRank } from "./groups.js";
import { shardBlocks } from "./layout.js";
import { moeBackward, moeForward, type MoeCache } from "./moe-layers.js";

/** The order of what op-done `tally` reports (ns × TIME_UNITS each, then tokens of the loss). */
export const StepTally = { Compute: 0, Tp: 1, Ep: 2, Dp: 3, DpExposed: 4 } as const;
/** Tallies are integers: times go as 1/1024 ns, the grid virtual time lives on. */
export const TIME_UNITS = 1024;

interface LayerCache { readonly xIn: Tokens; readonly afterAttn: Tokens; readonly ffn: DenseCache | MoeCache }

function* layerForward(c: StepCtx, l: number, kind: TrainingLayerKind, x: Tokens): Program<{ y: Tokens; cache: LayerCache }> {
  const afterAttn = yield* attentionForward(c, l, x);
  const r = kind.kind === "dense" ? yield* denseForward(c, l, afterAttn) : yield* moeForward(c, l, afterAttn);
  return { y: r.y, cache: { xIn: x, afterAttn, ffn: r.cache } };
}

function* layerBackward(c: StepCtx, l: number, kind: TrainingLayerKind, cache: LayerCache, g: Tokens): Program<Tokens> {
  const gAttn = kind.kind === "dense" ? yield* denseBackward(c, l, cache.ffn as DenseCache, g) : yield* moeBackward(c, l, cache.ffn as MoeCache, g);
  return yield* attentionBackward(c, l, cache.xIn, gAttn);
}

/**
 * One micro-step: forward through the emulated layers (each counted `count` times: the others take
 * its time), the loss and its gradient ∂L/∂x = (x − y*) / tokens of the step, then backward in
 * reverse. In the last micro-step the gradient buckets leave as their layers finish.
 */
/**
 * Lines up the ranks that communicate inside a layer (its TP group, or its EP group for MoE) before an
 * emulated layer that stands for several: its measured time is then the layer's own, not a wait for a
 * late peer, which the counted layers would otherwise multiply (and the skew grow layer after layer).
 * The barrier's time counts as exposed communication of the layer's kind.
 */
function* alignFor(c: StepCtx, kind: TrainingLayerKind): Program<void> {
  if (kind.count < 2) return;
  const [group, me, key] = kind.kind === "moe" ? [c.place.epGroup, c.place.epRank, "epNs" as const] : [c.place.tpGroup, c.place.tpRank, "tpNs" as const];
  if (group.length < 2) return;
  yield span(`${c.where} ${kind.kind === "moe" ? "EP" : "TP"} barrier`, kind.kind === "moe" ? "ep" : "tp");
  const r = yield* timed(barrier(group, me, c.tags.next()));
  yield SPAN_END;
  c.times[key] += r.ns;
}

/** The model's number of emulated layer `l`'s first layer: the layers of the kinds before it come first. */
const firstLayer = (c: StepCtx, l: number): number => c.t.layers.slice(0, l).reduce((n, k) => n + k.count, 0);

/** `L4–L60 moe (57 counted)`: the layers an emulated one stands for, after itself. */
function countedName(c: StepCtx, l: number, dir: string): string {
  const kind = c.t.layers[l]!, first = firstLayer(c, l);
  return `${dir} L${first + 1}${kind.count > 2 ? `–L${first + kind.count - 1}` : ""} ${kind.kind} (${kind.count - 1} counted)`;
}

function* microStep(c: StepCtx, u: number, last: boolean, held: Bucket[]): Program<number> {
  const t = c.t, N = t.dp * t.microSteps * c.tokens;
  // Sample s = u·dp + d of the step; in a run shrunk from sampleDp it is the declared plan's (⌊s/D0⌋, s mod D0).
  const D0 = t.numerics.sampleDp ?? t.dp, s = u * t.dp + c.place.dpRank;
  const data = sampleTokens(t, t.step, Math.floor(s / D0), s % D0);
  let x: Tokens = data.x;
  const caches: LayerCache[] = [];
  for (let l = 0; l < t.layers.length; l++) {
    c.where = `fwd L${firstLayer(c, l)}`;
    yield* alignFor(c, t.layers[l]!);
    const before = snapshot(c.times);
    yield span(`${c.where} ${t.layers[l]!.kind}`, "layer");
    const r = yield* timed(layerForward(c, l, t.layers[l]!, x));
    yield SPAN_END;
    repeatInto(c.times, before, c.times, t.layers[l]!.count - 1);
    if (t.layers[l]!.count > 1) yield span(countedName(c, l, "fwd"), "counted");
    yield* advance((t.layers[l]!.count - 1) * r.ns);
    if (t.layers[l]!.count > 1) yield SPAN_END;
    x = r.value.y;
    caches.push(r.value.cache);
  }
  yield span("LM head and loss", "layer");
  yield* kernels(c, c.k.lmHead());
  let loss = 0;
  let g: Tokens = x.map((v, i) => v.map((xv, j) => {
    const d = xv - data.target[i]![j]!;
    loss += 0.5 * d * d;
    return d / N;
  }));
  yield* kernels(c, c.k.lmHead(), BACKWARD_FACTOR);
  yield SPAN_END;
  for (let l = t.layers.length - 1; l >= 0; l--) {
    const kind = t.layers[l]!;
    c.where = `bwd L${firstLayer(c, l)}`;
    yield* alignFor(c, kind);
    const before = snapshot(c.times);
    yield span(`${c.where} ${kind.kind}`, "layer");
    const r = yield* timed(layerBackward(c, l, kind, caches[l]!, g));
    yield SPAN_END;
    g = r.value;
    const after = snapshot(c.times);
    if (kind.count > 1) yield span(countedName(c, l, "bwd"), "counted");
    yield* countedBackward(c, l, kind.kind, kind.count, r.ns, last, held);
    if (kind.count > 1) yield SPAN_END;
    repeatInto(c.times, before, after, kind.count - 1);
  }
  return loss;
}

/** SGD on what this rank owns of a bucket; with ZeRO-1 only its chunk, then the chunks are gathered. */
function update(c: StepCtx, b: Bucket): void {
  if (b.blocks.length === 0) return;
  const lr = c.t.numerics.lr;
  const [lo, hi] = ownedRange(c, b);
  let at = 0;
  for (const blk of b.blocks) {
    const len = (blk.r1 - blk.r0) * (blk.c1 - blk.c0);
    for (let i = 0; i < len; i++, at++) {
      if (at >= lo && at < hi) b.vec[at] = c.params[blk.at + i]! - lr * b.vec[at]!;
    }
  }
}

/** After the gather: every element of the bucket holds updated parameters. */
function writeBack(c: StepCtx, b: Bucket): void {
  let at = 0;
  for (const blk of b.blocks) {
    const len = (blk.r1 - blk.r0) * (blk.c1 - blk.c0);
    c.params.set(b.vec.subarray(at, at + len), blk.at);
    at += len;
  }
}

/**
 * A rank's training step (docs/training.md): micro-steps of forward and backward on its shard with
 * real tiny-width numbers, gradient buckets reduced over DP (overlapping the backward on a stream of
 * their own when `overlap`), the optimizer step, and with ZeRO-1 the gather of updated parameters.
 * Returns the rank's parameters, then its loss sum.
 */
export function* trainingStepProgram(env: ProgramEnv): Program {
  const t = env.spec.training;
  if (!t || !env.trainingPart) throw new Error(`rank ${env.rank}: a training step without its spec and parameters`);
  const place = placeRank(t, env.rank);
  const c = stepCtx(t, place, shardBlocks(t, place), env.trainingPart.params.slice(), env.spec.nodeGroups);
  const buckets: Bucket[] = [];
  let loss = 0;
  for (let u = 0; u < t.microSteps; u++) {
    yield span(`micro-step ${u}`, "microstep");
    loss += yield* microStep(c, u, u === t.microSteps - 1, buckets);
    yield SPAN_END;
  }
  const embed = embeddingBucket(c);
  buckets.push(embed);
  for (const b of t.overlap ? [embed] : buckets) yield* fork("dp", reduceBucket(c, b));
  yield span("DP wait (exposed)", "dp");
  const w = yield* timed(join("dp"));
  yield SPAN_END;
  c.times.dpExposedNs += w.ns;
  yield span("optimizer", "optimizer");
  yield* kernels(c, [c.k.optimizer()]);
  yield SPAN_END;
  for (const b of buckets) update(c, b);
  if (t.zero === 1) yield* gatherParams(c, buckets);
  for (const b of buckets) writeBack(c, b);
  const s = c.times;
  yield* tally([s.computeNs, s.tpNs, s.epNs, s.dpNs, s.dpExposedNs].map((ns) => Math.round(ns * TIME_UNITS)));
  const out = new Float64Array(c.params.length + 1);
  out.set(c.params);
  out[c.params.length] = place.tpRank === 0 ? loss : 0;
  return out;
}

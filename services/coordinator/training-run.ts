import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { TrainingWorkload } from "../../shared/config/index.js";
import { GB, memoryPerRank, moeLayers, paramCounts, stepModelFlops } from "../../shared/compute/index.js";
import { Algorithm, Collective, type OpSpec, type TrainingLayerKind, type TrainingSpec } from "../../shared/protocol/index.js";
import type { Engine, Replan } from "../../shared/runtime/index.js";
import { groupByNode, type Topology } from "../../shared/topology/index.js";
import { simNs } from "../../shared/units/index.js";
import { fromShard, fullLength, initialParams, placeRank, shardBlocks, StepTally, TIME_UNITS, toShard, type ShardBlock } from "../../shared/workload/index.js";
import { round } from "./collect.js";
import { FIRST_EPOCH } from "./epoch.js";
import type { History } from "./history.js";
import { NO_PROGRESS, type Progress } from "./progress.js";
import { shrinkTraining, type ShrinkAt, type TrainingPlan } from "./shrink.js";

/** One training step as the report gives it (docs/training.md §3). Times are virtual ns of the slowest rank. */
export interface TrainingStepRow {
  readonly step: number;
  readonly virtualTimeNs: number;
  readonly computeNs: number;
  readonly commNs: { readonly tp: number; readonly ep: number; readonly dp: number; readonly pp: number };
  /** Communication the main stream waited for (TP, EP, the DP stream's tail and ZeRO-1's gather). */
  readonly exposedCommNs: number;
  readonly idleNs: number;
  readonly tokensPerSec: number;
  readonly tokensPerSecPerNpu: number;
  readonly tflopsPerNpu: number;
  readonly mfu: number;
  /** Mean token loss of the tiny model's forward passes in this step. */
  readonly loss: number;
  /** sha256 (first 16 hex digits) of the tiny model's parameters after the step. */
  readonly paramDigest: string;
  readonly verified: boolean;
  readonly verifyError?: string;
  readonly messages: number;
  readonly wallMs: number;
  /** Virtual ns lost to failed attempts before this step's committed one (recovery, docs/chaos.md §7); absent when none failed. */
  readonly lostVirtualNs?: number;
  /** The step's DP degree and micro-steps per rank when recovery shrank the run (docs/chaos.md §7.4); absent when as planned. */
  readonly dp?: number;
  readonly microSteps?: number;
}

export interface TrainingReport {
  readonly model: string;
  readonly numericsModel: string;
  readonly parallel: TrainingWorkload["parallel"] & { readonly zero: number; readonly overlap: boolean };
  readonly tokensPerStep: number;
  readonly flopsPerStep: number;
  readonly microSteps: number;
  readonly emulatedLayers: number;
  readonly countedLayers: number;
  readonly paramsTotal: number;
  readonly memoryGBPerRank: { readonly weights: number; readonly gradients: number; readonly optimizer: number; readonly activations: number; readonly total: number };
  readonly steps: readonly TrainingStepRow[];
  readonly totals: { readonly virtualTimeNs: number; readonly tokensPerSec: number; readonly mfu: number; readonly lossFirst: number; readonly lossLast: number; readonly verified: boolean };
}

/** The emulated layers: one per distinct kind counted k times (repeatLayers), or every layer once. */
export function layerKinds(w: TrainingWorkload): TrainingLayerKind[] {
  const moe = moeLayers(w.model), dense = w.model.layers - moe;
  if (w.repeatLayers) return [...(dense > 0 ? [{ kind: "dense" as const, count: dense }] : []), ...(moe > 0 ? [{ kind: "moe" as const, count: moe }] : [])];
  return [...Array.from({ length: dense }, () => ({ kind: "dense" as const, count: 1 })), ...Array.from({ length: moe }, () => ({ kind: "moe" as const, count: 1 }))];
}

/** `sampleDp`: the declared DP degree of a run recovery shrank (its samples are the step's); absent, the plan's own. */
export function trainingSpec(w: TrainingWorkload, seed: number, step: number, sampleDp?: number): TrainingSpec {
  const m = w.model;
  return {
    step,
    shape: {
      layers: m.layers, hidden: m.hidden, heads: m.heads, headDim: m.headDim, vHeadDim: m.vHeadDim, attentionParams: m.attentionParams,
      ffnIntermediate: m.ffnIntermediate, vocab: m.vocab, experts: m.experts, topK: m.topK, sharedExperts: m.sharedExperts, expertIntermediate: m.expertIntermediate,
    },
    layers: layerKinds(w),
    dp: w.parallel.dp, tp: w.parallel.tp, ep: w.parallel.ep, zero: w.zero, overlap: w.overlap, recompute: w.recompute,
    microSteps: w.globalBatch / (w.parallel.dp * w.microBatch), microBatch: w.microBatch, seqLen: w.seqLen, gradBytes: w.gradBytes,
    bucketLayers: w.bucketLayers, dpAlgorithm: w.dpAlgorithm === "hierarchical" ? "hierarchical" : "ring",
    efficiency: w.efficiency, numerics: { ...w.numerics, seed, ...(sampleDp !== undefined && sampleDp !== w.parallel.dp ? { sampleDp } : {}) },
  };
}

const digest = (p: Float64Array): string => createHash("sha256").update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength)).digest("hex").slice(0, 16);

/**
 * Runs a training workload: one op per step on all dp × tp ranks, each rank given its parameters in
 * its op-start and returning them updated; the coordinator assembles the full parameters (replicas
 * must agree bit for bit), and times the step from the slowest rank's tally. `progress` hears of each
 * step (its `done` counts this workload's steps; the caller starts and stops it).
 */
export async function runTraining(w: TrainingWorkload, t: Topology, engine: Engine, seed: number, startNs: number, signal?: AbortSignal, progress: Progress = NO_PROGRESS, history?: History, state?: TrainingState, shrinks: readonly ShrinkAt[] = []): Promise<{ report: TrainingReport; endNs: number; stalled?: string }> {
  let plan: TrainingPlan = { w, group: t.endpoints.slice(0, w.parallel.dp * w.parallel.tp) };
  const tokensPerStep = w.globalBatch * w.seqLen;
  const flopsPerStep = stepModelFlops(w.model, tokensPerStep, w.seqLen);
  const peakFlopsPerNs = t.endpoint.peakTflops * 1e3;
  let params = state?.resume?.params ?? initialParams(trainingSpec(w, seed, 0));
  const rows: TrainingStepRow[] = [...(state?.resume?.rows ?? [])];
  const applied = new Set<ShrinkAt>();
  let now = startNs, stalled: string | undefined;
  for (let k = rows.length; k < w.steps && !stalled; k++) {
    signal?.throwIfAborted();
    // Shrinks done before: by the run a restarted coordinator resumes, or (supernode check's reference)
    // by the faulted run this fault-free one must equal.
    for (const sh of shrinks.filter((x) => x.step <= k && !applied.has(x))) {
      applied.add(sh);
      const ids = sh.removed.map((n) => t.devices.findIndex((d) => d.name === n));
      const r = shrinkTraining(plan, ids, t);
      if ("refused" in r) throw new Error(`step ${k}: cannot shrink without ${sh.removed.join(", ")}: ${r.refused}`);
      plan = r.plan;
    }
    let { spec, blocks, op } = stepOp(plan, seed, k, w.parallel.dp, engine.cursor.nextOp++, t);
    // Recovery policy shrink re-plans the step without its failed members (docs/chaos.md §7.4); later steps stay shrunk.
    const replan: Replan = (failed) => {
      const r = shrinkTraining(plan, failed, t);
      if ("refused" in r) return r;
      plan = r.plan;
      ({ spec, blocks, op } = stepOp(plan, seed, k, w.parallel.dp, op.op, t));
      return { spec: op, idle: r.idle, note: r.note };
    };
    progress.update(k, `step ${k + 1}/${w.steps} running`);
    const w0 = performance.now();
    const out = await engine.runOp(op, simNs(now), FIRST_EPOCH, signal, (r) => ({ params: toShard(params, blocks[r]!) }), [], replan);
    const group = plan.group;
    const wallMs = performance.now() - w0;
    progress.update(k, `verifying step ${k + 1}`);
    stalled = out.stalled;
    const next = new Float64Array(fullLength(spec)), seen = new Uint8Array(next.length);
    const began = out.startedNs ?? now; // later than `now` when recovery retried the step
    let problem: string | undefined = out.stalled, loss = 0, endNs = began, slowest = out.done[0];
    // In rank order: the loss is a float sum, and reports arrive in wall order on the NATS engine.
    for (const d of [...out.done].sort((a, b) => a.rank - b.rank)) {
      if (d.error) { problem ??= `rank ${d.rank}: ${d.error.message}`; continue; }
      const conflict = fromShard(next, seen, d.result.subarray(0, d.result.length - 1), blocks[d.rank]!);
      if (conflict !== undefined) problem ??= `rank ${d.rank}: its copy of parameter ${conflict} differs from another replica's`;
      loss += d.result[d.result.length - 1]!;
      if (d.endNs >= endNs) { endNs = d.endNs; slowest = d; }
    }
    if (out.done.length !== group.length) problem ??= `${group.length - out.done.length} ranks did not report`;
    if (seen.some((s) => s === 0)) problem ??= "some parameters came back from no rank";
    loss /= spec.dp * spec.microSteps * w.numerics.tokensPerRank;
    if (!Number.isFinite(loss)) problem ??= `loss is ${loss}`;
    if (!problem) params = next;
    const row = stepRow(k, endNs - began, slowest?.tally ?? [], { tokensPerStep, flopsPerStep, npus: group.length, peakFlopsPerNs }, loss, digest(params), problem, out.messages, wallMs);
    const shrunk = spec.dp !== w.parallel.dp ? { dp: spec.dp, microSteps: spec.microSteps } : {};
    rows.push(began > now ? { ...row, ...shrunk, lostVirtualNs: round(began - now, 3) } : { ...row, ...shrunk });
    const last = history?.lastBegin();
    if (!problem && last) history!.add({ type: "commit", index: last.index, op: last.op, epoch: last.epoch, step: k, digest: row.paramDigest, virtualNs: endNs });
    if (!problem) await state?.commit(k, params, endNs, rows);
    now = endNs;
    progress.update(k + 1, `step ${k + 1}/${w.steps} ${problem ? "failed" : "verified"}`);
  }
  return { report: trainingReport(w, t, rows, { tokensPerStep, flopsPerStep }), endNs: now, ...(stalled ? { stalled } : {}) };
}

/** Step k's op on the plan's ranks, and each rank's shard of the parameters. */
function stepOp(plan: TrainingPlan, seed: number, k: number, declaredDp: number, opId: number, t: Topology): { spec: TrainingSpec; blocks: ShardBlock[][]; op: OpSpec } {
  const spec = trainingSpec(plan.w, seed, k, declaredDp);
  const blocks = plan.group.map((_, r) => shardBlocks(spec, placeRank(spec, r)));
  const op: OpSpec = {
    op: opId, collective: Collective.TrainingStep, algorithm: Algorithm.Direct, sizeBytes: 0, elementBytes: 2,
    group: plan.group, nodeGroups: groupByNode(plan.group, t), realElements: 1, seed, root: 0, chunkBytes: 1, training: spec,
  };
  return { spec, blocks, op };
}

/** A resumed run's committed state, and where to commit each step (docs/chaos.md §7). */
export interface TrainingState {
  readonly resume?: { readonly params: Float64Array; readonly rows: readonly TrainingStepRow[] };
  commit(step: number, params: Float64Array, endNs: number, rows: readonly TrainingStepRow[]): Promise<void>;
}

interface Rates { readonly tokensPerStep: number; readonly flopsPerStep: number; readonly npus: number; readonly peakFlopsPerNs: number }

function stepRow(step: number, ns: number, tally: readonly number[], r: Rates, loss: number, paramDigest: string, problem: string | undefined, messages: number, wallMs: number): TrainingStepRow {
  const v = (i: number) => (tally[i] ?? 0) / TIME_UNITS;
  const compute = v(StepTally.Compute), tp = v(StepTally.Tp), ep = v(StepTally.Ep), dp = v(StepTally.Dp), dpExposed = v(StepTally.DpExposed);
  const exposed = tp + ep + dpExposed;
  const flopsPerNpuPerNs = ns > 0 ? r.flopsPerStep / r.npus / ns : 0;
  return {
    step, virtualTimeNs: ns, computeNs: round(compute, 3), commNs: { tp: round(tp, 3), ep: round(ep, 3), dp: round(dp, 3), pp: 0 },
    exposedCommNs: round(exposed, 3), idleNs: round(Math.max(0, ns - compute - exposed), 3),
    tokensPerSec: round(ns > 0 ? (r.tokensPerStep / ns) * 1e9 : 0, 1),
    tokensPerSecPerNpu: round(ns > 0 ? (r.tokensPerStep / ns / r.npus) * 1e9 : 0, 2),
    tflopsPerNpu: round(flopsPerNpuPerNs / 1e3, 2), mfu: round(flopsPerNpuPerNs / r.peakFlopsPerNs, 4),
    loss, paramDigest, verified: problem === undefined, ...(problem ? { verifyError: problem } : {}), messages, wallMs: round(wallMs, 1),
  };
}

/** What the tiny-width numerics train: its layers, widths, experts (for a model that has them) and optimizer. */
function numericsModel(w: TrainingWorkload, kinds: readonly { kind: string }[]): string {
  const m = w.model, n = w.numerics;
  return [
    `${kinds.length} emulated layer${kinds.length === 1 ? "" : "s"} (${kinds.map((k) => k.kind).join(", ")})`,
    `hidden ${n.hidden}`,
    ...(m.experts > 0 ? [`expert hidden ${n.expertHidden}`, `${m.experts} experts top-${m.topK}`, `${m.sharedExperts} shared`] : []),
    `${n.tokensPerRank} tokens per rank per micro-step`,
    `SGD lr ${n.lr}`,
  ].join(", ");
}

function trainingReport(w: TrainingWorkload, t: Topology, rows: readonly TrainingStepRow[], r: { tokensPerStep: number; flopsPerStep: number }): TrainingReport {
  const mem = memoryPerRank(w.model, { ...w.parallel, zero: w.zero, recompute: w.recompute, microBatch: w.microBatch, seqLen: w.seqLen, gradBytes: w.gradBytes });
  const kinds = layerKinds(w);
  const total = rows.reduce((s, x) => s + x.virtualTimeNs, 0);
  const gb = (x: number) => round(x / GB, 2);
  const perNpuPeak = t.endpoint.peakTflops * 1e3;
  return {
    model: w.model.name,
    numericsModel: numericsModel(w, kinds),
    parallel: { ...w.parallel, zero: w.zero, overlap: w.overlap },
    tokensPerStep: r.tokensPerStep, flopsPerStep: r.flopsPerStep, microSteps: w.globalBatch / (w.parallel.dp * w.microBatch),
    emulatedLayers: kinds.length, countedLayers: kinds.reduce((s, k) => s + k.count, 0), paramsTotal: paramCounts(w.model).total,
    memoryGBPerRank: { weights: gb(mem.weights), gradients: gb(mem.gradients), optimizer: gb(mem.optimizer), activations: gb(mem.activations), total: gb(mem.total) },
    steps: rows,
    totals: {
      virtualTimeNs: total,
      tokensPerSec: round(total > 0 ? ((r.tokensPerStep * rows.length) / total) * 1e9 : 0, 1),
      mfu: round(total > 0 ? (r.flopsPerStep * rows.length) / t.endpoints.length / total / perNpuPeak : 0, 4),
      lossFirst: rows[0]?.loss ?? NaN, lossLast: rows[rows.length - 1]?.loss ?? NaN,
      verified: rows.length === w.steps && rows.every((x) => x.verified),
    },
  };
}

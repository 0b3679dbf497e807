import { loadScenario } from "../../shared/config/index.js";
import { Algorithm, Collective, type OpSpec, type TrainingSpec } from "../../shared/protocol/index.js";
import type { SimEngine } from "../../shared/runtime/index.js";
import { groupByNode } from "../../shared/topology/index.js";
import type { SimNs } from "../../shared/units/index.js";
import { fromShard, fullLength, initialParams, placeRank, shardBlocks, toShard } from "../../shared/workload/index.js";
import { simEngine, singleSwitch } from "./run.js";

/** A small training spec for tests (full shapes small too, so timing stays cheap). */
export function smallSpec(over: Partial<TrainingSpec> = {}): TrainingSpec {
  return {
    step: 0,
    shape: { layers: 2, hidden: 256, heads: 4, headDim: 64, vHeadDim: 64, attentionParams: 4 * 256 * 256, ffnIntermediate: 512, vocab: 1000, experts: 4, topK: 2, sharedExperts: 1, expertIntermediate: 128 },
    layers: [{ kind: "dense", count: 1 }, { kind: "moe", count: 1 }],
    dp: 4, tp: 1, ep: 2, zero: 0, overlap: true, recompute: "selective", microSteps: 2, microBatch: 1, seqLen: 64, gradBytes: 4, bucketLayers: 1, dpAlgorithm: "ring",
    efficiency: { matmul: 0.84, attention: 0.75, elementwise: 0.9, optimizer: 0.9 },
    numerics: { hidden: 8, expertHidden: 8, tokensPerRank: 4, lr: 0.05, seed: 1 },
    ...over,
  };
}

/** Runs `steps` training steps on a sim engine over `n` endpoints on one switch; returns the full parameters and losses. */
export async function trainOnSim(t0: TrainingSpec, steps: number, engine?: SimEngine, topology?: Record<string, unknown>): Promise<{ params: Float64Array; losses: number[]; endNs: number[] }> {
  const n = t0.dp * t0.tp;
  const loaded = loadScenario({ raw: { topology: topology ?? singleSwitch(n), workload: { kind: "collective", collective: "all-reduce", sizes: ["4KiB"] }, engine: "sim" } });
  const eng = engine ?? simEngine(loaded);
  const group = loaded.topology.endpoints.slice(0, n);
  let params = initialParams(t0);
  const losses: number[] = [], endNs: number[] = [];
  let start = 0;
  for (let k = 0; k < steps; k++) {
    const t: TrainingSpec = { ...t0, step: k };
    const blocks = group.map((_, r) => shardBlocks(t, placeRank(t, r)));
    const spec: OpSpec = {
      op: k + 1, collective: Collective.TrainingStep, algorithm: Algorithm.Direct, sizeBytes: 0, elementBytes: 2,
      group, nodeGroups: groupByNode(group, loaded.topology), realElements: 1, seed: 1, root: 0, chunkBytes: 1, training: t,
    };
    const out = await eng.runOp(spec, start as SimNs, 1, undefined, (r) => ({ params: toShard(params, blocks[r]!) }));
    if (out.done.length !== n) throw new Error(`step ${k}: ${out.done.length} of ${n} ranks finished${out.stalled ? `: ${out.stalled}` : ""}`);
    const next = new Float64Array(fullLength(t)), seen = new Uint8Array(next.length);
    let loss = 0;
    for (const d of out.done) {
      if (d.error) throw new Error(`rank ${d.rank}: ${d.error.message}`);
      const b = blocks[d.rank]!;
      const conflict = fromShard(next, seen, d.result.subarray(0, d.result.length - 1), b);
      if (conflict !== undefined) throw new Error(`replicas disagree at element ${conflict}`);
      loss += d.result[d.result.length - 1]!;
    }
    params = next;
    losses.push(loss / (t.dp * t.microSteps * t.numerics.tokensPerRank));
    start = Math.max(...out.done.map((d) => d.endNs));
    endNs.push(start);
  }
  return { params, losses, endNs };
}

/** spec.training and part fields of a valid training op-start over `ranks` ranks (DP only), for guard and fuzz tests. */
export function trainingFields(ranks: number): { training: TrainingSpec; part: { params: Float64Array } } {
  const t = smallSpec({ dp: ranks, tp: 1, ep: 1 });
  return { training: t, part: { params: new Float64Array(16) } };
}

/**
 * A small DeepSeek-V3-shaped model (4 layers, 1 dense, 16 experts top-4) whose DP 8 × EP 4 steps on
 * 2 × 4 CM384 overlap MoE dispatch with the DP gradient stream: the NATS-vs-sim timing tests' case.
 */
export const OVERLAPPED_MOE_MODEL = {
  base: "deepseek-v3", layers: 4, denseLayers: 1, hidden: 1024, heads: 8, headDim: 128, vHeadDim: 128, kvHeads: 8,
  ffnIntermediate: 2048, vocab: 8192, experts: 16, topK: 4, expertIntermediate: 256,
} as const;

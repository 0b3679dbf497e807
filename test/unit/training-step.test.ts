import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { attentionCore, LLAMA3_8B, paramCounts, stepModelFlops } from "../../shared/compute/index.js";
import { closedFormNs } from "../../shared/collectives/index.js";
import { Algorithm, Collective } from "../../shared/protocol/index.js";
import { runSim } from "../helpers/run.js";

/** A training scenario on a 2-node CloudMatrix384 slice (8 NPUs), small enough for unit tests. */
function trainingScenario(workload: Record<string, unknown>, topology: Record<string, unknown> = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 }): unknown {
  return { topology, workload: { kind: "training", seqLen: 1024, steps: 2, ...workload }, engine: "sim", seed: 3 };
}

const TINY_MOE = { base: "deepseek-v3", layers: 4, denseLayers: 1, hidden: 1024, heads: 8, headDim: 128, vHeadDim: 128, kvHeads: 8, ffnIntermediate: 2048, vocab: 8192, experts: 16, topK: 4, expertIntermediate: 256 };

describe("training steps", () => {
  it("the loss goes down over 12 steps of a DP × EP MoE model, every step verified", async () => {
    const rep = await runSim(trainingScenario({ model: TINY_MOE, parallel: { dp: 8, ep: 4 }, globalBatch: 16, steps: 12 }));
    expect(rep.status).toBe("ok");
    const losses = rep.steps!.map((s) => s.loss);
    // Fresh tokens each step make the curve noisy: compare the means of the first and last three.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-3))).toBeLessThan(0.85 * mean(losses.slice(0, 3)));
    expect(rep.steps!.every((s) => s.verified && s.virtualTimeNs > 0)).toBe(true);
  });

  it("two runs give bitwise-identical parameter digests and step times", async () => {
    const raw = trainingScenario({ model: TINY_MOE, parallel: { dp: 8, ep: 8 }, globalBatch: 8 });
    const [a, b] = [await runSim(raw), await runSim(raw)];
    expect(a.steps!.map((s) => [s.paramDigest, s.virtualTimeNs])).toEqual(b.steps!.map((s) => [s.paramDigest, s.virtualTimeNs]));
  });

  it("with overlap on, exposed communication is less than all communication and the step is shorter", async () => {
    const base = { model: "llama3-8b", parallel: { dp: 4, tp: 2 }, globalBatch: 8, zero: 0, bucketLayers: 2 };
    const on = await runSim(trainingScenario({ ...base, overlap: true }));
    const off = await runSim(trainingScenario({ ...base, overlap: false }));
    const s1 = on.steps![0]!, s0 = off.steps![0]!;
    const comm = (s: typeof s1) => s.commNs.tp + s.commNs.ep + s.commNs.dp;
    expect(s1.exposedCommNs).toBeLessThan(comm(s1));
    expect(s1.virtualTimeNs).toBeLessThan(s0.virtualTimeNs);
    // Without overlap every DP byte is exposed: the step is compute + TP + the whole DP sync.
    expect(s0.exposedCommNs).toBeCloseTo(comm(s0), -3);
    // The two runs trained the same model the same way.
    expect(on.steps!.map((s) => s.paramDigest)).toEqual(off.steps!.map((s) => s.paramDigest));
  });

  it("a dense DP-only step with overlap off is compute plus the gradient all-reduce's closed form (within 2%)", async () => {
    // Llama 3 8B cut to 8 layers (ZeRO-0 must fit 128 GB): one bucket of all 8 layers plus the
    // embedding bucket, ZeRO-0 (ring all-reduce over the 8 ranks).
    const w = { model: { base: "llama3-8b", layers: 8 }, parallel: { dp: 8 }, globalBatch: 8, zero: 0, overlap: false, bucketLayers: 8, recompute: "full", gradBytes: 2, algorithms: { dp: "ring" } };
    const rep = await runSim(trainingScenario(w));
    const s = rep.steps![0]!;
    const loaded = loadScenario({ raw: trainingScenario(w) });
    const t = loaded.topology, group = t.endpoints.slice(0, 8);
    const ar = (bytes: number) => closedFormNs({
      op: 1, collective: Collective.AllReduce, algorithm: Algorithm.Ring, sizeBytes: bytes, elementBytes: 2, group,
      nodeGroups: [[0, 1, 2, 3], [4, 5, 6, 7]], realElements: 8, seed: 1, root: 0, chunkBytes: 1,
    }, t);
    const p = paramCounts(LLAMA3_8B);
    const layerParams = (p.attention + p.denseFfn) / 32;
    // gradBytes 2: the layers' bucket carries 2 B × 8 layers' weights, the embedding bucket 2 B × (embedding + LM head).
    const expected = s.computeNs + ar(2 * 8 * layerParams) + ar(2 * (p.embedding + p.lmHead));
    expect(Math.abs(s.virtualTimeNs - expected) / expected).toBeLessThan(0.02);
    expect(s.commNs.tp + s.commNs.ep).toBe(0);
  });

  it("flopsPerStep of a dense model is 6 · params · tokens plus the attention term (within 1%)", async () => {
    const rep = await runSim(trainingScenario({ model: "llama3-8b", parallel: { dp: 8 }, globalBatch: 8, steps: 1 }));
    const tokens = 8 * 1024;
    const p = paramCounts(LLAMA3_8B);
    // Every weight but the input embedding table is a matmul a token goes through (2 flops forward, 4 backward).
    const sixNT = 6 * (p.total - p.embedding) * tokens;
    // Attention: per layer, tokens × heads × (headDim + vHeadDim) × seqLen forward, ×3 with the backward.
    const attn = 3 * LLAMA3_8B.layers * tokens * LLAMA3_8B.heads * (LLAMA3_8B.headDim + LLAMA3_8B.vHeadDim) * 1024;
    expect(rep.training!.flopsPerStep).toBe(stepModelFlops(LLAMA3_8B, tokens, 1024));
    expect(Math.abs(rep.training!.flopsPerStep - (sixNT + attn)) / (sixNT + attn)).toBeLessThan(0.01);
    expect(attentionCore(LLAMA3_8B, tokens, 1024, LLAMA3_8B.heads).flops * 3 * 32).toBe(attn);
  });
});

describe("invalid training plans fail fast, naming the field", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["dp × tp × pp ≠ ranks", { model: "llama3-8b", parallel: { dp: 3 } }, /^workload\.parallel: dp × tp × pp = 3 × 1 × 1 = 3, but the topology has 8 NPUs/],
    ["ep not dividing dp", { model: TINY_MOE, parallel: { dp: 8, ep: 3 } }, /^workload\.parallel\.ep: ep 3 must divide dp 8/],
    ["ep not dividing the experts", { model: { ...TINY_MOE, experts: 12 }, parallel: { dp: 8, ep: 8 } }, /^workload\.parallel\.ep: ep 8 must divide the 12 experts/],
    ["tp beyond a node", { model: "llama3-8b", parallel: { dp: 1, tp: 8 } }, /^workload\.parallel\.tp: TP stays inside a node/],
    ["batch not divisible", { model: "llama3-8b", parallel: { dp: 8 }, globalBatch: 12 }, /^workload\.globalBatch: 12 sequences do not split/],
    ["unknown model", { model: "gpt-5", parallel: { dp: 8 } }, /^workload\.model: unknown model "gpt-5" \(presets: deepseek-v3, llama3-70b, llama3-8b/],
    ["pipeline parallelism", { model: "llama3-8b", parallel: { dp: 4, pp: 2 } }, /^workload\.parallel\.pp: pipeline parallelism is not emulated/],
    ["a plan that does not fit HBM", { model: "llama3-70b", parallel: { dp: 8 } }, /^workload\.parallel: needs \d+\.\d GB per NPU, cloudmatrix384 has 128\.0 GB/],
    ["an unknown key", { model: "llama3-8b", parallel: { dp: 8 }, bogus: 1 }, /^workload\.bogus: unknown key/],
  ];
  for (const [name, w, message] of cases) {
    it(name, () => {
      let err: unknown;
      try { loadScenario({ raw: trainingScenario(w) }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(ScenarioError);
      expect((err as Error).message).toMatch(message);
    });
  }
});

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../shared/runtime/index.js";
import { PRESETS } from "../../shared/topology/index.js";
import { mapPlan, presetSize, type Plan } from "../../services/cli/compare-map.js";
import { loadSource, preparePreset } from "../../services/cli/compare-prepare.js";
import { runCompare, type CompareResult } from "../../services/cli/compare.js";
import type { CompareRow } from "../../services/cli/compare-rows.js";
import type { Report } from "../../services/coordinator/index.js";

const CM384 = presetSize("cloudmatrix384"), NVL72 = presetSize("nvl72");
const plan = (p: Partial<Plan>): Plan => ({ dp: 1, tp: 1, ep: 1, globalBatch: 1, microBatch: 1, seqLen: 4096, experts: 0, ...p });

describe("compare: the mapping rule (docs/training.md §5)", () => {
  it("knows each preset's size and node", () => {
    // CM384: 48 nodes × 8 NPUs = 384; NVL72: 18 trays × 4 GPUs = 72.
    expect(CM384).toEqual({ name: "cloudmatrix384", accelerators: 384, nodeSize: 8 });
    expect(NVL72).toEqual({ name: "nvl72", accelerators: 72, nodeSize: 4 });
  });

  it("an MoE plan on all of CM384 carried to NVL72: dp, ep and the batch shrink, sequences per accelerator stay", () => {
    const from = plan({ dp: 384, ep: 128, globalBatch: 1536, experts: 256 });
    const m = mapPlan(from, NVL72);
    // dp = 72 / tp 1 = 72; ep = largest divisor of 72 and 256 (gcd 8) that is ≤ 128 → 8;
    // globalBatch = 1536 × 72 / 384 = 288, a multiple of dp × microBatch = 72: 288 / 72 = 4 = 1536 / 384.
    expect(m.to).toMatchObject({ dp: 72, tp: 1, ep: 8, globalBatch: 288, microBatch: 1, seqLen: 4096, accelerators: 72 });
    expect(m.line).toBe("nvl72: dp 384→72, ep 128→8, globalBatch 1536→288 (same 4 sequences per accelerator)");
    // On its own preset nothing changes, and the line says so.
    expect(mapPlan(from, CM384).line).toBe("cloudmatrix384: unchanged: dp 384 × tp 1 × ep 128, globalBatch 1536 (same 4 sequences per accelerator)");
  });

  it("from NVL72 to CM384: dp grows, ep is kept when it divides the new dp and the experts", () => {
    const m = mapPlan(plan({ dp: 72, ep: 8, globalBatch: 144, experts: 256 }), CM384);
    // dp = 384; ep 8 divides 384 and 256 → 8; globalBatch = 144 × 384 / 72 = 768 (2 per accelerator).
    expect(m.to).toMatchObject({ dp: 384, ep: 8, globalBatch: 768 });
    expect(m.line).toBe("cloudmatrix384: dp 72→384, globalBatch 144→768 (same 2 sequences per accelerator)");
    // 160 experts (DeepSeek-V2), ep 32 on CM384 → NVL72: divisors of gcd(72, 160) = 8 → 8.
    expect(mapPlan(plan({ dp: 384, ep: 32, globalBatch: 384, experts: 160 }), NVL72).to.ep).toBe(8);
    // A dense model keeps ep 1.
    expect(mapPlan(plan({ dp: 384, globalBatch: 384 }), NVL72).to.ep).toBe(1);
  });

  it("TP larger than an NVL72 tray shrinks to the largest divisor of the tray; whole micro-steps may force a larger batch", () => {
    const m = mapPlan(plan({ dp: 48, tp: 8, globalBatch: 96 }), NVL72);
    // tp 8 does not divide 4 → 4; dp = 72 / 4 = 18; globalBatch = 96 × 72 / 384 = 18 = 1 × dp: kept per accelerator (0.25).
    expect(m.to).toMatchObject({ dp: 18, tp: 4, globalBatch: 18 });
    expect(m.sequencesPerAccelerator).toEqual({ from: 0.25, to: 0.25 });
    // With globalBatch 48 the same scaling gives 48 × 72 / 384 = 9 sequences, not a multiple of dp × microBatch = 18:
    // rounded up to 18, twice the sequences per accelerator, and the line says why.
    const r = mapPlan(plan({ dp: 48, tp: 8, globalBatch: 48 }), NVL72);
    expect(r.to.globalBatch).toBe(18);
    expect(r.line).toBe("nvl72: tp 8→4 (TP stays inside a node: 4 per node), dp 48→18, globalBatch 48→18 (sequences per accelerator 0.125→0.25: globalBatch must be a multiple of dp × microBatch = 18)");
    // tp 2 fits both nodes and is kept: dp = 72 / 2 = 36.
    expect(mapPlan(plan({ dp: 4, tp: 2, globalBatch: 8 }), NVL72).to).toMatchObject({ tp: 2, dp: 36, globalBatch: 72 });
  });

  it("the default scenario loads on both presets at full size, DP over every accelerator", () => {
    const src = loadSource({});
    for (const [p, n] of [["cloudmatrix384", 384], ["nvl72", 72]] as const) {
      const prep = preparePreset(src, p, "sim");
      expect("loaded" in prep && prep.loaded.topology.endpoints.length).toBe(n);
      expect(prep.mapping.to).toMatchObject({ dp: n, tp: 1, ep: 1, globalBatch: n });
    }
  });
});

describe("compare: compare.json against the presets' own reports", () => {
  const dir = mkdtempSync(join(tmpdir(), "supernode-compare-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Llama 3 8B cut to 2 layers with a 1M-token vocabulary, ZeRO-0: 2 × 1M × 4096 embedding + head
  // and 2 × 218M layer parameters ≈ 8.6 B, × 18 bytes (BF16 weight, FP32 gradient, 12 B of Adam) ≈ 155 GB
  // per GPU: fits NVL72's 186 GB, not CM384's 128 GB, so one row runs and one says why it did not.
  const raw = {
    name: "compare unit test", topology: { preset: "nvl72" },
    workload: { kind: "training", model: { base: "llama3-8b", layers: 2, vocab: 1_000_000 }, parallel: { dp: 72 }, seqLen: 1024, globalBatch: 72, steps: 2, zero: 0 },
    engine: "sim", seed: 1,
  };

  it("the row that ran equals its report's figures; the row that did not fit HBM says so with the numbers", async () => {
    const lines: string[] = [];
    const result = await runCompare({ raw, presets: ["cloudmatrix384", "nvl72"], engine: "sim", out: dir, log: silentLogger }, (l) => lines.push(l));
    const json = JSON.parse(readFileSync(join(dir, "compare.json"), "utf8")) as CompareResult;
    expect(json).toEqual(JSON.parse(JSON.stringify(result)));
    const [cm, nv] = json.rows as [CompareRow, CompareRow];

    expect(cm.status).toBe("not run");
    expect(cm.error).toMatch(/^workload\.parallel: needs 1\d\d\.\d GB per NPU, cloudmatrix384 has 128\.0 GB/);
    expect(cm.stepMs).toBeUndefined();
    // Its hardware still comes from the preset: 384 × 752 TF = 288.768 PF, 384 × 128 GB = 49.152 TB, 14 UB links × 28 GB/s.
    expect(cm).toMatchObject({ accelerators: 384, peakPflopsBf16: 288.768, hbmTB: 49.152, scaleUpGBpsPerAccelerator: 392 });
    expect(lines.some((l) => l.includes("cloudmatrix384") && l.includes("not run: workload.parallel: needs"))).toBe(true);
    expect(json.mappings.map((m) => m.line)).toEqual([
      "cloudmatrix384: dp 72→384, globalBatch 72→384 (same 1 sequence per accelerator)",
      "nvl72: unchanged: dp 72 × tp 1 × ep 1, globalBatch 72 (same 1 sequence per accelerator)",
    ]);

    const rep = JSON.parse(readFileSync(join(dir, "nvl72", "report.json"), "utf8")) as Report;
    const steps = rep.steps!, t = rep.training!;
    expect(nv.status).toBe("ok");
    expect(nv.accelerators).toBe(rep.topology.npus);
    expect(nv.peakPflopsBf16).toBe(rep.topology.peakPflopsBf16);
    expect(nv.scaleUpGBpsPerAccelerator).toBe(rep.topology.injectionGBpsPerNpu);
    expect(nv.hbmTB).toBeCloseTo((PRESETS.nvl72.hbmGB * 72) / 1000, 9); // 186 GB × 72 = 13.392 TB
    const mean = (f: (s: (typeof steps)[number]) => number) => steps.reduce((a, s) => a + f(s), 0) / steps.length;
    expect(nv.stepMs).toBeCloseTo(mean((s) => s.virtualTimeNs) / 1e6, 9);
    expect(nv.tokensPerSec).toBeCloseTo(t.totals.tokensPerSec, 0); // the report rounds to 0.1 token/s
    expect(nv.tokensPerSecPerAccelerator).toBeCloseTo(nv.tokensPerSec! / nv.accelerators, 9);
    expect(nv.tokensPerSecPerAccelerator).toBeCloseTo(mean((s) => s.tokensPerSecPerNpu), 1); // steps are identical in a dense DP run
    expect(nv.mfuPct).toBeCloseTo(100 * t.totals.mfu, 1); // the report rounds the fraction to 4 digits
    const comm = steps.reduce((a, s) => a + s.commNs.tp + s.commNs.ep + s.commNs.dp, 0);
    expect(nv.commSharePct).toBeCloseTo((100 * comm) / t.totals.virtualTimeNs, 9);
    expect(nv.exposedCommMs).toBeCloseTo(mean((s) => s.exposedCommNs) / 1e6, 9);
    // The breakdown adds up to the step: compute + exposed TP + EP + DP + idle (idle = step − compute − exposed).
    const b = nv.breakdownMs!;
    expect(b.compute + b.tp + b.ep + b.dp + b.idle).toBeCloseTo(nv.stepMs!, 3);
    expect(b.compute).toBeGreaterThan(0);
    expect(b.dp).toBeGreaterThan(0);

    const html = readFileSync(join(dir, "compare.html"), "utf8");
    expect(html).toContain('<svg id="breakdown"');
    expect(html).not.toMatch(/<script|<link|src=|href=/); // self-contained: nothing loaded from elsewhere
  });

  it("refuses a preset named twice (both would write one report) and an empty list, before running anything", async () => {
    const o = { raw, engine: "sim", out: dir, log: silentLogger };
    await expect(runCompare({ ...o, presets: ["nvl72", "nvl72"] }, () => {})).rejects.toThrow("--presets: nvl72 is named twice");
    await expect(runCompare({ ...o, presets: [] }, () => {})).rejects.toThrow("--presets: name at least one preset");
  });
});

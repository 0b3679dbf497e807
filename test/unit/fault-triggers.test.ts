import { describe, expect, it } from "vitest";
import type { Report } from "../../services/coordinator/index.js";
import { checkRun } from "../../services/coordinator/check.js";
import { runSim, singleSwitch } from "../helpers/run.js";
import { nsOf, runTraced, type ChromeTrace } from "../helpers/trace.js";

/**
 * Triggers inside an op (docs/chaos.md §3) on the sim engine: an npu-crash or npu-hang `afterNs` into
 * a step or op, or where the NPU's program opens a span containing `phase`, strikes at the NPU's first
 * command at or after that point; the op fails there, and the time lost is the failed attempt up to
 * the strike plus the policy's detect + restart. Collective ops are retried like steps. Parameters and
 * results always end equal to the fault-free run's.
 */
const DENSE = { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 1024, steps: 3, zero: 0, overlap: false, bucketLayers: 4, recompute: "full", gradBytes: 2, algorithms: { dp: "ring" } };
const RECOVERY = { policy: "restart", detectMs: 2_000, restartMs: 10_000 }; // 12 s = 1.2e10 ns per failure
const train = (extra: Record<string, unknown> = {}) => ({ topology: singleSwitch(8), workload: DENSE, engine: "sim", seed: 3, ...extra });

/** The virtual start of op index `index`'s first attempt, from the history. */
const firstAttemptNs = (r: Report, index: number): number =>
  (r.history!.find((e) => e.type === "begin" && e.index === index && (e as { attempt: number }).attempt === 0) as { virtualNs: number }).virtualNs;

/** Start (ns) of the first slice named `name` on the track of actor `actor` inside [fromNs, toNs). */
function sliceStartNs(trace: ChromeTrace, actor: string, name: string, fromNs: number, toNs: number): number {
  const tids = new Set(trace.traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name" && String(e.args?.name ?? "").startsWith(actor)).map((e) => `${e.pid}/${e.tid}`));
  const hit = trace.traceEvents
    .filter((e) => e.ph === "X" && e.name === name && tids.has(`${e.pid}/${e.tid}`) && nsOf(e.ts!) >= fromNs && nsOf(e.ts!) < toNs)
    .map((e) => nsOf(e.ts!)).sort((a, b) => a - b);
  expect(hit.length, `a slice "${name}" of ${actor} in [${fromNs}, ${toNs})`).toBeGreaterThan(0);
  return hit[0]!;
}

describe("npu-crash and npu-hang inside a step", () => {
  it("afterNs: strikes at the NPU's first command at or after it; lost = the attempt up to it + detect + restart; same parameters", async () => {
    const clean = await runSim(train());
    const hurt = await runSim(train({ faults: [{ kind: "npu-crash", target: "npu5", at: { step: 1, afterNs: 20_000_000 } }], recovery: RECOVERY }));
    expect(hurt.status).toBe("recovered");
    expect(hurt.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(hurt.steps!.map((s) => s.virtualTimeNs)).toEqual(clean.steps!.map((s) => s.virtualTimeNs));
    const start = firstAttemptNs(hurt, 1);
    const f = hurt.faults![0]!;
    const into = f.injectedAt!.virtualNs - start;
    // At or after 20 ms into the step, and before the step's end (103 ms here): the next command boundary.
    expect(into).toBeGreaterThanOrEqual(20e6);
    expect(into).toBeLessThan(clean.steps![1]!.virtualTimeNs);
    // Detected detectMs after the strike; the retry begins detect + restart after it.
    expect(f.detectedAt!.virtualNs - f.injectedAt!.virtualNs).toBe(2e9);
    expect(f.lostVirtualNs).toBe(12e9);
    expect(firstAttemptNs(hurt, 2) - start).toBeCloseTo(into + 12e9 + clean.steps![1]!.virtualTimeNs, 0);
    // The step's loss counts the failed attempt's partial time too: (strike − start) + 12 s.
    expect(hurt.steps![1]!.lostVirtualNs).toBeCloseTo(into + 12e9, 0);
    expect(hurt.lostVirtualNs).toBeCloseTo(into + 12e9, 0);
    expect(checkRun(hurt, clean).every((c) => c.ok)).toBe(true);
  });

  it("phase: strikes where the NPU's program opens the span (its optimizer step, as the trace of the fault-free run places it)", async () => {
    const { report: clean, trace } = await runTraced(train({ outputs: { trace: { detail: "phases" } } }));
    const hurt = await runSim(train({ faults: [{ kind: "npu-hang", target: "npu5", at: { step: 1, phase: "optimizer" } }], recovery: RECOVERY }));
    expect(hurt.status).toBe("recovered");
    expect(hurt.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    const s1 = clean.steps![0]!.virtualTimeNs; // step 1 of the fault-free run starts where step 0 ended
    const optimizerNs = sliceStartNs(trace, "npu5", "optimizer", s1, s1 + clean.steps![1]!.virtualTimeNs);
    const f = hurt.faults![0]!;
    // The hurt run's step 1 begins where the clean one's does (nothing failed before it): the strike is at the same virtual time.
    expect(firstAttemptNs(hurt, 1)).toBe(s1);
    expect(Math.round(f.injectedAt!.virtualNs)).toBe(optimizerNs); // the trace keeps whole ns
    expect(f.recovery).toMatch(/^restart: npu5 restarted as incarnation 1/);
  });

  it("a trigger that never comes (afterNs past the step's end): nothing happens, and the row says why", async () => {
    const clean = await runSim(train());
    const r = await runSim(train({ faults: [{ kind: "npu-crash", target: "npu2", at: { step: 2, afterNs: 3_600_000_000_000 } }], recovery: RECOVERY }));
    expect(r.status).toBe("ok");
    expect(r.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(r.faults![0]!.injectedAt).toBeNull();
    expect(r.faults![0]!.recovery).toMatch(/^none: its trigger \(3600000000000 ns after the op's start\) never came in op \d+/);
  });
});

describe("crashes in collective ops", () => {
  const sweep = { kind: "collective", collective: "all-reduce", algorithm: "ring", sizes: ["64KiB", "1MiB", "4MiB"] };
  const coll = (extra: Record<string, unknown> = {}) => ({ topology: singleSwitch(8), workload: sweep, engine: "sim", seed: 3, ...extra });

  it("a crash at an op, or inside it, is retried like a step: every result verified, the retried op as long as the fault-free one", async () => {
    const clean = await runSim(coll());
    for (const at of [{ op: 1 }, { op: 1, afterNs: 2_000 }]) {
      const hurt = await runSim(coll({ faults: [{ kind: "npu-crash", target: "npu3", at }], recovery: RECOVERY }));
      expect(hurt.status, JSON.stringify(at)).toBe("recovered");
      expect(hurt.results.every((x) => x.verified)).toBe(true);
      expect(hurt.results.map((x) => x.virtualTimeNs)).toEqual(clean.results.map((x) => x.virtualTimeNs));
      const f = hurt.faults![0]!;
      const into = f.injectedAt!.virtualNs - clean.results[1]!.startNs;
      expect(into).toBeGreaterThanOrEqual("afterNs" in at ? 2_000 : 0);
      // Op 1's committed attempt starts after the loss: its start = op 0's end + (strike − op start) + 12 s.
      expect(hurt.results[1]!.startNs).toBeCloseTo(clean.results[1]!.startNs + into + 12e9, 0);
      expect(hurt.results[2]!.startNs - hurt.results[1]!.endNs).toBe(0);
      expect(hurt.lostVirtualNs).toBeCloseTo(into + 12e9, 0);
      expect(checkRun(hurt, clean).every((c) => c.ok), JSON.stringify(checkRun(hurt, clean).filter((c) => !c.ok))).toBe(true);
    }
  });
});

describe("trigger declarations", () => {
  const bad = (fault: Record<string, unknown>) => runSim(train({ faults: [fault], recovery: RECOVERY }));
  it("refuses what a trigger cannot be, naming the field", async () => {
    await expect(bad({ kind: "link-degrade", target: "npu3->sw", bandwidthFactor: 0.5, at: { step: 1, afterNs: 5 } }))
      .rejects.toThrow(/faults\[0\]\.at\.afterNs: only npu-crash and npu-hang strike inside an op/);
    await expect(bad({ kind: "npu-crash", target: "npu3", at: { step: 1, afterNs: 5, phase: "optimizer" } }))
      .rejects.toThrow(/faults\[0\]\.at: give one of afterNs and phase/);
    await expect(bad({ kind: "npu-crash", target: "npu3", at: { step: 1, phase: "" } }))
      .rejects.toThrow(/faults\[0\]\.at\.phase: a text of ≤ 64 characters/);
    await expect(bad({ kind: "npu-crash", target: "npu3", at: { wallMs: 100, step: 1 } }))
      .rejects.toThrow(/faults\[0\]\.at\.step: at: \{ wallMs: x \} stands alone/);
    await expect(bad({ kind: "npu-crash", target: "npu3", at: { afterNs: 100 } }))
      .rejects.toThrow(/faults\[0\]\.at: must name a step, an op or a collective/);
    await expect(bad({ kind: "npu-crash", target: "npu3", at: { virtualNs: 100, afterNs: 5 } }))
      .rejects.toThrow(/faults\[0\]\.at\.afterNs: at: \{ virtualNs: x \} stands alone/);
    await expect(bad({ kind: "halt", target: "npu3", at: { step: 1 } }))
      .rejects.toThrow(/faults\[0\]\.kind: unknown fault kind "halt"/);
  });
});

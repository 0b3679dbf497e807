import { describe, expect, it } from "vitest";
import { runSim, singleSwitch } from "../helpers/run.js";

/**
 * Process faults and recovery on the sim engine (docs/chaos.md §7): an NPU crashed or hung at the start
 * of a step stops answering; the step stalls (nothing left to deliver), is aborted, the NPU restarted
 * as a new incarnation, the epoch moved on, and the step retried from the committed parameters. The
 * parameters must end bitwise equal to the fault-free run's; the lost virtual time is the policy's
 * detect + restart time; every step is committed once.
 */
const DENSE = { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 1024, steps: 4, zero: 0, overlap: false, bucketLayers: 4, recompute: "full", gradBytes: 2, algorithms: { dp: "ring" } };
const train = (extra: Record<string, unknown> = {}) => ({ topology: singleSwitch(8), workload: DENSE, engine: "sim", seed: 3, ...extra });

describe("npu-crash and npu-hang with recovery: restart", () => {
  it("a crash at step 1 is detected, the NPU restarted and the step retried: same parameters as the fault-free run, lost = detect + restart", async () => {
    const recovery = { policy: "restart", detectMs: 2_000, restartMs: 10_000 };
    const clean = await runSim(train());
    const hurt = await runSim(train({ faults: [{ kind: "npu-crash", target: "npu5", at: { step: 1 } }], recovery }));
    expect(clean.status).toBe("ok");
    expect(hurt.status).toBe("recovered");
    // Bitwise: the retry starts from the committed parameters of step 0 with the same data.
    expect(hurt.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    // The committed attempt takes as long as the fault-free step (the fabric and compute are the same).
    expect(hurt.steps!.map((s) => s.virtualTimeNs)).toEqual(clean.steps!.map((s) => s.virtualTimeNs));
    // Lost: detectMs + restartMs = 12 s = 1.2e10 ns, before step 1's committed attempt.
    expect(hurt.steps![1]!.lostVirtualNs).toBe(12e9);
    const f = hurt.faults![0]!;
    expect(f).toMatchObject({ kind: "npu-crash", target: "npu5", lostVirtualNs: 12e9 });
    expect(f.detectedAt!.virtualNs - f.injectedAt!.virtualNs).toBe(2e9);
    expect(f.recoveredAt!.virtualNs - f.injectedAt!.virtualNs).toBe(12e9);
    expect(f.recovery).toMatch(/^restart: npu5 restarted as incarnation 1; retried at epoch 2/);
    // goodput = useful / (useful + lost): Σ step times / (Σ step times + 12 s).
    const useful = clean.steps!.reduce((s, x) => s + x.virtualTimeNs, 0);
    expect(hurt.goodput).toBeCloseTo(useful / (useful + 12e9), 6);
    expect(hurt.mttrVirtualNs).toBe(12e9);
    // History: each step committed exactly once, in order; the retry runs at a higher epoch.
    const commits = hurt.history!.filter((e) => e.type === "commit");
    expect(commits.map((c) => (c as { step: number }).step)).toEqual([0, 1, 2, 3]);
    expect(commits.map((c) => c.epoch)).toEqual([1, 2, 2, 2]);
    expect(hurt.history!.filter((e) => e.type === "abort")).toHaveLength(1);
    console.log(`npu-crash at step 1: goodput ${hurt.goodput}, history ${hurt.history!.map((e) => e.type).join(" ")}`);
  });

  it("a hang is recovered the same way; two faults in one run each cost detect + restart", async () => {
    const faults = [{ kind: "npu-hang", target: "npu2", at: { step: 0 } }, { kind: "npu-crash", target: "npu7", at: { step: 3 } }];
    const clean = await runSim(train());
    const hurt = await runSim(train({ faults }));
    expect(hurt.status).toBe("recovered");
    expect(hurt.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    // Defaults: detectMs 5 s + restartMs 25 s = 30 s per failure (hardware.md §7.1: process-level ≈ 30 s).
    expect(hurt.faults!.map((f) => f.lostVirtualNs)).toEqual([30e9, 30e9]);
    expect(hurt.steps!.map((s) => s.lostVirtualNs)).toEqual([30e9, undefined, undefined, 30e9]);
  });

  it("a restarted NPU gets the wire faults still active again: its degraded link stays degraded in the retried step", async () => {
    const degrade = { kind: "link-degrade", target: "npu3->sw", bandwidthFactor: 0.5, at: { step: 1 }, duration: { steps: 2 } };
    const only = await runSim(train({ faults: [degrade] }));
    const both = await runSim(train({ faults: [degrade, { kind: "npu-crash", target: "npu3", at: { step: 2 } }] }));
    expect(both.status).toBe("recovered");
    // Step 2's committed attempt runs on the restarted npu3, whose egress port must still be at × 0.5:
    // the same time as in the run without the crash (and slower than the fault-free step 0).
    expect(both.steps!.map((s) => s.virtualTimeNs)).toEqual(only.steps!.map((s) => s.virtualTimeNs));
    expect(both.steps![2]!.virtualTimeNs).toBeGreaterThan(both.steps![0]!.virtualTimeNs);
    expect(both.steps!.map((s) => s.paramDigest)).toEqual(only.steps!.map((s) => s.paramDigest));
    expect(both.rejected.total).toBe(0);
  });

  it("a partition cuts its step's first attempts: each stalls, is aborted and retried; healed, the step commits with the fault-free parameters", async () => {
    const clean = await runSim(train());
    const cut = (attempts: number) => runSim(train({ faults: [{ kind: "partition", target: "npu0,npu1,npu2,npu3", at: { step: 1 }, attempts }], recovery: { policy: "restart" } }));
    for (const attempts of [1, 2]) {
      const r = await cut(attempts);
      expect(r.status).toBe("recovered");
      expect(r.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
      expect(r.history!.filter((e) => e.type === "abort")).toHaveLength(attempts);
      // Each cut attempt costs detect + restart (30 s by default); nothing is restarted.
      expect(r.steps![1]!.lostVirtualNs).toBe(attempts * 30e9);
      expect(r.faults![0]!.recovery).toMatch(/^restart: nothing to restart; retried at epoch 2/);
      expect(r.faults![0]!.detectedAt).not.toBeNull();
    }
    // Longer than recovery.maxRetries (3) allows: the run ends stalled, saying why, never hangs.
    const r = await cut(4);
    expect(r.status).toBe("stalled");
    expect(r.stall).toMatch(/gave up after 4 attempts \(recovery\.maxRetries 3\)/);
    expect(r.steps!.slice(0, 1).map((s) => s.paramDigest)).toEqual(clean.steps!.slice(0, 1).map((s) => s.paramDigest));
  });

  it("a bad process fault is refused at load, naming the field", async () => {
    await expect(runSim(train({ faults: [{ kind: "npu-crash", target: "npu5", at: { step: 1 } }], recovery: { policy: "mend" } })))
      .rejects.toThrow(/recovery\.policy/);
    await expect(runSim(train({ faults: [{ kind: "npu-crash", target: "npu5", at: { step: 1 }, duration: { steps: 1 } }] })))
      .rejects.toThrow(/faults\[0\]\.duration: npu-crash lasts until recovery: it takes no duration/);
    await expect(runSim(train({ faults: [{ kind: "npu-crash", target: "sw", at: { step: 1 } }] })))
      .rejects.toThrow(/faults\[0\]\.target: sw is a switch; npu-crash takes an NPU/);
  });
});

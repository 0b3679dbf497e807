import { describe, expect, it } from "vitest";
import type { Report } from "../../services/coordinator/index.js";
import { checkRun } from "../../services/coordinator/check.js";
import { loadScenario } from "../../shared/config/index.js";
import { runSim, singleSwitch } from "../helpers/run.js";

/**
 * at: { virtualNs: x } (docs/chaos.md §7.3) on the sim engine: a crash or hang strikes at virtual time x
 * of the run, inside whatever op runs then — the same strike as at: { step: k, afterNs: x − step k's
 * start } — and a wire fault starts with the first op that begins at or after x (the data path changes
 * at op starts).
 */
const DENSE = { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 1024, steps: 4, zero: 0, overlap: false, bucketLayers: 4, recompute: "full", gradBytes: 2, algorithms: { dp: "ring" } };
const RECOVERY = { policy: "restart", detectMs: 2_000, restartMs: 10_000 };
const train = (extra: Record<string, unknown> = {}) => ({ topology: singleSwitch(8), workload: DENSE, engine: "sim", seed: 3, ...extra });
const stepStarts = (r: Report): number[] => r.steps!.reduce<number[]>((acc, s) => [...acc, acc[acc.length - 1]! + s.virtualTimeNs], [0]);

describe("at: { virtualNs }", () => {
  it("a crash at a virtual time inside step 2 strikes where at: { step: 2, afterNs } strikes: same injection, loss and parameters", async () => {
    const clean = await runSim(train({ recovery: RECOVERY }));
    const starts = stepStarts(clean); // fault-free: step k starts at Σ of the steps before it
    const x = Math.round(starts[2]! + 0.4 * clean.steps![2]!.virtualTimeNs);
    const byTime = await runSim(train({ faults: [{ kind: "npu-crash", target: "npu5", at: { virtualNs: x } }], recovery: RECOVERY }));
    const byStep = await runSim(train({ faults: [{ kind: "npu-crash", target: "npu5", at: { step: 2, afterNs: x - starts[2]! } }], recovery: RECOVERY }));
    expect(byTime.status).toBe("recovered");
    const f = byTime.faults![0]!;
    expect(f.injectedAt!.virtualNs).toBe(byStep.faults![0]!.injectedAt!.virtualNs);
    expect(f.injectedAt!.virtualNs).toBeGreaterThanOrEqual(x); // the first command at or after x
    expect(f.injectedAt!.virtualNs - x).toBeLessThan(clean.steps![2]!.virtualTimeNs * 0.6);
    expect(byTime.steps!.map((s) => s.lostVirtualNs)).toEqual(byStep.steps!.map((s) => s.lostVirtualNs));
    expect(byTime.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(f.at).toEqual({ virtualNs: x });
    expect(checkRun(byTime, clean).filter((c) => !c.ok)).toEqual([]);
  });

  it("a link-degrade at a virtual time inside step 1 starts with step 2, the first op that begins after it", async () => {
    const clean = await runSim(train());
    const starts = stepStarts(clean);
    const degrade = { kind: "link-degrade", target: "npu3->sw", bandwidthFactor: 0.5, duration: { ops: 1 } };
    const byTime = await runSim(train({ faults: [{ ...degrade, at: { virtualNs: starts[1]! + 1 } }] }));
    const byStep = await runSim(train({ faults: [{ ...degrade, at: { op: 2 } }] }));
    expect(byTime.steps!.map((s) => s.virtualTimeNs)).toEqual(byStep.steps!.map((s) => s.virtualTimeNs));
    expect(byTime.steps![2]!.virtualTimeNs).toBeGreaterThan(clean.steps![2]!.virtualTimeNs);
    expect(byTime.steps![3]!.virtualTimeNs).toBe(clean.steps![3]!.virtualTimeNs); // duration: 1 op
    expect(byTime.faults![0]!.injectedAt!.virtualNs).toBe(starts[2]);
  });

  it("a time past the run's end never comes, and the row says so; a server loss and extra keys are refused, naming the field", async () => {
    const r = await runSim(train({ faults: [{ kind: "npu-hang", target: "npu1", at: { virtualNs: 3e12 } }], recovery: RECOVERY }));
    expect(r.status).toBe("ok");
    expect(r.faults![0]!.recovery).toBe("none: its trigger (virtual time 3000000000000 ns) never came: the run ended first");
    const load = (at: unknown, kind = "npu-crash", target = "npu1") => loadScenario({ raw: train({ faults: [{ kind, target, at }], recovery: RECOVERY }) });
    expect(() => load({ virtualNs: 5, step: 1 })).toThrow(/^faults\[0\]\.at\.step: at: \{ virtualNs: x \} stands alone/);
    expect(() => load({ virtualNs: -1 })).toThrow(/^faults\[0\]\.at\.virtualNs: virtual ns of the run, in \[0, /);
    expect(() => load({ virtualNs: 5 }, "nats-server-loss", "nats-1")).toThrow(/^faults\[0\]\.at\.virtualNs: a server loss is the coordinator's/);
  });
});

describe("at: { collective, index }", () => {
  const sweep = (extra: Record<string, unknown> = {}) => ({
    topology: singleSwitch(8), engine: "sim", seed: 3,
    workload: [
      { kind: "collective", collective: "all-reduce", algorithm: "ring", ranks: "all", sizes: ["1MiB", "4MiB"] },
      { kind: "collective", collective: "all-to-all", ranks: "all", sizes: ["1MiB", "2MiB"] },
    ], ...extra,
  });
  it("names the index-th op of that collective in the run: a crash at all-to-all 1 is the crash at op 3, to the ns", async () => {
    const byName = await runSim(sweep({ faults: [{ kind: "npu-crash", target: "npu3", at: { collective: "all-to-all", index: 1, afterNs: 1_000 } }], recovery: RECOVERY }));
    const byOp = await runSim(sweep({ faults: [{ kind: "npu-crash", target: "npu3", at: { op: 3, afterNs: 1_000 } }], recovery: RECOVERY }));
    expect(byName.status).toBe("recovered");
    expect(byName.faults![0]!.injectedAt).toBeDefined();
    expect(byName.faults![0]!.injectedAt!.virtualNs).toBe(byOp.faults![0]!.injectedAt!.virtualNs);
    expect(byName.results.map((r) => r.startNs)).toEqual(byOp.results.map((r) => r.startNs));
    expect(byName.faults![0]!.op).toBe(byOp.faults![0]!.op);
    // A link-degrade at all-reduce 0 for one op: only op 0 is slower.
    const clean = await runSim(sweep());
    const slow = await runSim(sweep({ faults: [{ kind: "link-degrade", target: "npu3->sw", bandwidthFactor: 0.5, at: { collective: "all-reduce" }, duration: { ops: 1 } }] }));
    expect(slow.results[0]!.virtualTimeNs).toBeGreaterThan(clean.results[0]!.virtualTimeNs);
    expect(slow.results.slice(1).map((r) => r.virtualTimeNs)).toEqual(clean.results.slice(1).map((r) => r.virtualTimeNs));
  });

  it("refuses a collective the run does not have, an index past its ops, and an index alone, naming the field", () => {
    const load = (at: unknown) => loadScenario({ raw: sweep({ faults: [{ kind: "npu-crash", target: "npu1", at }], recovery: RECOVERY }) });
    expect(() => load({ collective: "broadcast" })).toThrow(/^faults\[0\]\.at\.collective: the run has no broadcast op \(its ops: all-reduce ×2, all-to-all ×2\)/);
    expect(() => load({ collective: "all-to-all", index: 2 })).toThrow(/^faults\[0\]\.at\.index: all-to-all op 2, but the run has 2 \(0 … 1\)/);
    expect(() => load({ index: 1 })).toThrow(/^faults\[0\]\.at\.index: counts the ops of one collective/);
    expect(() => load({ collective: "all-reduce", op: 1 })).toThrow(/^faults\[0\]\.at: give one of step, op and collective/);
    // In a training run the all-reduce is inside the step: the error says how to reach it.
    expect(() => loadScenario({ raw: train({ faults: [{ kind: "npu-crash", target: "npu1", at: { collective: "all-reduce" } }], recovery: RECOVERY }) }))
      .toThrow(/the run has no all-reduce op \(its ops: training-step ×4; inside a training step, use at: \{ step: k, phase: "all-reduce" \}\)/);
  });
});

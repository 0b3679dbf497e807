import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { checkRun } from "../../services/coordinator/index.js";
import { runSim, singleSwitch } from "../helpers/run.js";

/**
 * recovery: { policy: spare } on the sim engine (docs/chaos.md §7.4): a failed member NPU is replaced
 * by a warm standby NPU no workload uses, which plays its ranks from then on; the failed one is retired.
 * The data of a rank is the rank's (its samples, its shard of the parameters from the op-start), so the
 * parameters end bit for bit equal to the fault-free run's wherever the spare sits.
 */
const DENSE = { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 6 }, globalBatch: 6, seqLen: 1024, steps: 4, zero: 0, overlap: false, bucketLayers: 4, recompute: "full", gradBytes: 2, algorithms: { dp: "ring" } };
// dp 6 on 8 NPUs: the 2 left over stand by. The fault-free run declares the policy too (it allows them).
const train = (extra: Record<string, unknown> = {}) => ({ topology: singleSwitch(8), workload: DENSE, engine: "sim", seed: 3, recovery: { policy: "spare" }, ...extra });

describe("recovery: spare", () => {
  it("a crashed member is replaced by the first spare: same parameters, same step times (one switch: every NPU alike), lost = detect + reformMs", async () => {
    const clean = await runSim(train());
    const recovery = { policy: "spare", detectMs: 2_000, reformMs: 3_000 };
    const hurt = await runSim(train({ faults: [{ kind: "npu-crash", target: "npu2", at: { step: 1 } }], recovery }));
    expect(hurt.status).toBe("recovered");
    expect(hurt.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(hurt.steps!.map((s) => s.virtualTimeNs)).toEqual(clean.steps!.map((s) => s.virtualTimeNs));
    // detectMs + reformMs = 2 s + 3 s = 5e9 ns (no restart: the spare was running all along).
    expect(hurt.steps![1]!.lostVirtualNs).toBe(5e9);
    const f = hurt.faults![0]!;
    expect(f.recovery).toMatch(/^spare: npu6 took npu2's place, npu2 retired \(its deliveries stopped\); retried at epoch 2/);
    expect(f.lostVirtualNs).toBe(5e9);
    // The retry and every later step run on npu0, npu1, npu6, npu3, npu4, npu5.
    const epochs = hurt.history!.filter((e) => e.type === "epoch");
    expect(epochs.map((e) => (e as { members: string[] }).members)).toEqual([["npu0", "npu1", "npu6", "npu3", "npu4", "npu5"]]);
    expect(hurt.history!.filter((e) => e.type === "membership")).toMatchObject([{ policy: "spare", removed: ["npu2"], added: ["npu6"] }]);
    const findings = checkRun(hurt, clean);
    expect(findings.filter((x) => !x.ok)).toEqual([]);
  });

  it("a spare that fails in turn is replaced by the next; with none left a failed member is restarted", async () => {
    const clean = await runSim(train());
    const faults = [
      { kind: "npu-crash", target: "npu2", at: { step: 0 } },
      { kind: "npu-hang", target: "npu6", at: { step: 1 } }, // npu6 plays npu2's rank by then
      { kind: "npu-crash", target: "npu0", at: { step: 3 } },
    ];
    const hurt = await runSim(train({ faults, recovery: { policy: "spare" } }));
    expect(hurt.status).toBe("recovered");
    expect(hurt.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(hurt.faults!.map((f) => f.recovery)).toEqual([
      "spare: npu6 took npu2's place, npu2 retired (its deliveries stopped); retried at epoch 2 as op 2",
      "spare: npu7 took npu6's place, npu6 retired (its deliveries stopped); retried at epoch 3 as op 6",
      "restart: no spare left (all 2 in use); npu0 restarted as incarnation 1; retried at epoch 4 as op 14",
    ]);
    // Defaults: detect 5 s + spare 5 s = 10 s (ReviveMoE's sub-10 s, hardware.md §7.1); restart 5 s + 25 s = 30 s.
    expect(hurt.faults!.map((f) => f.lostVirtualNs)).toEqual([10e9, 10e9, 30e9]);
    expect(checkRun(hurt, clean).filter((x) => !x.ok)).toEqual([]);
  });

  it("spares are checked at load: an NPU the run uses, an unknown name, none left, or spares under another policy", () => {
    const load = (recovery: Record<string, unknown>, workload: Record<string, unknown> = DENSE) =>
      loadScenario({ raw: train({ workload, faults: [{ kind: "npu-crash", target: "npu2", at: { step: 1 } }], recovery }) });
    expect(load({ policy: "spare" }).faultPlan!.recovery.spares).toEqual(["npu6", "npu7"]);
    expect(load({ policy: "spare", spares: 1 }).faultPlan!.recovery.spares).toEqual(["npu7"]);
    expect(() => load({ policy: "spare", spares: ["npu7", "npu3"] })).toThrow(/^recovery\.spares\[1\]: npu3 is rank 3 of the run's ops; a spare must be an NPU no workload uses \(the run's workloads use the first 6 of the 8 NPUs/);
    expect(() => load({ policy: "spare", spares: ["npu9"] })).toThrow(/^recovery\.spares\[0\]: npu9 is not an NPU of this topology/);
    expect(() => load({ policy: "spare", spares: 3 })).toThrow(/^recovery\.spares: 3 spares, but the run's workloads use the first 6 of the 8 NPUs \(npu0 … npu5\): 2 left \(npu6, npu7\)/);
    expect(() => load({ policy: "spare" }, { ...DENSE, parallel: { dp: 8 }, globalBatch: 8 })).toThrow(/^workload\.parallel: dp × tp × pp = 8 × 1 × 1 = 8, but the topology has 8 NPUs: recovery policy spare needs some left over/);
    expect(() => load({ policy: "restart" })).toThrow(/^workload\.parallel: .* with recovery: \{ policy: spare \} the rest stand by/);
    expect(() => load({ policy: "restart", spares: 1 }, { ...DENSE, parallel: { dp: 8 }, globalBatch: 8 })).toThrow(/^recovery\.spares: only for policy spare/);
  });
});

import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { checkRun, FaultInjector, History, runScenario } from "../../services/coordinator/index.js";
import { shrinksOf } from "../../services/coordinator/shrink.js";
import { runTraining, trainingSpec } from "../../services/coordinator/training-run.js";
import { NO_PROGRESS } from "../../services/coordinator/progress.js";
import { flatten, train, type RefConfig } from "../reference/trainer.js";
import { runSim, simEngine, singleSwitch } from "../helpers/run.js";

/**
 * recovery: { policy: shrink } (docs/chaos.md §7.4): the model replicas that lost a member leave and the
 * survivors go on at a lower DP degree with more micro-steps, so every step still sees every sample of
 * the global batch. The gradient is then summed in another order, so the parameters are not the
 * fault-free run's bit for bit: they must equal the independent reference trainer's (which knows
 * nothing of DP degrees or faults) to the relative 1e-9 of docs/training.md §1.5.
 */
const DENSE = { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 8 }, globalBatch: 56, seqLen: 1024, steps: 4, zero: 0, overlap: false, bucketLayers: 4, recompute: "full", gradBytes: 2, algorithms: { dp: "ring" } };
const train8 = (extra: Record<string, unknown> = {}, workload: Record<string, unknown> = DENSE) => ({ topology: singleSwitch(8), workload, engine: "sim", seed: 3, recovery: { policy: "shrink", detectMs: 2_000, reformMs: 3_000 }, ...extra });

/** Runs a training scenario on the sim engine through recovery; returns the report rows and the final full parameters. */
async function trainWithParams(raw: unknown) {
  const loaded = loadScenario({ raw });
  await using engine = simEngine(loaded);
  const history = new History();
  const injector = new FaultInjector(engine, loaded.faultPlan!, loaded.topology, history);
  const w = loaded.scenario.workloads[0]! as Parameters<typeof runTraining>[0];
  let params = new Float64Array();
  const r = await runTraining(w, loaded.topology, injector, loaded.scenario.seed, 0, undefined, NO_PROGRESS, history, { commit: async (_k, p) => { params = p; } });
  await injector.close();
  return { r, params, faults: injector.rows(), spec: trainingSpec(w, loaded.scenario.seed, 0) };
}

const maxRel = (a: Float64Array, b: Float64Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!) / Math.max(Math.abs(b[i]!), 1e-3)), 0);

describe("recovery: shrink", () => {
  it("DP 8 → 7 after a crash at step 1: 8 micro-steps per rank instead of 7, the same samples, the reference trainer's parameters to 1e-9", async () => {
    const raw = train8({ faults: [{ kind: "npu-crash", target: "npu5", at: { step: 1 } }] });
    const hurt = await trainWithParams(raw);
    const rows = hurt.r.report.steps;
    expect(hurt.r.stalled).toBeUndefined();
    expect(rows.map((s) => s.dp)).toEqual([undefined, 7, 7, 7]);
    expect(rows.map((s) => s.microSteps)).toEqual([undefined, 8, 8, 8]); // 56 sequences / 7 ranks
    expect(rows[1]!.lostVirtualNs).toBe(5e9); // detectMs 2 s + reformMs 3 s: nobody restarted
    expect(hurt.faults![0]!.recovery).toMatch(/^shrink: DP 8 → 7, 8 micro-steps per rank \(global batch 56 kept\); npu5 retired \(its deliveries stopped\); retried at epoch 2/);
    // The independent reference trainer, declared plan (DP 8 × 7 micro-steps: the same 56 samples per step).
    const t = hurt.spec;
    const ref: RefConfig = {
      seed: t.numerics.seed, layers: t.layers.map((l) => l.kind), hidden: t.numerics.hidden, expertHidden: t.numerics.expertHidden,
      experts: t.shape.experts, topK: t.shape.topK, sharedExperts: t.shape.sharedExperts, dp: t.dp, microSteps: t.microSteps,
      tokensPerRank: t.numerics.tokensPerRank, lr: t.numerics.lr, steps: 4,
    };
    const want = train(ref);
    expect(maxRel(hurt.params, flatten(ref, want.params))).toBeLessThan(1e-9);
    rows.forEach((s, k) => expect(Math.abs(s.loss - want.losses[k]!) / want.losses[k]!).toBeLessThan(1e-9));
    // Each of 7 ranks now computes 8 micro-batches where 8 ranks computed 7. On one switch every NPU is
    // alike, so a shrunk step takes what a fault-free DP 7 plan on 7 NPUs takes, to the ns.
    const seven = await runSim({ ...train8({}, { ...DENSE, parallel: { dp: 7 } }), topology: singleSwitch(7), recovery: undefined });
    expect(rows.slice(1).map((s) => s.virtualTimeNs)).toEqual(seven.steps!.slice(1).map((s) => s.virtualTimeNs));
    expect(rows.slice(1).map((s) => s.computeNs)).toEqual(seven.steps!.slice(1).map((s) => s.computeNs));
    console.log(`shrink DP 8 → 7: step times ${rows.map((s) => (s.virtualTimeNs / 1e6).toFixed(3)).join(", ")} ms; DP 7 planned: ${seven.steps!.map((s) => (s.virtualTimeNs / 1e6).toFixed(3)).join(", ")} ms`);
  });

  it("the report and the checker: recovered, every step committed once, losses the fault-free run's to 1e-9", async () => {
    const clean = await runSim(train8());
    const hurt = await runSim(train8({ faults: [{ kind: "npu-hang", target: "npu2", at: { step: 2 } }] }));
    expect(hurt.status).toBe("recovered");
    expect(hurt.history!.filter((e) => e.type === "membership")).toMatchObject([{ policy: "shrink", removed: ["npu2"], added: [] }]);
    hurt.steps!.forEach((s, k) => expect(Math.abs(s.loss - clean.steps![k]!.loss) / clean.steps![k]!.loss).toBeLessThan(1e-9));
    const findings = checkRun(hurt, clean);
    expect(findings.filter((f) => !f.ok)).toEqual([]);
    expect(findings.find((f) => f.check.startsWith("parameters equal"))!.detail).toBe("2 step digests equal, then 2 shrunk steps' losses to 1e-9");
    // supernode check's reference: the fault-free run that switches to the shrunk plan at the same step
    // (from the history: npu2 out from step 2). Then the parameters are equal bit for bit.
    expect(shrinksOf(hurt.history!)).toEqual([{ step: 2, removed: ["npu2"] }]);
    const loaded = loadScenario({ raw: train8() });
    await using engine = simEngine(loaded);
    const switching = await runScenario(loaded, engine, undefined, undefined, { shrinks: shrinksOf(hurt.history!) });
    expect(switching.steps!.map((s) => s.dp)).toEqual([undefined, undefined, 7, 7]);
    expect(hurt.steps!.map((s) => s.paramDigest)).toEqual(switching.steps!.map((s) => s.paramDigest));
    const strict = checkRun(hurt, switching);
    expect(strict.filter((f) => !f.ok)).toEqual([]);
    expect(strict.find((f) => f.check === "parameters equal the fault-free run's, bit for bit")!.detail).toMatch(/^4 step digests equal \(last [0-9a-f]{16}; the fault-free run shrank at step 2 as this one did\)/);
  });

  it("keeps whole EP groups and the global batch: DP 8 × EP 2 with globalBatch 8 shrinks to DP 4 (3 healthy NPUs idle)", async () => {
    const moe = { kind: "training", model: { base: "deepseek-v3", layers: 2, denseLayers: 1, experts: 8, topK: 2 }, parallel: { dp: 8, ep: 2 }, globalBatch: 8, seqLen: 1024, steps: 3, zero: 1, overlap: true, recompute: "full", gradBytes: 2 };
    const hurt = await runSim(train8({ faults: [{ kind: "npu-crash", target: "npu3", at: { step: 1 } }] }, moe));
    expect(hurt.status, hurt.stall).toBe("recovered");
    // npu3 is rank 3, EP group 1 (ranks 2–3): it leaves with npu2. 6 survivors, but 8 micro-batches split
    // into whole EP groups only as DP 4 or 8: DP 4, and of the survivors npu6, npu7 idle.
    expect(hurt.faults![0]!.recovery).toMatch(/^shrink: DP 8 → 4, 2 micro-steps per rank \(global batch 8 kept\); npu2, npu6, npu7 idle \(DP 4 is the largest multiple of EP that splits 8 micro-batches\); npu3 retired/);
    expect(hurt.steps!.map((s) => s.dp)).toEqual([undefined, 4, 4]);
  });

  it("refused where no replica survives (EP over all of DP): the failed NPU is restarted instead, and the row says why", async () => {
    const moe = { kind: "training", model: { base: "deepseek-v3", layers: 2, denseLayers: 1, experts: 8, topK: 2 }, parallel: { dp: 8, ep: 8 }, globalBatch: 8, seqLen: 1024, steps: 2, zero: 0, overlap: false, recompute: "full", gradBytes: 2 };
    const clean = await runSim(train8({}, moe));
    const hurt = await runSim(train8({ faults: [{ kind: "npu-crash", target: "npu3", at: { step: 1 } }] }, moe));
    expect(hurt.status).toBe("recovered");
    expect(hurt.faults![0]!.recovery).toMatch(/^restart: shrink refused: EP 8 spans every DP rank, so the routed experts of npu3 have no copy on any survivor; npu3 restarted as incarnation 1/);
    expect(hurt.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest)); // restarted: bit for bit
    expect(hurt.steps![1]!.lostVirtualNs).toBe(2e9 + 25e9); // detect + restartMs (the default 25 s)
  });
});

describe("recovery: shrink of a collective (ncclCommShrink-style)", () => {
  const ring = (extra: Record<string, unknown>) => ({
    topology: singleSwitch(8), engine: "sim", seed: 3, recovery: { policy: "shrink", detectMs: 2_000, reformMs: 3_000 },
    workload: { kind: "collective", collective: "all-reduce", algorithm: "ring", ranks: "all", sizes: ["1MiB", "4MiB"] }, ...extra,
  });
  it("a crash at op 0 re-forms the communicator on 7 ranks: both ops verified over the survivors, lost = detect + reformMs", async () => {
    const hurt = await runSim(ring({ faults: [{ kind: "npu-crash", target: "npu3", at: { op: 0 } }] }));
    const seven = await runSim({ ...ring({}), topology: singleSwitch(7), recovery: undefined });
    expect(hurt.status, hurt.stall).toBe("recovered");
    // Op 1 was planned on 8 ranks too: it runs without the retired npu3 from the start.
    expect(hurt.results.map((r) => [r.ranks, r.verified])).toEqual([[7, true], [7, true]]);
    // 7 ranks of an 8-port switch, every link alike: the times of a 7-rank ring.
    expect(hurt.results.map((r) => r.virtualTimeNs)).toEqual(seven.results.map((r) => r.virtualTimeNs));
    expect(hurt.faults![0]!.recovery).toMatch(/^shrink: communicator 8 → 7 ranks \(the result is the survivors'\); npu3 retired \(its deliveries stopped\)/);
    expect(hurt.faults![0]!.lostVirtualNs).toBe(5e9);
  });
});

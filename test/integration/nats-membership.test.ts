import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario } from "../../services/coordinator/index.js";
import { checkRun } from "../../services/coordinator/check.js";
import { runSim } from "../helpers/run.js";

/**
 * recovery: { policy: spare } and { policy: shrink } on the NATS engine (docs/chaos.md §7.4), one
 * process per actor. Spare: DP 6 on a
 * CM384 slice of 2 nodes × 4 leaves npu.n1.2 and npu.n1.3 standing by. A crash at a phase of step 1
 * (the NPU's process SIGKILLs itself) and a hang 50 ms into step 2 of the spare that replaced it
 * (SIGSTOP): each failed member is retired (its process killed, never restarted during the run) and
 * the next spare plays its rank. Everything virtual equals the sim engine's; the parameters equal the
 * fault-free run's bit for bit; the checker holds. Shrink: DP 8 loses an NPU inside step 1 and goes
 * on at DP 7 with 8 micro-steps instead of 7; digests, step times and losses equal the sim engine's.
 */
let server: EmbeddedServer;
beforeAll(async () => { server = await startEmbeddedServer(); });
afterAll(async () => { await server?.stop(); });

async function onNats(raw: Record<string, unknown>) {
  const loaded = loadScenario({ raw: { ...raw, engine: "nats", deployment: { nats: server.url, placement: "per-actor", heartbeatMs: 200, heartbeatTimeoutMs: 1_500 } } });
  await using engine = await NatsEngine.start(loaded, silentLogger);
  const pidsBefore = [...engine.hostPids];
  const report = await runScenario(loaded, engine);
  return { report, pidsBefore, pidsDuring: [...engine.hostPids] };
}

describe("recovery: spare and shrink on the NATS engine", () => {
  it("two failed members replaced by the two spares: same parameters as the fault-free run, same virtual times as the sim engine", async () => {
    const raw = {
      topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 }, seed: 5, recovery: { policy: "spare", detectMs: 3_000, reformMs: 4_000 },
      workload: { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 6 }, globalBatch: 6, seqLen: 1024, steps: 4, zero: 0, overlap: false, algorithms: { dp: "ring" } },
      faults: [
        { kind: "npu-crash", target: "npu.n0.1", at: { step: 1, phase: "optimizer" } },
        { kind: "npu-hang", target: "npu.n1.2", at: { step: 2, afterNs: 50_000_000 } },
      ],
    };
    const { report: nats, pidsBefore, pidsDuring } = await onNats(raw);
    const sim = await runSim({ ...raw, engine: "sim" });
    const clean = await runSim({ ...raw, faults: [], engine: "sim" });
    expect(nats.status, nats.stall).toBe("recovered");
    expect(nats.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(nats.steps!.map((s) => s.virtualTimeNs)).toEqual(sim.steps!.map((s) => s.virtualTimeNs));
    expect(nats.faults!.map((f) => f.injectedAt!.virtualNs)).toEqual(sim.faults!.map((f) => f.injectedAt!.virtualNs));
    expect(nats.steps!.map((s) => s.lostVirtualNs)).toEqual(sim.steps!.map((s) => s.lostVirtualNs));
    const rec = nats.faults!.map((f) => f.recovery);
    expect(rec[0]).toMatch(/^spare: npu\.n1\.2 took npu\.n0\.1's place, npu\.n0\.1 retired \(its process killed \(SIGKILL, pid \d+\)\); retried at epoch 2/);
    expect(rec[1]).toMatch(/^spare: npu\.n1\.3 took npu\.n1\.2's place, npu\.n1\.2 retired \(its process killed \(SIGKILL, pid \d+\)\); retried at epoch 3/);
    // Lost per failure: the attempt up to the strike + detect 3 s + spare 4 s (no restart: 25 s never charged).
    expect(nats.steps![1]!.lostVirtualNs!).toBeGreaterThan(7e9);
    expect(nats.steps![1]!.lostVirtualNs!).toBeLessThan(7e9 + nats.steps![1]!.virtualTimeNs);
    // The spare sits in the other node: the ring now crosses nodes at another place, and step 2's time
    // is the fabric's for that membership (equal on both engines, above), not the planned group's.
    expect(nats.steps![0]!.virtualTimeNs).toBe(clean.steps![0]!.virtualTimeNs);
    expect(nats.steps![1]!.virtualTimeNs).not.toBe(clean.steps![1]!.virtualTimeNs);
    const members = nats.history!.filter((e) => e.type === "epoch").map((e) => (e as { members: string[] }).members.join(","));
    expect(members).toEqual(["npu.n0.0,npu.n1.2,npu.n0.2,npu.n0.3,npu.n1.0,npu.n1.1", "npu.n0.0,npu.n1.3,npu.n0.2,npu.n0.3,npu.n1.0,npu.n1.1"]);
    // Retired, not restarted: the run ends with the same hosts but the two retired ones, which come back
    // (new pids) only when the run is over.
    expect(pidsDuring.filter((p) => !pidsBefore.includes(p))).toHaveLength(2);
    const failed = checkRun(nats, clean).filter((c) => !c.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    console.log(`spare on NATS: ${rec.join(" | ")}; step times ${nats.steps!.map((s) => (s.virtualTimeNs / 1e6).toFixed(3)).join(", ")} ms`);
  }, 120_000);

  it("shrink: a crash at step 1's optimizer leaves DP 7 with 8 micro-steps; the NATS run equals the sim run", async () => {
    const raw = {
      topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 }, seed: 5, recovery: { policy: "shrink", detectMs: 3_000, reformMs: 4_000 },
      workload: { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 8 }, globalBatch: 56, seqLen: 1024, steps: 3, zero: 0, overlap: false, algorithms: { dp: "ring" } },
      faults: [{ kind: "npu-crash", target: "npu.n1.2", at: { step: 1, phase: "optimizer" } }],
    };
    const { report: nats } = await onNats(raw);
    const sim = await runSim({ ...raw, engine: "sim" });
    const clean = await runSim({ ...raw, faults: [], engine: "sim" });
    expect(nats.status, nats.stall).toBe("recovered");
    expect(nats.steps!.map((s) => s.dp)).toEqual([undefined, 7, 7]);
    expect(nats.steps!.map((s) => s.paramDigest)).toEqual(sim.steps!.map((s) => s.paramDigest));
    expect(nats.steps!.map((s) => s.virtualTimeNs)).toEqual(sim.steps!.map((s) => s.virtualTimeNs));
    expect(nats.steps!.map((s) => s.lostVirtualNs)).toEqual(sim.steps!.map((s) => s.lostVirtualNs));
    expect(nats.faults![0]!.recovery).toMatch(/^shrink: DP 8 → 7, 8 micro-steps per rank \(global batch 56 kept\); npu\.n1\.2 retired \(its process killed \(SIGKILL, pid \d+\)\)/);
    const failed = checkRun(nats, clean).filter((c) => !c.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    console.log(`shrink on NATS: ${nats.faults![0]!.recovery}; step times ${nats.steps!.map((s) => (s.virtualTimeNs / 1e6).toFixed(3)).join(", ")} ms`);
  }, 120_000);

  it("an NPU outside the op (an idle spare) killed mid-run fails nothing, as on the sim engine, and is back when the run ends", async () => {
    const raw = {
      topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 }, seed: 5, recovery: { policy: "spare", detectMs: 3_000, reformMs: 4_000 },
      workload: { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 6 }, globalBatch: 6, seqLen: 1024, steps: 3, zero: 0, overlap: false, algorithms: { dp: "ring" } },
      faults: [{ kind: "npu-crash", target: "npu.n1.3", at: { step: 1 } }],
    };
    const { report: nats, pidsBefore, pidsDuring } = await onNats(raw);
    const sim = await runSim({ ...raw, engine: "sim" });
    expect(nats.status, nats.stall).toBe("ok");
    expect(nats.faults![0]!.recovery).toBe(sim.faults![0]!.recovery);
    expect(nats.faults![0]!.recovery).toMatch(/^none: the op completed before it could notice/);
    expect(nats.steps!.map((s) => s.virtualTimeNs)).toEqual(sim.steps!.map((s) => s.virtualTimeNs));
    expect(nats.history!.filter((e) => e.type === "abort")).toHaveLength(0);
    // Its host was really killed, and started again as the run ended: one new pid.
    expect(pidsDuring.filter((p) => !pidsBefore.includes(p))).toHaveLength(1);
  }, 120_000);
});

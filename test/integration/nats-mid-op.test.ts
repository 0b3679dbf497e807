import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario, type Report } from "../../services/coordinator/index.js";
import { checkRun } from "../../services/coordinator/check.js";
import { runSim } from "../helpers/run.js";

/**
 * Crashes and hangs inside an op on the NATS engine (docs/chaos.md §3): the NPU gets a `halt` before
 * the op, strikes itself at its trigger (a virtual time into the step, or a phase of its program),
 * says when (`halted`), and its host process kills (SIGKILL) or stops (SIGSTOP) itself for real. The
 * coordinator detects it as any failure (the host's exit; the heartbeat timeout), and recovery retries
 * the step. Everything virtual — where it struck, the time lost, parameters, step times — must equal
 * the sim engine's; `at: { wallMs }` strikes whatever op runs then, and the checker must hold.
 */
let server: EmbeddedServer;
beforeAll(async () => { server = await startEmbeddedServer(); });
afterAll(async () => { await server?.stop(); });

const TOPOLOGY = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 };
const DEPLOY = { placement: "per-actor", heartbeatMs: 200, heartbeatTimeoutMs: 1_500 };
const RECOVERY = { policy: "restart", detectMs: 3_000, restartMs: 20_000 };

async function onNats(raw: Record<string, unknown>): Promise<{ report: Report; pidsBefore: number[]; pidsAfter: number[] }> {
  const loaded = loadScenario({ raw: { ...raw, engine: "nats", deployment: { nats: server.url, ...DEPLOY } } });
  await using engine = await NatsEngine.start(loaded, silentLogger);
  const pidsBefore = [...engine.hostPids];
  const report = await runScenario(loaded, engine);
  return { report, pidsBefore, pidsAfter: [...engine.hostPids] };
}

describe("npu-crash and npu-hang inside a step, on the NATS engine", () => {
  it("a crash at a phase (SIGKILL) and a hang 50 ms into a step (SIGSTOP): same strike times, losses and parameters as the sim engine", async () => {
    const raw = {
      topology: TOPOLOGY, seed: 5, recovery: RECOVERY,
      workload: { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 1024, steps: 3, zero: 0, overlap: false, algorithms: { dp: "ring" } },
      faults: [
        { kind: "npu-crash", target: "npu.n1.2", at: { step: 1, phase: "optimizer" } },
        { kind: "npu-hang", target: "npu.n0.1", at: { step: 2, afterNs: 50_000_000 } },
      ],
    };
    const { report: nats, pidsBefore, pidsAfter } = await onNats(raw);
    const sim = await runSim({ ...raw, engine: "sim" });
    const clean = await runSim({ ...raw, faults: [], engine: "sim" });
    expect(nats.status, nats.stall).toBe("recovered");
    expect(nats.steps!.map((s) => s.paramDigest)).toEqual(sim.steps!.map((s) => s.paramDigest));
    expect(nats.steps!.map((s) => s.virtualTimeNs)).toEqual(sim.steps!.map((s) => s.virtualTimeNs));
    // Where each struck is the NPU's own virtual clock: the same on both engines, bit for bit.
    expect(nats.faults!.map((f) => f.injectedAt!.virtualNs)).toEqual(sim.faults!.map((f) => f.injectedAt!.virtualNs));
    expect(nats.steps!.map((s) => s.lostVirtualNs)).toEqual(sim.steps!.map((s) => s.lostVirtualNs));
    // The crash struck inside step 1, not at its start: lost = (strike − step start) + 3 s + 20 s > 23 s.
    expect(nats.steps![1]!.lostVirtualNs!).toBeGreaterThan(23e9);
    // Really killed and really stopped: detected by the host's exit, then by silence; both hosts replaced.
    const aborts = nats.history!.filter((e) => e.type === "abort").map((e) => (e as { reason: string }).reason);
    expect(aborts[0]).toMatch(/^actor host exited \(pid \d+: npu\.n1\.2\)/);
    expect(aborts[1]).toMatch(/actors stopped heartbeating · dead: npu\.n0\.1/);
    expect(pidsAfter.filter((p) => !pidsBefore.includes(p))).toHaveLength(2);
    const failed = checkRun(nats, clean).filter((c) => !c.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
  });

  it("at: { wallMs } strikes the collective sweep's op in progress; it is retried and every result verified", async () => {
    const raw = {
      topology: TOPOLOGY, seed: 5, recovery: RECOVERY,
      // Each 1 GiB op took 70–140 ms of wall time here (2026-12-04; ~0.25 s when this test was written,
      // and a 12-op sweep once ended before the strike at 0.8 s): 36 ops keep it well inside the sweep.
      workload: { kind: "collective", collective: "all-reduce", algorithm: "ring", sizes: ["1MiB", ...Array<string>(36).fill("1GiB")] },
      faults: [{ kind: "npu-crash", target: "npu.n1.1", at: { wallMs: 800 } }],
    };
    const { report: nats } = await onNats(raw);
    const sim = await runSim({ ...raw, faults: [], engine: "sim" });
    const f = nats.faults![0]!;
    expect(f.injectedAt, "struck before the run ended").not.toBeNull();
    expect(f.injectedAt!.wallMs).toBeGreaterThanOrEqual(799); // on the report's wall clock; Node timers keep whole ms
    // Whichever op ran at 0.8 s of wall time failed and was retried (or, if it had just ended, the next one): recovered.
    expect(nats.status, nats.stall).toBe("recovered");
    expect(f.recovery).toMatch(/^restart: npu\.n1\.1 restarted as incarnation 1/);
    expect(nats.results.every((x) => x.verified)).toBe(true);
    expect(nats.results.map((x) => x.virtualTimeNs)).toEqual(sim.results.map((x) => x.virtualTimeNs));
    const failed = checkRun(nats, sim).filter((c) => !c.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario, type Report } from "../../services/coordinator/index.js";
import { runSim } from "../helpers/run.js";

/**
 * Process faults for real (docs/chaos.md §7): on the NATS engine an npu-crash is SIGKILL of the NPU's
 * host process, an npu-hang SIGSTOP; the coordinator detects them (the host's exit at once; the
 * stopped one by its heartbeat timeout), aborts the step, respawns the host as the next incarnation,
 * moves to a new epoch and retries the step from the committed parameters. The sim engine models the
 * same faults by stopping deliveries; both must end with the same parameters, step times and losses.
 */
let server: EmbeddedServer;
beforeAll(async () => { server = await startEmbeddedServer(); });
afterAll(async () => { await server?.stop(); });

const raw = {
  topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 },
  workload: { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 1024, steps: 4, zero: 0, overlap: false, algorithms: { dp: "ring" } },
  seed: 5,
  faults: [
    { kind: "npu-crash", target: "npu.n1.2", at: { step: 1 } },
    { kind: "npu-hang", target: "npu.n0.1", at: { step: 2 } },
  ],
  recovery: { policy: "restart", detectMs: 3_000, restartMs: 20_000 },
};

describe("npu-crash (SIGKILL) and npu-hang (SIGSTOP) on the NATS engine, recovery: restart", () => {
  it("26 processes: both detected, hosts respawned, steps retried; parameters, step times and losses equal the sim engine's", async () => {
    const loaded = loadScenario({ raw: { ...raw, engine: "nats", deployment: { nats: server.url, placement: "per-actor", heartbeatMs: 200, heartbeatTimeoutMs: 1_500 } } });
    await using engine = await NatsEngine.start(loaded, silentLogger);
    const pidsBefore = [...engine.hostPids];
    const t0 = Date.now();
    const nats: Report = await runScenario(loaded, engine);
    const tookMs = Date.now() - t0;
    const sim = await runSim({ ...raw, engine: "sim" });
    expect(nats.status, nats.stall).toBe("recovered");
    expect(sim.status).toBe("recovered");
    expect(nats.steps!.map((s) => s.paramDigest)).toEqual(sim.steps!.map((s) => s.paramDigest));
    expect(nats.steps!.map((s) => s.virtualTimeNs)).toEqual(sim.steps!.map((s) => s.virtualTimeNs));
    // Each failure costs detectMs + restartMs = 23 s virtual, on both engines.
    expect(nats.faults!.map((f) => f.lostVirtualNs)).toEqual([23e9, 23e9]);
    expect(nats.faults!.map((f) => f.recovery)).toEqual(sim.faults!.map((f) => f.recovery));
    // The victims really were replaced: two new host pids.
    const pidsAfter = engine.hostPids;
    expect(pidsAfter.filter((p) => !pidsBefore.includes(p))).toHaveLength(2);
    // Wall: the crash is seen at once (host exit), the hang after the 1.5 s heartbeat timeout (from its last heartbeat); each
    // recovery respawns one host (bundled: well under a second) — far below the 10 s progress watchdog.
    const [crash, hang] = nats.faults!;
    expect(crash!.detectedAt!.wallMs - crash!.injectedAt!.wallMs).toBeLessThan(1_500);
    // Its last heartbeat may be older than the SIGSTOP (by a period, more on a loaded machine), so the
    // bound below 1.5 s is loose; it is still far above the crash's, which the host's exit gives away.
    expect(hang!.detectedAt!.wallMs - hang!.injectedAt!.wallMs).toBeGreaterThanOrEqual(500);
    expect(hang!.detectedAt!.wallMs - hang!.injectedAt!.wallMs).toBeLessThan(1_500 + 4_000);
    const commits = nats.history!.filter((e) => e.type === "commit");
    expect(commits.map((c) => (c as { step: number }).step)).toEqual([0, 1, 2, 3]);
    expect(commits.map((c) => c.epoch)).toEqual([1, 2, 3, 3]);
    console.log(`NATS recovery: ${tookMs} ms wall; mttr ${nats.mttrMs} ms; crash detected after ${crash!.detectedAt!.wallMs - crash!.injectedAt!.wallMs} ms, hang after ${hang!.detectedAt!.wallMs - hang!.injectedAt!.wallMs} ms; rejected ${JSON.stringify({ stale: nats.rejected.stale, total: nats.rejected.total })}`);
  });

  it("a partition of node 1 (its NPUs and L1 switch) at step 1: the cut attempt stalls (no progress), is aborted and retried healed; same as the sim", async () => {
    const cut = { ...raw, faults: [{ kind: "partition", target: "npu.n1.*,l1.n1", at: { step: 1 } }] };
    const loaded = loadScenario({ raw: { ...cut, engine: "nats", deployment: { nats: server.url, placement: "per-actor", heartbeatMs: 200, heartbeatTimeoutMs: 1_500, watchdogMs: 2_000 } } });
    await using engine = await NatsEngine.start(loaded, silentLogger);
    const nats = await runScenario(loaded, engine);
    const sim = await runSim({ ...cut, engine: "sim" });
    expect(nats.status, nats.stall).toBe("recovered");
    expect(sim.status).toBe("recovered");
    expect(nats.steps!.map((s) => s.paramDigest)).toEqual(sim.steps!.map((s) => s.paramDigest));
    expect(nats.steps!.map((s) => s.virtualTimeNs)).toEqual(sim.steps!.map((s) => s.virtualTimeNs));
    expect(nats.faults![0]!.recovery).toBe(sim.faults![0]!.recovery);
    expect(nats.faults![0]!.lostVirtualNs).toBe(23e9);
    console.log(`partition on NATS: detected after ${nats.faults![0]!.detectedAt!.wallMs - nats.faults![0]!.injectedAt!.wallMs} ms (watchdog 2 s)`);
  }, 120_000);
});

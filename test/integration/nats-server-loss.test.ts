import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { checkRun, NatsEngine, runScenario } from "../../services/coordinator/index.js";
import { runSim } from "../helpers/run.js";

/**
 * nats-server-loss (issue 12, docs/chaos.md §7): on the embedded 3-server cluster (deployment.natsServers:
 * 3) server nats-1 is SIGKILLed as step 2 starts. Its clients reconnect to the other two within about
 * 0.1 s, but core NATS is at-most-once: op-starts and data that were inside it or sent while its
 * clients redialled are gone, so the step stalls (no progress); recovery aborts it, moves to a new epoch
 * and retries it — nothing to restart — and the run ends with the fault-free run's parameters.
 */
const raw = {
  topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 },
  workload: { kind: "training", model: { base: "llama3-8b", layers: 2 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 512, steps: 5, zero: 0, overlap: false, algorithms: { dp: "ring" } },
  seed: 5,
  faults: [{ kind: "nats-server-loss", target: "nats-1", at: { step: 2 } }],
  recovery: { policy: "restart" },
};

describe("nats-server-loss on the embedded cluster", () => {
  it("a server killed as a step starts: the step is retried if it stalled, the run ends with the fault-free parameters", async () => {
    const loaded = loadScenario({ raw: { ...raw, engine: "nats", deployment: { natsServers: 3, placement: "per-actor", heartbeatMs: 200, heartbeatTimeoutMs: 1_500, watchdogMs: 3_000 } } });
    await using engine = await NatsEngine.start(loaded, silentLogger);
    const rep = await runScenario(loaded, engine);
    const { faults: _f, recovery: _r, ...clean } = raw;
    const ref = await runSim({ ...clean, engine: "sim" });
    expect(["recovered", "ok"], rep.stall).toContain(rep.status);
    expect(rep.steps!.map((s) => s.paramDigest)).toEqual(ref.steps!.map((s) => s.paramDigest));
    expect(checkRun(rep, ref).filter((f) => !f.ok)).toEqual([]);
    const f = rep.faults![0]!;
    expect(f.injectedAt).not.toBeNull();
    if (rep.status === "recovered") {
      expect(f.recovery).toMatch(/^restart: nothing to restart; retried at epoch 2 as op \d+$/);
      expect(f.lostVirtualNs).toBe(30e9);
    } else {
      expect(f.recovery).toMatch(/^none: the op completed/);
    }
    console.log(`nats-server-loss: status ${rep.status}; ${f.recovery}; detected after ${f.detectedAt ? (f.detectedAt.wallMs - f.injectedAt!.wallMs).toFixed(0) : "-"} ms`);
  }, 120_000);

  it("is refused on a run without a cluster, naming the setting", async () => {
    await expect(runSim({ ...raw, engine: "sim" })).rejects.toThrow(/faults\[0\]: nats-server-loss needs the NATS engine on its embedded cluster \(deployment\.natsServers: 3\)/);
  });
});

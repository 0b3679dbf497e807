import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { checkRun, NatsEngine, runScenario } from "../../services/coordinator/index.js";
import { runSim } from "../helpers/run.js";

/**
 * The process-level chaos suite (issue 12, no Docker): one DP training run on the NATS engine — 26 actor
 * processes on an embedded 3-server NATS cluster — with every kind of the catalogue, each at its own
 * step: a degraded and lossy link, a straggler, a dead spine link, a crashed spine chip, a flapping
 * link, duplicated and reordered messages, corrupted stripes, an NPU killed (SIGKILL), an NPU hung
 * (SIGSTOP), a partition of node 1, and a NATS server killed. Every invariant of the checker must hold
 * against the fault-free run on the sim engine: explicit status, each step committed once, aborted
 * epochs fenced, faults detected and recovered in order, results verified, the same parameters.
 */
const STEPS = 12;
const faults = [
  { kind: "link-degrade", target: "npu.n0.1->l1.n0", bandwidthFactor: 0.5, latencyNs: 200, lossPct: 10, at: { step: 0 }, duration: { steps: 1 } },
  { kind: "straggler", target: "npu.n1.3", factor: 2, at: { step: 1 }, duration: { steps: 1 } },
  { kind: "link-down", target: "l1.n0->l2.k3", at: { step: 2 }, duration: { steps: 1 } },
  { kind: "switch-crash", target: "l2.k5", at: { step: 3 }, duration: { steps: 1 } },
  { kind: "link-flap", target: "l1.n1->l2.k1", periodNs: 4000, duty: 0.5, at: { step: 4 }, duration: { steps: 1 } },
  { kind: "message-duplicate", target: "npu.n0.2", pct: 50, at: { step: 5 }, duration: { steps: 1 } },
  { kind: "message-reorder", target: "l1.n1", pct: 50, at: { step: 5 }, duration: { steps: 1 } },
  { kind: "link-degrade", target: "l1.n0->npu.n0.3", corruptPct: 20, at: { step: 6 }, duration: { steps: 1 } },
  { kind: "npu-crash", target: "npu.n1.2", at: { step: 7 } },
  { kind: "npu-hang", target: "npu.n0.0", at: { step: 8 } },
  { kind: "partition", target: "npu.n1.*,l1.n1", at: { step: 9 } },
  { kind: "nats-server-loss", target: "nats-2", at: { step: 10 } },
];
const raw = {
  topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 },
  workload: { kind: "training", model: { base: "llama3-8b", layers: 2 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 512, steps: STEPS, zero: 0, overlap: false, algorithms: { dp: "ring" } },
  seed: 9,
  recovery: { policy: "restart", detectMs: 2_000, restartMs: 8_000 },
};

describe("process-level chaos suite", () => {
  it("every fault kind in one NATS training run (26 processes, 3 servers): the checker's invariants all hold against the fault-free run", async () => {
    const loaded = loadScenario({ raw: { ...raw, faults, engine: "nats", deployment: { natsServers: 3, placement: "per-actor", heartbeatMs: 200, heartbeatTimeoutMs: 1_500, watchdogMs: 3_000 } } });
    await using engine = await NatsEngine.start(loaded, silentLogger);
    const t0 = performance.now();
    const rep = await runScenario(loaded, engine);
    const wallMs = performance.now() - t0;
    const clean = await runSim({ ...raw, engine: "sim" });
    expect(rep.status, rep.stall).toBe("recovered");
    const findings = checkRun(rep, clean);
    expect(findings.filter((f) => !f.ok)).toEqual([]);
    expect(findings.map((f) => f.check)).toContain("parameters equal the fault-free run's, bit for bit");
    // Every kind was injected; the ones that stop a step (crash, hang, partition; the server loss when it
    // lost something) were detected and recovered; the fabric's were absorbed.
    expect(rep.faults!.every((f) => f.injectedAt !== null)).toBe(true);
    for (const kind of ["npu-crash", "npu-hang", "partition"]) expect(rep.faults!.find((f) => f.kind === kind)!.recoveredAt, kind).not.toBeNull();
    expect(rep.rejected.duplicate + rep.rejected.stale).toBeGreaterThan(0);
    expect(rep.rejected.corrupt).toBeGreaterThan(0);
    expect(rep.rejected.forged).toBe(0);
    expect(rep.rejected.malformed).toBe(0); // every fault message the coordinator sent (again, after restarts) was well-formed
    console.log(`chaos suite: ${rep.faults!.length} faults, ${rep.history!.filter((e) => e.type === "abort").length} aborts, goodput ${rep.goodput}, refused ${JSON.stringify({ duplicate: rep.rejected.duplicate, stale: rep.rejected.stale, corrupt: rep.rejected.corrupt })}, ${wallMs.toFixed(0)} ms wall\n${rep.faults!.map((f) => `  ${f.kind} ${f.target}: ${f.recovery}`).join("\n")}`);
  }, 240_000);
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario, type Report } from "../../services/coordinator/index.js";
import { runSim } from "../helpers/run.js";

/**
 * Faults on the NATS engine (real nats-server, actors in host processes): the coordinator publishes
 * each fault on the control subjects before the op-open and op-starts of its first op, and the actors
 * apply it from that op on — the same logic as in the sim engine, so the same virtual times
 * (uncontended ring: bit for bit, docs/nats-engine.md §9) and the same parameters.
 */
let server: EmbeddedServer;
beforeAll(async () => { server = await startEmbeddedServer(); });
afterAll(async () => { await server?.stop(); });

async function both(raw: Record<string, unknown>, placement: string): Promise<{ nats: Report; sim: Report }> {
  const loaded = loadScenario({ raw: { ...raw, engine: "nats", deployment: { nats: server.url, placement } } });
  await using engine = await NatsEngine.start(loaded, silentLogger);
  const nats = await runScenario(loaded, engine);
  const sim = await runSim({ ...raw, engine: "sim" });
  return { nats, sim };
}

/** What both engines must report alike: the recovery text without what each did to a crashed chip (below). */
const faultFields = (r: Report) => r.faults!.map((f) => [f.kind, f.target, f.ops, f.actors, f.recovery.replace(/; the chip: .*$/, ""), f.lostVirtualNs, f.injectedAt?.virtualNs]);
/** What the engine did to the crashed chip: NATS kills its process when it is alone in one, else leaves it running, routed around. */
const chipOf = (r: Report) => /; the chip: (.*)$/.exec(r.faults!.find((f) => f.kind === "switch-crash")!.recovery)?.[1];

describe("faults: NATS engine vs sim engine", () => {
  it("ring all-reduce with a degraded lane pair and then a crashed plane chip (physical CM384, grouped): identical virtual times", async () => {
    const raw = {
      topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 2, switches: "physical" },
      workload: { kind: "collective", collective: "all-reduce", algorithm: "ring", sizes: ["1MiB", "64MiB", "1MiB", "64MiB"] },
      seed: 5,
      faults: [
        { kind: "link-degrade", target: "npu.n0.1->l1.n0.p0", bandwidthFactor: 0.5, latencyNs: 200, at: { op: 0 }, duration: { ops: 2 } },
        { kind: "switch-crash", target: "l1.n0.p2", at: { op: 2 } },
      ],
    };
    const { nats, sim } = await both(raw, "grouped");
    expect(nats.status, JSON.stringify(nats.results.map((r) => r.verifyError))).toBe("ok");
    expect(nats.results.map((r) => r.virtualTimeNs)).toEqual(sim.results.map((r) => r.virtualTimeNs));
    expect(faultFields(nats)).toEqual(faultFields(sim));
    expect(chipOf(sim)).toBe("its deliveries stopped");
    expect(chipOf(nats)).toBe("left running in its host process (shared with 8 other actors): routed around"); // node 0's host: 2 NPUs + 7 L1 chips
    expect(nats.rejected.total).toBe(0);
    // Both faults cost time: every row is slower than its fault-free closed form.
    for (const r of nats.results) expect(r.virtualTimeNs).toBeGreaterThan(r.closedFormNs * 0.99);
    console.log(nats.results.map((r) => `${r.sizeBytes} B: nats ${r.virtualTimeNs} ns, sim ${sim.results[nats.results.indexOf(r)]!.virtualTimeNs} ns`).join("\n"));
  });

  it("DP training with a link-degrade at step 1 and a spine chip crash at step 2 (26 processes): same digests, identical step times", async () => {
    // Ring gradient sync: its inter-node edges npu.n0.3 → npu.n1.0 and npu.n1.3 → npu.n0.0 end at local
    // index 0, whose lanes cross spine chips k = 0 and 1 (docs/fabric-model.md §2). Without l2.k0 they
    // keep lane 1 only (196 of 392 GB/s) and pace the ring; nothing else shares their ports: uncontended.
    // (With the hierarchical sync instead, such a one-lane pair overlaps other ranks' intra-node phases on
    // a port, and the NATS step times then depend on wall order: docs/chaos.md §6.)
    const raw = {
      topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 },
      workload: { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 1024, steps: 3, zero: 0, overlap: false, algorithms: { dp: "ring" } },
      seed: 5,
      faults: [
        { kind: "link-degrade", target: "npu.n0.1->l1.n0", bandwidthFactor: 0.5, at: { step: 1 }, duration: { steps: 1 } },
        { kind: "switch-crash", target: "l2.k0", at: { step: 2 } },
      ],
    };
    const { nats, sim } = await both(raw, "per-actor");
    expect(nats.status, JSON.stringify(nats.steps?.map((s) => s.verifyError))).toBe("ok");
    expect(nats.processes).toBe(26);
    expect(nats.steps!.map((s) => s.paramDigest)).toEqual(sim.steps!.map((s) => s.paramDigest));
    nats.steps!.forEach((s, i) => console.log(`faulted training step ${i}: nats ${s.virtualTimeNs} ns, sim ${sim.steps![i]!.virtualTimeNs} ns`));
    expect(nats.steps!.map((s) => s.virtualTimeNs)).toEqual(sim.steps!.map((s) => s.virtualTimeNs));
    expect(sim.steps![1]!.virtualTimeNs).toBeGreaterThan(sim.steps![0]!.virtualTimeNs);
    expect(sim.steps![2]!.virtualTimeNs).toBeGreaterThan(sim.steps![0]!.virtualTimeNs);
    expect(faultFields(nats)).toEqual(faultFields(sim));
    // The spine chip's own process was really killed, and the step ran on without it.
    expect(chipOf(nats)).toMatch(/^its process killed \(SIGKILL, pid \d+\)$/);
    expect(nats.rejected.total).toBe(0);
  });

  it("duplicate, reorder, corrupt and flap on the data path (physical CM384 2 × 2, grouped): identical virtual times and results, copies refused on both engines", async () => {
    // Over NATS a reorder changes the publish order and a duplicate publishes the message twice; the
    // corrupted copy of a stripe (one payload bit flipped, its CRC kept) goes out ahead of the good one
    // on the same subject, so it always arrives first and is refused (plane chips check the CRC of the
    // corrupting lanes into them, NPUs every CRC). Virtual times are the messages' own: the ring is
    // uncontended, so the port model gives both engines the same times.
    const raw = {
      topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 2, switches: "physical" },
      workload: { kind: "collective", collective: "all-reduce", algorithm: "ring", sizes: ["1MiB", "4MiB"] },
      seed: 5,
      faults: [
        { kind: "message-duplicate", target: "npu.n0.0", at: { op: 0 } },
        { kind: "message-duplicate", target: "l1.n0.p1", pct: 50, at: { op: 0 } },
        { kind: "message-reorder", target: "npu.n0.1", at: { op: 0 } },
        { kind: "message-reorder", target: "l1.n1.p2", at: { op: 0 } },
        { kind: "link-degrade", target: "npu.n1.0<->l1.n1.p0", corruptPct: 30, at: { op: 0 } },
        // And a flapping lane pair: every actor filters each transfer's route by its sentNs.
        { kind: "link-flap", target: "npu.n0.1->l1.n0.p3", periodNs: 4000, duty: 0.5, at: { op: 0 } },
      ],
    };
    const { nats, sim } = await both(raw, "grouped");
    expect(nats.status, JSON.stringify(nats.results.map((r) => r.verifyError))).toBe("ok");
    console.log(nats.results.map((r, i) => `${r.sizeBytes} B: nats ${r.virtualTimeNs} ns, sim ${sim.results[i]!.virtualTimeNs} ns`).join("\n"));
    console.log(`rejected: nats ${JSON.stringify({ d: nats.rejected.duplicate, s: nats.rejected.stale, c: nats.rejected.corrupt })}, sim ${JSON.stringify({ d: sim.rejected.duplicate, s: sim.rejected.stale, c: sim.rejected.corrupt })}`);
    expect(nats.results.map((r) => r.virtualTimeNs)).toEqual(sim.results.map((r) => r.virtualTimeNs));
    expect(nats.results.every((r) => r.verified)).toBe(true);
    expect(faultFields(nats)).toEqual(faultFields(sim));
    // Every corrupted copy precedes its good one from the same sender: refused as corrupt on both engines.
    expect(nats.rejected.corrupt).toBeGreaterThan(0);
    expect(nats.rejected.corrupt).toBe(sim.rejected.corrupt);
    // A copy that reaches a switch after its op closed there is stale, not a duplicate (wall order).
    expect(nats.rejected.duplicate).toBeGreaterThan(0);
    expect(nats.rejected.forged).toBe(0);
    // The corrupted copies cost port time: slower than without the lossy lanes.
    const clean = await runSim({ ...raw, engine: "sim", faults: raw.faults.slice(0, 4) }); // no corruption, no flap
    for (const [i, r] of sim.results.entries()) expect(r.virtualTimeNs).toBeGreaterThan(clean.results[i]!.virtualTimeNs);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario } from "../../services/coordinator/index.js";
import { runSim } from "../helpers/run.js";
import { OVERLAPPED_MOE_MODEL } from "../helpers/training.js";

/**
 * Training steps on the NATS engine (real nats-server, one OS process per actor) against the sim
 * engine: the numerics never depend on arrival order, so the parameter digests are bit-identical; step
 * times agree within 1% (under contention a port may serve in wall order; docs/nats-engine.md).
 */
let server: EmbeddedServer;
beforeAll(async () => { server = await startEmbeddedServer(); });
afterAll(async () => { await server?.stop(); });

const MOE = OVERLAPPED_MOE_MODEL;

describe("training: NATS engine vs sim engine", () => {
  // The bound on step times: 1% (the target) where one stream uses the ports at a time; with
  // gradient buckets overlapping MoE dispatch, the DP stream's and the EP exchanges' stripes meet at
  // ports in a wall order that differs from virtual order. Measured 2026-12-02, 3 runs each on the code
  // before and after that day's work, on a loaded machine: 0–1.95% and one 7.75% (before), 0–0.85% and
  // 4.4%, 7.2% under heavier load (after) — the spread depends on load, not on that work. 2026-12-04,
  // switches handling the data of one event-loop turn in virtual order (docs/nats-engine.md §9): 7 of 33
  // steps off the sim, 0.81–2.54%, against 7 of 12, 0.81–1.92%, without it in the same hour. With the
  // default (wall) timing this is held at 10%, so that a gross regression still fails; the 1% (in fact
  // equality) holds with deployment.timing: exact, in nats-exact-timing.test.ts.
  for (const [name, workload, bound] of [
    ["MoE model, DP 8 × EP 4, ZeRO-1, overlap", { model: MOE, parallel: { dp: 8, ep: 4 }, globalBatch: 16 }, 0.1],
    ["dense model, DP 4 × TP 2, ZeRO-0, no overlap", { model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 4, tp: 2 }, globalBatch: 8, zero: 0, overlap: false }, 0.01],
  ] as const) {
    it(name, async () => {
      const raw = { topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 }, workload: { kind: "training", seqLen: 1024, steps: 3, ...workload }, seed: 5 };
      const loaded = loadScenario({ raw: { ...raw, engine: "nats", deployment: { nats: server.url, placement: "per-actor" } } });
      await using engine = await NatsEngine.start(loaded, silentLogger);
      const nats = await runScenario(loaded, engine);
      const sim = await runSim({ ...raw, engine: "sim" });
      expect(nats.status, JSON.stringify(nats.steps?.map((s) => s.verifyError))).toBe("ok");
      expect(nats.processes).toBe(26);
      expect(nats.steps!.map((s) => s.paramDigest)).toEqual(sim.steps!.map((s) => s.paramDigest));
      expect(nats.steps!.map((s) => s.loss)).toEqual(sim.steps!.map((s) => s.loss));
      nats.steps!.forEach((s, i) => {
        const t = sim.steps![i]!.virtualTimeNs;
        console.log(`${name} step ${i}: nats ${s.virtualTimeNs} ns, sim ${t} ns, ${(((s.virtualTimeNs - t) / t) * 100).toFixed(4)}%`);
        expect(Math.abs(s.virtualTimeNs - t) / t).toBeLessThanOrEqual(bound);
      });
    });
  }
});

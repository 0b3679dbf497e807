import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario, type Report } from "../../services/coordinator/index.js";
import { runSim } from "../helpers/run.js";

/**
 * MoE layers on the NATS engine (real nats-server, one OS process per actor or per node) against
 * the sim engine: the same actor logic, so every token must come back verified and the layer time
 * agree within 1% (switch ports may see stripes in a wall order that differs from virtual order).
 */
let server: EmbeddedServer;
beforeAll(async () => { server = await startEmbeddedServer(); });
afterAll(async () => { await server?.stop(); });

async function both(topology: Record<string, unknown>, workload: unknown[], placement: string): Promise<{ nats: Report; sim: Report }> {
  const raw = { topology, workload, seed: 11 };
  const loaded = loadScenario({ raw: { ...raw, engine: "nats", deployment: { nats: server.url, placement } } });
  await using engine = await NatsEngine.start(loaded, silentLogger);
  const nats = await runScenario(loaded, engine);
  const sim = await runSim({ ...raw, engine: "sim" });
  return { nats, sim };
}

function expectAgreement(nats: Report, sim: Report) {
  expect(nats.status, JSON.stringify(nats.moe.map((r) => r.verifyError))).toBe("ok");
  expect(nats.scenarioHash).toBe(sim.scenarioHash);
  expect(nats.moe).toHaveLength(sim.moe.length);
  nats.moe.forEach((r, i) => {
    const s = sim.moe[i]!;
    console.log(`moe layer ${i} (ep ${r.ep}, ${r.gating}): nats ${r.layerNs} ns, sim ${s.layerNs} ns, ${(((r.layerNs - s.layerNs) / s.layerNs) * 100).toFixed(4)}%`);
    expect(r.verified).toBe(true);
    expect(r.droppedTokens).toBe(s.droppedTokens);
    expect(r.droppedPerExpert).toEqual(s.droppedPerExpert);
    expect(r.maxOverMeanLoad).toBe(s.maxOverMeanLoad);
    expect(Math.abs(r.layerNs - s.layerNs) / s.layerNs, `layer ${i}: nats ${r.layerNs} sim ${s.layerNs}`).toBeLessThanOrEqual(0.01);
  });
}

describe("MoE layer: NATS engine vs sim engine", () => {
  it("cloudmatrix384, 2 nodes × 4 NPUs, one process per actor: uniform, zipf with drops, hot with replicas, hierarchical", async () => {
    const topology = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" };
    const w = (x: Record<string, unknown>) => ({ kind: "moe-layer", tokensPerRank: 64, sharedExperts: 1, ...x });
    const { nats, sim } = await both(topology, [
      w({ gating: { kind: "uniform" } }),
      w({ gating: { kind: "zipf", exponent: 1.2 }, capacityFactor: 1 }),
      w({ gating: { kind: "hot", hotFraction: 0.02, hotShare: 0.4 }, replicas: { hottest: 5, copies: 2 } }),
      w({ gating: { kind: "zipf", exponent: 1.0 }, capacityFactor: 1.25, algorithm: "hierarchical" }),
    ], "per-actor");
    expect(nats.processes).toBe(26);
    expect(sim.moe[1]!.droppedTokens).toBeGreaterThan(0); // the capacity really bites
    expectAgreement(nats, sim);
  });

  it("nvl72 (72 GPUs, 18 NVSwitch chips), grouped hosts: EP 64, uniform, zipf and hot", async () => {
    const w = (gating: Record<string, unknown>) => ({ kind: "moe-layer", ep: 64, tokensPerRank: 32, gating });
    const { nats, sim } = await both({ preset: "nvl72" }, [
      w({ kind: "uniform" }), w({ kind: "zipf", exponent: 1.0 }), w({ kind: "hot", hotFraction: 0.02, hotShare: 0.3 }),
    ], "grouped");
    expectAgreement(nats, sim);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario, type Report } from "../../services/coordinator/index.js";
import { runSim, scenario } from "../helpers/run.js";
import { isAlive } from "../helpers/procs.js";

/**
 * The NATS engine on a real nats-server with real host processes: same actor logic as the sim
 * engine, so uncontended collectives must give exactly the sim engine's virtual times, and contended
 * ones (all-to-all incast, where wall order can differ from virtual order at switch ports) within 1%.
 */
let server: EmbeddedServer;
beforeAll(async () => { server = await startEmbeddedServer(); });
afterAll(async () => { await server?.stop(); });

async function runNats(raw: unknown): Promise<{ report: Report; pids: number[] }> {
  const loaded = loadScenario({ raw });
  await using engine = await NatsEngine.start(loaded, silentLogger);
  const report = await runScenario(loaded, engine);
  return { report, pids: engine.hostPids };
}

const SMALL_CM384 = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" };
const natsOpts = () => ({ engine: "nats", deployment: { nats: server.url, placement: "per-actor" } });

describe("NATS engine vs sim engine", () => {
  it("every NPU and switch is its own OS process; uncontended collectives equal the sim exactly", async () => {
    const w = { collective: "all-reduce", algorithm: "ring", sizes: ["4KiB", "1MiB", "1GiB"] };
    const { report, pids } = await runNats(scenario(SMALL_CM384, w, natsOpts()));
    const sim = await runSim(scenario(SMALL_CM384, w));
    // 2 nodes × 4 NPUs + 2 L1 (aggregated) + 16 L2 = 26 actors, one process each.
    expect(report.topology.actorCount).toBe(26);
    expect(report.processes).toBe(26);
    expect(new Set(pids).size).toBe(26);
    expect(report.status).toBe("ok");
    expect(report.engine).toBe("nats");
    expect(report.scenarioHash).toBe(sim.scenarioHash);
    expect(report.results.map((r) => r.virtualTimeNs)).toEqual(sim.results.map((r) => r.virtualTimeNs));
    expect(report.results.map((r) => r.messages)).toEqual(sim.results.map((r) => r.messages));
    for (const pid of pids) expect(isAlive(pid)).toBe(false); // disposed: every host exited
  });

  it("hierarchical all-reduce and broadcast, physical switches: exact", async () => {
    const topo = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 2, switches: "physical" };
    for (const w of [
      { collective: "all-reduce", algorithm: "hierarchical", sizes: ["64KiB", "64MiB"] },
      { collective: "broadcast", algorithm: "pipeline", sizes: ["8MiB"] },
    ]) {
      const { report } = await runNats(scenario(topo, w, { ...natsOpts(), deployment: { nats: server.url, placement: "grouped" } }));
      const sim = await runSim(scenario(topo, w));
      expect(report.status).toBe("ok");
      expect(report.results.map((r) => r.virtualTimeNs)).toEqual(sim.results.map((r) => r.virtualTimeNs));
    }
  });

  it("contended: direct all-to-all (every port an incast) within 1% of the sim", async () => {
    const w = { collective: "all-to-all", algorithm: "direct", sizes: ["64KiB", "16MiB"] };
    const { report } = await runNats(scenario(SMALL_CM384, w, natsOpts()));
    const sim = await runSim(scenario(SMALL_CM384, w));
    expect(report.status).toBe("ok");
    report.results.forEach((r, i) => {
      const s = sim.results[i]!.virtualTimeNs;
      expect(Math.abs(r.virtualTimeNs - s) / s).toBeLessThanOrEqual(0.01);
    });
  });
});

describe("deployment.localDelivery (grouped placement)", () => {
  /**
   * 2 nodes × 4 NPUs, aggregated: one host per node (4 NPUs + its L1) and one for the 16 L2 chips.
   * A ring all-reduce over the 8 NPUs crosses nodes on 2 of its 8 ring edges; with local delivery
   * the hops between an NPU and its own node's L1 stay in the process, so fewer data messages pass
   * the server than the engine delivered — and virtual times and results are exactly the sim's either way.
   */
  it("co-located actors skip the server; times, results and message counts equal the sim's, both ways", async () => {
    const { connect } = await import("@nats-io/transport-node");
    const w = { collective: "all-reduce", algorithm: "ring", sizes: ["64KiB", "16MiB"] };
    const sim = await runSim(scenario(SMALL_CM384, w));
    const seen: Record<string, number> = {};
    for (const local of [false, true]) {
      const run = `localdelivery${local ? 1 : 0}`;
      const nc = await connect({ servers: server.url });
      let passed = 0;
      nc.subscribe(`sn.${run}.d.>`, { callback: () => { passed++; } });
      await nc.flush();
      const { report } = await runNats(scenario(SMALL_CM384, w, { engine: "nats", deployment: { nats: server.url, placement: "grouped", run, localDelivery: local } }));
      await nc.flush();
      await nc.close();
      expect(report.status).toBe("ok");
      expect(report.processes).toBe(3);
      expect(report.results.map((r) => r.virtualTimeNs)).toEqual(sim.results.map((r) => r.virtualTimeNs));
      const delivered = report.results.reduce((s, r) => s + r.messages, 0);
      expect(delivered).toBe(sim.results.reduce((s, r) => s + r.messages, 0));
      seen[run] = passed;
      // Pure NATS: every data message the engine delivered went through the server.
      if (!local) expect(passed).toBe(delivered);
      // Local: only the hops between processes (L1 ↔ L2) did, well under half of them.
      else expect(passed).toBeLessThan(delivered / 2);
    }
    expect(seen.localdelivery1).toBeGreaterThan(0);
  });
});

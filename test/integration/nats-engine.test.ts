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

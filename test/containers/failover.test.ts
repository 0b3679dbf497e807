import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StartedTestContainer } from "testcontainers";
import { loadScenario } from "../../shared/config/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario } from "../../services/coordinator/index.js";
import { runSim, scenario } from "../helpers/run.js";
import { credentialsEnv, makeDeployment, startActorHosts, startNatsCluster, withEnv, type NatsCluster, type TestDeployment } from "./fixtures.js";

/**
 * Losing a NATS server is not fatal: the coordinator (in this process, on the cluster's mapped ports)
 * runs a workload with its actors in containers, then the server holding the most actor connections
 * is killed (SIGKILL) while the supernode is up, every client reconnects to the two others, and the
 * next workload completes, verified and equal to the sim engine.
 *
 * The kill falls between two workloads, not inside an op: core NATS is at-most-once, and the NATS
 * engine does not yet retransmit, so a data message lost inside the dying server stalls that op
 * (the watchdog then reports it; see docs/containers.md).
 *
 * The two workloads run on one engine: its cursor gives the second one fresh op ids and starts it in
 * virtual time where the first ended.
 */
const SMALL_CM384 = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" };
const WORKLOAD = { collective: "all-reduce", algorithm: "ring", sizes: ["4KiB", "1MiB", "1GiB"] };
const RUN = "failover";
const RECONNECT_TIMEOUT_MS = 15_000;
let d: TestDeployment;
let cluster: NatsCluster;
let hosts: StartedTestContainer[] = [];

beforeAll(async () => {
  d = makeDeployment(scenario(SMALL_CM384, WORKLOAD, { deployment: { run: RUN } }), "grouped");
  cluster = await startNatsCluster(d);
  hosts = await startActorHosts(cluster, d);
});
afterAll(async () => {
  await Promise.allSettled(hosts.map((h) => h.stop()));
  await cluster?.[Symbol.asyncDispose]();
});

/** Client connection names on each live server (actors are named `<run>:<device>`). */
async function clientsBy(servers: readonly number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const i of servers) out.set(i, ((await cluster.monitor(i, "/connz?limit=1000")).body.connections ?? []).map((c: { name?: string }) => c.name ?? ""));
  return out;
}

describe("NATS server loss", () => {
  it("a killed server's clients reconnect to the others; the supernode's next workload completes, verified and equal to the sim", async () => {
    const sim = await runSim(scenario(SMALL_CM384, WORKLOAD));
    const loaded = loadScenario({
      raw: scenario(SMALL_CM384, WORKLOAD, { engine: "nats", deployment: { run: RUN, placement: "external", nats: cluster.urls.join(",") } }),
    });
    await withEnv(credentialsEnv(d, "coordinator"), async () => {
      await using engine = await NatsEngine.start(loaded, silentLogger);
      const before = (await runScenario(loaded, engine)).results;
      expect(before.map((r) => r.verified)).toEqual([true, true, true]);

      const clients = await clientsBy([0, 1, 2]);
      const actorsOn = (i: number) => clients.get(i)!.filter((n) => n.startsWith(`${RUN}:`)).length;
      const victim = [0, 1, 2].sort((a, b) => actorsOn(b) - actorsOn(a))[0]!;
      expect(actorsOn(victim)).toBeGreaterThan(0);
      await cluster.servers[victim]!.stop({ timeout: 0 }); // SIGKILL

      const survivors = [0, 1, 2].filter((i) => i !== victim);
      const deadline = Date.now() + RECONNECT_TIMEOUT_MS;
      let moved = 0;
      for (;;) {
        const now = [...(await clientsBy(survivors)).values()].flat();
        moved = now.filter((n) => n.startsWith(`${RUN}:`)).length;
        if (moved === 26 && now.includes("supernode-coordinator")) break;
        if (Date.now() > deadline) throw new Error(`only ${moved}/26 actors reconnected within ${RECONNECT_TIMEOUT_MS} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }

      const after = (await runScenario(loaded, engine)).results;
      expect(after[0]!.startNs).toBe(before.at(-1)!.endNs);
      expect(after.map((r) => r.verifyError)).toEqual([undefined, undefined, undefined]);
      expect(after.map((r) => r.verified)).toEqual([true, true, true]);
      expect(after.map((r) => r.virtualTimeNs)).toEqual(sim.results.map((r) => r.virtualTimeNs));
      expect(before.map((r) => r.virtualTimeNs)).toEqual(sim.results.map((r) => r.virtualTimeNs));
    });
  });
});

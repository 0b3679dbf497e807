import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Wait, type StartedTestContainer } from "testcontainers";
import type { Report } from "../../services/coordinator/index.js";
import { IN_CONTAINER_DIR, SCENARIO_FILE } from "../../services/cli/compose/index.js";
import { runSim } from "../helpers/run.js";
import { makeDeployment, serviceContainer, startActorHosts, startNatsCluster, waitExit, type NatsCluster, type TestDeployment } from "./fixtures.js";

/**
 * A collective and an MoE layer across containers, every role from the one image: a 3-server NATS cluster with the
 * generated users, actor hosts in grouped placement (one container per node with its NPUs and L1
 * switch, one for the 16 spine switches) and the coordinator as a container (`supernode run` with
 * external placement), all on one Docker network. Its report must verify every rank's data and
 * equal the sim engine's virtual results exactly (uncontended ring: wall order cannot matter).
 */
const SMALL_CM384 = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" };
const WORKLOAD = [
  { kind: "collective", collective: "all-reduce", algorithm: "ring", sizes: ["4KiB", "1MiB", "64MiB", "1GiB"], ranks: "all" },
  { kind: "moe-layer", tokensPerRank: 64, sharedExperts: 1, gating: { kind: "zipf", exponent: 1.0 }, capacityFactor: 1.25 },
];
const RAW = { topology: SMALL_CM384, workload: WORKLOAD, seed: 7 };
let d: TestDeployment;
let cluster: NatsCluster;
let hosts: StartedTestContainer[] = [];

beforeAll(async () => {
  d = makeDeployment({ ...RAW, engine: "nats", deployment: { run: "coll" } }, "grouped");
  cluster = await startNatsCluster(d);
  hosts = await startActorHosts(cluster, d);
});
afterAll(async () => {
  await Promise.allSettled(hosts.map((h) => h.stop()));
  await cluster?.[Symbol.asyncDispose]();
});

describe("collective and MoE layer across containers", () => {
  it("coordinator + 3 actor-host containers on a NATS cluster: verified, and virtual results equal the sim engine's", async () => {
    expect(hosts.map((h) => h.getLabels()["io.supernode.role"])).toEqual(["host", "host", "host"]);
    // No exposed ports: this wait returns at once (the image's health check would fail a container that
    // is done); waitExit then waits for the run itself.
    const coordinator = await serviceContainer(cluster, d, "coordinator", ["run", `${IN_CONTAINER_DIR}/${SCENARIO_FILE}`, "--json"])
      .withWaitStrategy(Wait.forListeningPorts()).start();
    try {
      const { code, stdout, stderr } = await waitExit(coordinator);
      expect(code, stderr).toBe(0);
      const report = JSON.parse(stdout) as Report;
      const sim = await runSim({ ...RAW, engine: "sim" });
      expect(report.engine).toBe("nats");
      expect(report.status).toBe("ok");
      expect(report.topology.actorCount).toBe(26);
      expect(report.results.map((r) => r.verified)).toEqual([true, true, true, true]);
      expect(report.scenarioHash).toBe(sim.scenarioHash);
      expect(report.results.map((r) => r.virtualTimeNs)).toEqual(sim.results.map((r) => r.virtualTimeNs));
      expect(report.results.map((r) => r.messages)).toEqual(sim.results.map((r) => r.messages));
      // The MoE layer: every token back and checked at its origin, drops counted, the layer's virtual time
      // within 1% of the sim engine's (switch ports may see stripes in another wall order).
      expect(report.moe).toHaveLength(1);
      const [m, s] = [report.moe[0]!, sim.moe[0]!];
      expect(m.verified, m.verifyError).toBe(true);
      expect(m.droppedTokens).toBe(s.droppedTokens);
      expect(m.droppedTokens).toBeGreaterThan(0);
      expect(Math.abs(m.layerNs - s.layerNs) / s.layerNs).toBeLessThanOrEqual(0.01);
    } finally {
      await coordinator.stop();
    }
  });
});

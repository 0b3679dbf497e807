import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";

/** deployment.natsServers: 1 or 3 embedded servers, only where the servers are embedded. */
const base = { topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 }, workload: { kind: "collective", collective: "all-reduce", sizes: ["4KiB"] } };
const load = (deployment: Record<string, unknown>) => loadScenario({ raw: { ...base, deployment } });

describe("deployment.natsServers", () => {
  it("defaults to 1 and accepts 3", () => {
    expect(load({}).scenario.deployment.natsServers).toBe(1);
    expect(load({ natsServers: 3 }).scenario.deployment.natsServers).toBe(3);
  });

  it("refuses other counts, naming the field", () => {
    expect(() => load({ natsServers: 2 })).toThrow("deployment.natsServers: 1 (one embedded nats-server) or 3 (an embedded 3-server cluster)");
    expect(() => load({ natsServers: "3" })).toThrow(/^deployment\.natsServers: /);
  });

  it("refuses 3 with deployment.nats, naming the field; 1 with it is fine", () => {
    expect(() => load({ nats: "nats://127.0.0.1:4222", natsServers: 3 })).toThrow(/^deployment\.natsServers: 3 starts an embedded cluster, but deployment\.nats names servers/);
    expect(load({ nats: "nats://127.0.0.1:4222", natsServers: 1 }).scenario.deployment.nats).toBe("nats://127.0.0.1:4222");
  });
});

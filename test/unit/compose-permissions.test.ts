import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { deploymentOf, natsAuthConf, operatorInboxPrefix, permissionsOf, Role, type Principal } from "../../services/cli/compose/index.js";

/**
 * Generated NATS permissions are per run: every subject pattern of every principal names its run id
 * (`sn.<run>.…`), except `$SRV.>` (micro service discovery, global by protocol) and the observer's
 * publish deny-all. A run-A credential therefore matches no subject of run B. The container tier
 * (test/containers/security.test.ts) checks that a real cluster enforces it.
 */
const principal = (user: string, role: Role, actors: number[] = []): Principal =>
  ({ user, role, actors: actors as never, passwordVar: `SN_PASS_${user.toUpperCase()}` });

describe("permissionsOf pins every principal to its run", () => {
  it("an NPU publishes data, reports and heartbeats as itself in its run, and reads its own inbox there", () => {
    expect(permissionsOf(principal("npu-n0-3", Role.Npu, [3]), "r1")).toEqual({
      publish: { allow: ["sn.r1.d.3.>", "sn.r1.u.3.coord", "sn.r1.h.3.coord"] },
      subscribe: { allow: ["sn.r1.*.*.3"] },
    });
  });

  it("a host speaks for each of its actors, in its run only", () => {
    expect(permissionsOf(principal("node-0", Role.Host, [0, 8]), "r1")).toEqual({
      publish: { allow: ["sn.r1.d.0.>", "sn.r1.u.0.coord", "sn.r1.h.0.coord", "sn.r1.d.8.>", "sn.r1.u.8.coord", "sn.r1.h.8.coord"] },
      subscribe: { allow: ["sn.r1.*.*.0", "sn.r1.*.*.8"] },
    });
  });

  it("coordinator, chaos, observer and operator", () => {
    expect(permissionsOf(principal("coordinator", Role.Coordinator), "r1")).toEqual({
      publish: { allow: ["sn.r1.c.coord.>"] },
      subscribe: { allow: ["sn.r1.*.*.coord", "sn.r1.api.>", "$SRV.>"] },
      allowResponses: true,
    });
    // chaos: control, and the control API's fault injection only (replies under its own inbox prefix).
    expect(permissionsOf(principal("chaos", Role.Chaos), "r1")).toEqual({ publish: { allow: ["sn.r1.c.>", "sn.r1.api.chaos"] }, subscribe: { allow: ["sn.r1.>", "_INBOX.r1.chaos.>"] } });
    expect(permissionsOf(principal("observer", Role.Observer), "r1")).toEqual({ publish: { deny: [">"] }, subscribe: { allow: ["sn.r1.>"] } });
    expect(permissionsOf(principal("operator", Role.Operator), "r1")).toEqual({
      publish: { allow: ["sn.r1.api.>", "$SRV.>"] },
      subscribe: { allow: ["_INBOX.r1.>"] },
    });
    expect(operatorInboxPrefix("r1")).toBe("_INBOX.r1");
  });

  it("refuses a run id that is not one subject token (a dot or a wildcard would widen the patterns)", () => {
    for (const bad of ["", "a.b", "*", ">", "a b"]) {
      expect(() => permissionsOf(principal("observer", Role.Observer), bad), bad).toThrow(/run id/);
    }
  });

  it("the generated auth file of a deployment names only its run (deployment.run, default compose)", () => {
    const raw = { topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" }, workload: { kind: "collective", collective: "all-reduce", sizes: ["4KiB"] } };
    for (const [run, expected] of [[undefined, "compose"], ["blue", "blue"]] as const) {
      const d = deploymentOf(loadScenario({ raw: { ...raw, ...(run ? { deployment: { run } } : {}) } }), "per-actor");
      expect(d.run).toBe(expected);
      expect(d.authConf).toBe(natsAuthConf(d.principals, expected));
      const patterns = [...d.authConf.matchAll(/(?:allow|deny): \[([^\]]*)\]/g)].flatMap((m) => m[1]!.split(", ").map((s) => JSON.parse(s) as string));
      expect(patterns.length).toBe(4 + 4 + 2 + 3 + 26 * 4); // coordinator, chaos, observer, operator, 26 actors × (3 publish + 1 subscribe)
      const outside = patterns.filter((p) => !p.startsWith(`sn.${expected}.`) && p !== "$SRV.>" && p !== `_INBOX.${expected}.>` && p !== `_INBOX.${expected}.chaos.>` && p !== ">");
      expect(outside).toEqual([]);
      expect(d.authConf).not.toContain("sn.*");
    }
  });
});

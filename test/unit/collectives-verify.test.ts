import { describe, expect, it } from "vitest";
import { crc32 } from "../../shared/codec/index.js";
import { loadScenario } from "../../shared/config/index.js";
import type { DataMsg } from "../../shared/protocol/index.js";
import { SimEngine, type ActorLogic } from "../../shared/runtime/index.js";
import { npuLogic } from "../../services/npu/index.js";
import { switchLogic, type SwitchState } from "../../services/switch/index.js";
import { runScenario } from "../../services/coordinator/index.js";
import { runSim, scenario, singleSwitch } from "../helpers/run.js";

const COMBOS: [string, string][] = [
  ["all-reduce", "ring"], ["all-reduce", "direct"], ["all-reduce", "halving-doubling"],
  ["reduce-scatter", "ring"], ["all-gather", "ring"], ["all-to-all", "direct"], ["all-to-all-v", "direct"],
  ["broadcast", "pipeline"], ["broadcast", "direct"],
];
const TOPOLOGIES: [string, Record<string, unknown>][] = [
  ["one switch, 7 ranks", singleSwitch(7)],
  ["CM384 2 nodes × 4, physical", { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "physical" }],
  ["CM384 1 node as 16 dies", { preset: "cloudmatrix384", nodes: 1, rankUnit: "die" }],
  ["NVL72 physical", { preset: "nvl72", switches: "physical" }],
];

describe("every collective delivers exactly the independently computed result", () => {
  for (const [tname, topology] of TOPOLOGIES) {
    for (const [collective, algorithm] of COMBOS) {
      it(`${collective}/${algorithm} on ${tname}`, async () => {
        const rep = await runSim(scenario(topology, { collective, algorithm, sizes: ["4KiB", "16MiB"], root: 1 }));
        for (const r of rep.results) expect(r.verifyError ?? "ok").toBe("ok");
        expect(rep.status).toBe("ok");
      });
    }
  }
  it("hierarchical all-reduce on CM384 3 nodes × 8", async () => {
    const rep = await runSim(scenario({ preset: "cloudmatrix384", nodes: 3 }, { collective: "all-reduce", algorithm: "hierarchical", sizes: ["1MiB"] }));
    expect(rep.results[0]!.verifyError ?? "ok").toBe("ok");
  });
  it("all-to-all-v is never faster than its busiest port allows", async () => {
    const rep = await runSim(scenario(singleSwitch(9), { collective: "all-to-all-v", algorithm: "direct", sizes: ["1MiB", "256MiB"] }));
    for (const r of rep.results) expect(r.virtualTimeNs).toBeGreaterThanOrEqual(r.closedFormNs * 0.999);
  });
});

/** A switch that corrupts the first non-empty payload it forwards, optionally re-signing it. */
function corruptingSwitch(resign: boolean): ActorLogic<SwitchState> {
  let done = false;
  return {
    ...switchLogic,
    receive(state, msg, ctx) {
      const step = switchLogic.receive(state, msg, ctx);
      if (done) return step;
      const outbound = step.outbound.map((o) => {
        const m = o.msg as DataMsg;
        const i = m.type === "data" ? m.parts.findIndex((p) => p.payload.length > 0) : -1;
        if (done || i < 0) return o;
        done = true;
        const part = m.parts[i]!;
        const payload = part.payload.slice();
        payload[0] = payload[0]! + 1;
        const parts = m.parts.map((p, j) => (j === i ? { ...p, payload, crc: resign ? crc32(payload) : p.crc } : p));
        return { ...o, msg: { ...m, parts } };
      });
      return { state: step.state, outbound };
    },
  };
}

describe("verification can fail", () => {
  const raw = scenario(singleSwitch(4), { collective: "all-reduce", algorithm: "ring", sizes: ["1MiB"] });
  for (const resign of [false, true]) {
    it(resign ? "a wrong value with a valid checksum fails the reference check" : "a corrupted payload is caught by its checksum and the op fails", async () => {
      const loaded = loadScenario({ raw });
      const engine = new SimEngine({ topology: loaded.topology, npu: npuLogic as ActorLogic<never>, switch: corruptingSwitch(resign) as ActorLogic<never> });
      const rep = await runScenario(loaded, engine);
      // A dropped stripe leaves its receiver waiting: the run ends stalled; a wrong value fails the check.
      expect(rep.status).toBe(resign ? "failed" : "stalled");
      expect(rep.results[0]!.verifyError).toMatch(resign ? /element \d+ is/ : /never finished/);
      if (!resign) {
        // Exactly one stripe was corrupted, so exactly one endpoint counted one bad checksum, and the
        // report says so (reason, actor, and on the status line's `rejected`).
        expect(rep.rejected.corrupt).toBe(1);
        expect(rep.rejected.total).toBe(1);
        const [actor, counts] = Object.entries(rep.rejected.byActor)[0]!;
        expect(actor).toMatch(/^npu/); // an endpoint (custom names: npu0, npu1, …)
        expect(counts.corrupt).toBe(1);
      }
    });
  }
});

describe("determinism", () => {
  it("three runs of one scenario give identical reports apart from wall-time fields", async () => {
    const raw = scenario({ preset: "cloudmatrix384", nodes: 2, switches: "physical" }, { collective: "all-to-all-v", algorithm: "direct", sizes: ["4KiB", "64MiB"] });
    const strip = (r: unknown) => JSON.stringify(r, (k, v) => (k.startsWith("wall") ? undefined : v)); // wallMs, wallHopsPerSec
    const reports = await Promise.all([1, 2, 3].map(() => runSim(raw)));
    expect(strip(reports[1])).toBe(strip(reports[0]));
    expect(strip(reports[2])).toBe(strip(reports[0]));
  });
});

describe("one engine, several runs", () => {
  it("a second workload continues the op ids and the virtual clock, and times the same", async () => {
    const loaded = loadScenario({ raw: scenario(singleSwitch(5), { collective: "all-reduce", algorithm: "ring", sizes: ["1MiB", "64MiB"] }) });
    const engine = new SimEngine({ topology: loaded.topology, npu: npuLogic as ActorLogic<never>, switch: switchLogic as ActorLogic<never> });
    const first = await runScenario(loaded, engine);
    const second = await runScenario(loaded, engine);
    expect(second.status).toBe("ok");
    expect(second.results[0]!.startNs).toBe(first.results.at(-1)!.endNs);
    expect(engine.cursor.nextOp).toBe(5); // ops 1-2, then 3-4
    // Ports are idle between ops, so a later start shifts every time and changes no duration.
    expect(second.results.map((r) => r.virtualTimeNs)).toEqual(first.results.map((r) => r.virtualTimeNs));
  });
});

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadScenario } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { PROTOCOL_VERSION, type Message, type WindowReportMsg } from "../../shared/protocol/index.js";
import { HeldData } from "../../shared/runtime/held-data.js";
import { lookaheadNs, Windows } from "../../services/coordinator/index.js";
import { decode } from "../../shared/codec/index.js";
import { singleSwitch } from "../helpers/run.js";

// deployment.timing: exact (docs/nats-engine.md §9.1): the pure parts — the held data's order, the
// windows' settling rule, the lookahead and what the scenario refuses. The whole mode against the sim
// engine, on real processes: test/integration/nats-exact-timing.test.ts.

const msg = (tag: number): Message => ({ v: PROTOCOL_VERSION, type: "op-open", from: -1, epoch: 0, inc: 0, op: tag });

describe("HeldData", () => {
  it("releases in (time, arrival) order, only what is due before the bound", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 300 }), fc.integer({ min: 0, max: 45 }), (times, until) => {
      const h = new HeldData();
      times.forEach((t, i) => h.hold(t, "s", msg(i)));
      const out: number[] = [];
      for (let e = h.takeBefore(until); e; e = h.takeBefore(until)) out.push((e.msg as { op: number }).op);
      // The reference: a stable sort by time of the arrivals before the bound.
      const want = times.map((t, i) => [t, i] as const).filter(([t]) => t < until).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
      expect(out).toEqual(want);
      expect(h.size).toBe(times.length - want.length);
      const rest = times.filter((t) => t >= until);
      expect(h.nextNs).toBe(rest.length ? Math.min(...rest) : undefined);
    }), { numRuns: 200 });
  });
});

describe("Windows", () => {
  const report = (from: number, window: number, sent: number, received: number, nextNs?: number): WindowReportMsg =>
    ({ v: PROTOCOL_VERSION, type: "window-report", from, epoch: 0, inc: 0, op: 5, window, sent, received, ...(nextNs !== undefined ? { nextNs: nextNs as never } : {}) });
  it("starts the next window only when every actor answered and nothing is in flight, at the earliest held time + lookahead", async () => {
    const sent: { to: number; untilNs: number; window: number }[] = [];
    const w = new Windows(5, 1, [0, 1], 12.5, (to, b) => { const m = decode(b) as { untilNs: number; window: number }; sent.push({ to, untilNs: m.untilNs, window: m.window }); });
    const done = w.run(1000);
    await Promise.resolve();
    expect(sent).toEqual([{ to: 0, untilNs: 1000, window: 0 }, { to: 1, untilNs: 1000, window: 0 }]);
    w.onReport(report(0, 0, 3, 0, 1100));
    w.onReport(report(1, 0, 0, 2, 1040)); // one of actor 0's three messages still in flight: 3 sent, 2 received
    await Promise.resolve();
    expect(sent.length).toBe(2);
    w.onReport(report(1, 0, 0, 3, 1030)); // it arrived (actor 1 answers again): the earliest is now 1030
    await new Promise((r) => setImmediate(r));
    expect(sent.slice(2)).toEqual([{ to: 0, untilNs: 1042.5, window: 1 }, { to: 1, untilNs: 1042.5, window: 1 }]);
    w.onReport(report(0, 1, 3, 0));
    w.onReport(report(1, 1, 3, 3)); // nothing held, nothing in flight: no third window until stopped
    await new Promise((r) => setImmediate(r));
    expect(sent.length).toBe(4);
    w.stop();
    await done;
    expect(w.count).toBe(2);
  });
  it("takes half the smallest link latency as its lookahead, and refuses a fabric with a link of 0 ns", () => {
    // singleSwitch(n, bw, lat): every link lat ns; the lookahead is lat / 2.
    expect(lookaheadNs(loadScenario({ raw: { topology: singleSwitch(4, 100, 30), workload: { kind: "collective", collective: "all-reduce", sizes: ["1KiB"] }, engine: "sim" } }).topology)).toBe(15);
    const zero = loadScenario({ raw: { topology: singleSwitch(4, 100, 0), workload: { kind: "collective", collective: "all-reduce", sizes: ["1KiB"] }, engine: "sim" } }).topology;
    expect(() => lookaheadNs(zero)).toThrow(/deployment\.timing: exact needs every link's latency above 0 ns/);
  });
});

describe("deployment.timing in a scenario", () => {
  const base = { topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 }, workload: { kind: "collective", collective: "all-reduce", sizes: ["1KiB"] }, engine: "nats" };
  it("defaults to wall, takes exact, refuses anything else naming the field", () => {
    expect(loadScenario({ raw: base }).scenario.deployment.timing).toBe("wall");
    expect(loadScenario({ raw: { ...base, deployment: { timing: "exact" } } }).scenario.deployment.timing).toBe("exact");
    expect(() => loadScenario({ raw: { ...base, deployment: { timing: "virtual" } } })).toThrow(/deployment\.timing/);
  });
  it("refuses exact with faults (lost messages and restarted actors would hold a window open)", () => {
    const faults = [{ kind: "link-degrade", target: "npu.n0.1->l1.n0", bandwidthFactor: 0.5, at: { op: 1 } }];
    let err: unknown;
    try { loadScenario({ raw: { ...base, deployment: { timing: "exact" }, faults } }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ScenarioError);
    expect(String((err as Error).message)).toMatch(/^deployment\.timing: exact does not take faults yet/);
  });
});

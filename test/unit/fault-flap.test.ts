import { describe, expect, it } from "vitest";
import { decode, encode } from "../../shared/codec/index.js";
import { asMessage, COORDINATOR, emptyRejectCounts, PROTOCOL_VERSION, type FaultMsg, type Message } from "../../shared/protocol/index.js";
import { DEFAULT_LIMITS, silentLogger, type ActorContext } from "../../shared/runtime/index.js";
import { npuLogic } from "../../services/npu/index.js";
import { switchLogic } from "../../services/switch/index.js";
import { decodeMessage } from "../adversarial/client/wire.js";
import { loadScenario } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { downUntil } from "../../shared/faults/index.js";
import { routeAlphaBeta, serializationNs } from "../../shared/linkmodel/index.js";
import type { NpuId } from "../../shared/units/index.js";
import { runTallied } from "../helpers/fault-run.js";
import { runSim, scenario, singleSwitch } from "../helpers/run.js";

/**
 * link-flap (docs/chaos.md §2): a link down during [start + phaseNs + k·periodNs, … + duty·periodNs),
 * counted from the virtual start of the fault's first op. Whether a transfer may use a stripe that
 * crosses it is decided by the transfer's send time (`sentNs`, the same in every actor's copy), so
 * sender, switches and destination filter alike and nothing is refused; stripes already sent when
 * the link goes down complete; a transfer with no stripe left waits for the link to come up.
 */

const S = 1_048_576; // 1 MiB
const BCAST = { collective: "broadcast", algorithm: "direct", sizes: ["1MiB"] };

/** singleSwitch(2): 100 GB/s and 100 ns per link, switch 150 ns, endpoint overhead 400 ns. */
const SER = serializationNs(S, 100); // 10,485.76 ns, rounded up to the 1/1024 ns grid
const CLEAN_NS = 400 + 100 + 150 + 100 + SER; // 11,235.76 ns: one stripe npu0 → sw → npu1, cut-through

function errorOf(raw: unknown): string {
  try { loadScenario({ raw }); } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as Error).message;
  }
  throw new Error("the scenario loaded");
}

describe("link-flap: the window arithmetic", () => {
  it("down during [start + k·period, start + k·period + duty·period), up before the first window", () => {
    const f = { links: [], startNs: 1_000, periodNs: 10_000, downNs: 3_000 };
    expect(downUntil(f, 999)).toBeUndefined();
    expect(downUntil(f, 1_000)).toBe(4_000);
    expect(downUntil(f, 3_999)).toBe(4_000);
    expect(downUntil(f, 4_000)).toBeUndefined(); // the window is half-open
    expect(downUntil(f, 21_500)).toBe(24_000); // k = 2
  });
});

describe("link-flap on a single switch: the only stripe", () => {
  it("a transfer sent while the link is down waits for the end of the window: T = duty · period + the fault-free time", async () => {
    // Down [0, 50,000) ns of every 100,000: the broadcast's one transfer, issued at 0, leaves at 50,000.
    // T = 50,000 + 11,235.76 = 61,235.76 ns; at duty 0.25, 25,000 + 11,235.76 = 36,235.76 ns.
    for (const duty of [0.5, 0.25]) {
      const { rep, tally } = await runTallied(scenario(singleSwitch(2), BCAST, { faults: [{ kind: "link-flap", target: "npu0->sw", periodNs: 100_000, duty, at: { op: 0 } }] }));
      const r = rep.results[0]!;
      expect(r.verified).toBe(true);
      expect(r.virtualTimeNs).toBeCloseTo(duty * 100_000 + CLEAN_NS, 6);
      expect(tally.get("npu0")).toMatchObject({ flapWaits: 1, flapWaitNs: duty * 100_000 });
      expect(rep.rejected.total).toBe(0);
      console.log(`link-flap duty ${duty}: emulated ${r.virtualTimeNs} ns, duty · period + ${CLEAN_NS} = ${duty * 100_000 + CLEAN_NS} ns`);
    }
  });

  it("a stripe already on the link when it goes down completes: the fault-free time, to the bit", async () => {
    // Down from 1,000 ns on; the stripe, sent at 0, serializes on npu0 → sw during [0, 10,485.76): it
    // was sent while the link was up, so every actor keeps it on its path.
    const clean = await runSim(scenario(singleSwitch(2), BCAST));
    const rep = await runSim(scenario(singleSwitch(2), BCAST, { faults: [{ kind: "link-flap", target: "npu0->sw", periodNs: 1_000_000, duty: 0.5, phaseNs: 1_000, at: { op: 0 } }] }));
    expect(clean.results[0]!.virtualTimeNs).toBeCloseTo(CLEAN_NS, 6);
    expect(rep.results[0]!.virtualTimeNs).toBe(clean.results[0]!.virtualTimeNs);
    expect(rep.rejected.total).toBe(0);
  });

  it("loads where a link-down of the same link is refused (it cuts the pair for good), and says the pair waits", async () => {
    expect(errorOf(scenario(singleSwitch(2), BCAST, { faults: [{ kind: "link-down", target: "npu0->sw", at: { op: 0 } }] }))).toMatch(/^faults\[0\]\.target: link-down of npu0->sw leaves no route/);
    const l = loadScenario({ raw: scenario(singleSwitch(2), BCAST, { faults: [{ kind: "link-flap", target: "npu0->sw", periodNs: 1000, duty: 0.5, at: { op: 0 } }] }) });
    expect(l.faultPlan!.faults[0]!.reroute).toBe("1 endpoint pairs wait for it to come up");
    expect(l.faultPlan!.faults[0]!.decl).toMatchObject({ periodNs: 1000, duty: 0.5, phaseNs: 0 });
  });
});

describe("link-flap on CloudMatrix384: a lane pair of 14 stripes", () => {
  // Physical CM384, one node of 2 NPUs: npu.n0.0 → npu.n0.1 has 14 stripes (7 plane chips × 2 lanes of
  // 28 GB/s). With npu.n0.0 → l1.n0.p0 down, 12: the transfer of S takes α + ⌈S/12⌉ / 28 instead of
  // α + ⌈S/14⌉ / 28 (splitEven: the largest share), α = 600 ns here (overhead + 2 links + 1 switch).
  const topo = { preset: "cloudmatrix384", nodes: 1, npusPerNode: 2, switches: "physical" };
  const w = { ...BCAST, sizes: ["1MiB", "1MiB"] };
  const flap = (phaseNs: number) => ({ faults: [{ kind: "link-flap", target: "npu.n0.0->l1.n0.p0", periodNs: 100_000, duty: 0.5, phaseNs, at: { op: 0 } }] });

  it("sent while it is down: exactly a link-down of that lane pair (12 stripes); while up: exactly fault-free (14)", async () => {
    const t = loadScenario({ raw: scenario(topo, w) }).topology;
    const [a, b] = t.endpoints as [NpuId, NpuId];
    const alpha = routeAlphaBeta(t, t.route(a, b)).alphaNs;
    const [clean, down, flapDown, flapUp] = await Promise.all([
      runSim(scenario(topo, w)),
      runSim(scenario(topo, w, { faults: [{ kind: "link-down", target: "npu.n0.0->l1.n0.p0", at: { op: 0 } }] })),
      runSim(scenario(topo, w, flap(0))), // both ops start inside [0, 50,000)
      runSim(scenario(topo, w, flap(50_000))), // both before the first window
    ]);
    for (let i = 0; i < 2; i++) {
      expect(flapDown.results[i]!.virtualTimeNs).toBe(down.results[i]!.virtualTimeNs);
      expect(flapUp.results[i]!.virtualTimeNs).toBe(clean.results[i]!.virtualTimeNs);
    }
    expect(alpha).toBe(600);
    expect(down.results[0]!.virtualTimeNs).toBeCloseTo(alpha + serializationNs(Math.ceil(S / 12), 28), 1); // 3,720.79 ns
    expect(clean.results[0]!.virtualTimeNs).toBeCloseTo(alpha + serializationNs(Math.ceil(S / 14), 28), 1); // 3,274.94 ns
    expect(flapDown.rejected.total + flapUp.rejected.total).toBe(0);
    expect(flapDown.faults![0]).toMatchObject({ actors: 9, recovery: "none: flapping (down 50% of every 100000 ns, from 0 ns after its first op began); while it is down, 1 endpoint pairs keep 12 of 14 stripes" });
  });

  it("a ring all-reduce whose steps fall in both states lies between fault-free and link-down, results verified, nothing refused", async () => {
    // 2 × 2 physical, ring 4 MiB: 6 steps of about 3 µs. Down 50% of every 4 µs: some steps are sent
    // while npu.n0.1 → l1.n0.p0 is up (14 stripes), some while down (12), so the time lies strictly
    // between the two fabrics' times; every actor filtered every transfer alike (rejected 0).
    const topo2 = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 2, switches: "physical" };
    const ring = { collective: "all-reduce", algorithm: "ring", sizes: ["4MiB"] };
    const target = "npu.n0.1->l1.n0.p0";
    const [clean, down, flapped] = await Promise.all([
      runSim(scenario(topo2, ring)),
      runSim(scenario(topo2, ring, { faults: [{ kind: "link-down", target, at: { op: 0 } }] })),
      runSim(scenario(topo2, ring, { faults: [{ kind: "link-flap", target, periodNs: 4_000, duty: 0.5, at: { op: 0 } }] })),
    ]);
    const [c, d, f] = [clean, down, flapped].map((r) => r.results[0]!.virtualTimeNs) as [number, number, number];
    console.log(`ring 4 MiB, 2 × 2: fault-free ${c} ns, flapping ${f} ns, link-down ${d} ns`);
    expect(flapped.results[0]!.verified).toBe(true);
    expect(f).toBeGreaterThan(c);
    expect(f).toBeLessThan(d);
    expect(flapped.rejected.total).toBe(0);
  });
});

describe("link-flap: errors name their field", () => {
  const f = (over: Record<string, unknown>) => scenario(singleSwitch(2), BCAST, { faults: [{ kind: "link-flap", target: "npu0->sw", periodNs: 1000, duty: 0.5, at: { op: 0 }, ...over }] });
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["no period", { periodNs: undefined }, /^faults\[0\]\.periodNs: required/],
    ["a period of 0", { periodNs: 0 }, /^faults\[0\]\.periodNs: must be in \(0, 1000000000000\] ns, got 0/],
    ["no duty", { duty: undefined }, /^faults\[0\]\.duty: required/],
    ["a duty of 1 (always down: a link-down)", { duty: 1 }, /^faults\[0\]\.duty: must be in \(0, 1\) \(the fraction of each period the link is down\), got 1/],
    ["a negative phase", { phaseNs: -1 }, /^faults\[0\]\.phaseNs: must be in \[0, 1000000000000\] ns, got -1/],
    ["an actor target", { target: "npu0" }, /^faults\[0\]\.target: link-flap takes a link "from->to" \(or "a<->b"\), got the actor "npu0"/],
    ["a key of another kind", { pct: 5 }, /^faults\[0\]\.pct: unknown key for link-flap \(its keys: kind, target, at, duration, periodNs, duty, phaseNs\)/],
  ];
  for (const [name, over, re] of cases) it(name, () => expect(errorOf(JSON.parse(JSON.stringify(f(over))))).toMatch(re));
});

describe("the wire: a link-flap", () => {
  const { topology: t } = loadScenario({ raw: scenario(singleSwitch(2), BCAST) });
  const fault = (over: Partial<FaultMsg> = {}): FaultMsg => ({
    v: PROTOCOL_VERSION, type: "fault", from: COORDINATOR, epoch: 1, inc: 0, fault: 0, kind: "link-flap", targets: [0], fromOp: 2, untilOp: 4,
    periodNs: 1000, duty: 0.25, phaseNs: 0, originNs: 5000, ...over,
  });
  const guardError = (m: unknown) => { try { asMessage(JSON.parse(JSON.stringify(m))); } catch (err) { return (err as Error).message; } return "accepted"; };

  it("round-trips; duty in (0, 1) and the origin are required", () => {
    const clean = JSON.parse(JSON.stringify(fault())) as Message;
    expect(asMessage(decode(encode(clean)))).toEqual(clean);
    expect(decodeMessage(encode(clean))).toEqual(clean);
    expect(guardError(fault({ duty: 1 }))).toMatch(/^fault\.duty: expected a number in \(0, 1\)/);
    expect(guardError(fault({ originNs: undefined }))).toMatch(/^fault\.originNs: expected a finite time ≥ 0/);
    expect(guardError(fault({ periodNs: 0 }))).toMatch(/^fault\.periodNs: expected a number in \(0, /);
    expect(guardError(fault({ factor: 2 }))).toMatch(/^fault\.factor: expected nothing for a link-flap/);
  });

  it("every actor takes it, and its periods count from originNs", () => {
    const ctx = (self: number): ActorContext => ({ self, topology: t, log: silentLogger, limits: DEFAULT_LIMITS, rejected: emptyRejectCounts(), reject: () => { throw new Error("refused"); } });
    const sw = switchLogic.init(t.switches[0]!, t), npu = npuLogic.init(t.endpoints[1]!, t);
    switchLogic.receive(sw, fault(), ctx(t.switches[0]!));
    npuLogic.receive(npu, fault(), ctx(t.endpoints[1]!));
    const flap = npu.faults!.at(2)!.flaps!;
    expect(flap.nextUpNs(4_999)).toBeUndefined(); // before originNs + phaseNs: up
    expect(flap.nextUpNs(5_000)).toBe(5_250); // down [5,000, 5,250), [6,000, 6,250) …
    expect(flap.nextUpNs(6_100)).toBe(6_250);
    expect(sw.faults!.at(3)!.flaps).toBeDefined();
  });
});

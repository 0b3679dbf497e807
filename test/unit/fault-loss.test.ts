import { describe, expect, it } from "vitest";
import { decode, encode } from "../../shared/codec/index.js";
import { asMessage, COORDINATOR, emptyRejectCounts, PROTOCOL_VERSION, type FaultMsg, type Message } from "../../shared/protocol/index.js";
import { DEFAULT_LIMITS, silentLogger, type ActorContext } from "../../shared/runtime/index.js";
import { npuLogic } from "../../services/npu/index.js";
import { switchLogic } from "../../services/switch/index.js";
import { decodeMessage } from "../adversarial/client/wire.js";
import { loadScenario } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { drawPct } from "../../shared/faults/index.js";
import { serializationNs } from "../../shared/linkmodel/index.js";
import { actorNames, runTallied } from "../helpers/fault-run.js";
import { runSim, scenario, singleSwitch } from "../helpers/run.js";

/**
 * link-degrade lossPct / corruptPct (docs/chaos.md §2): a link-level retry at the link's egress port.
 * A stripe drawn bad (seeded hash of fault, epoch, op, src, dst, tag, stripe, link) takes the port for
 * its serialization time — lost, or sent on with one payload bit flipped and its original CRC — and
 * the good copy is ready retryNs after the bad one left the port. The next hop refuses a corrupted
 * copy as `corrupt` (NPUs always check the CRC; a switch checks the links into it that corrupt), so
 * nothing corrupted is forwarded or reduced.
 */

const S = 1_048_576; // 1 MiB
const BCAST = { collective: "broadcast", algorithm: "direct", sizes: ["1MiB"] };

// singleSwitch(2): 100 GB/s and 100 ns per link, switch 150 ns, endpoint overhead 400 ns. A direct
// broadcast npu0 → npu1 is one transfer of one stripe: fault-free T = 400 + 100 + 150 + 100 + S/100 =
// 750 + 10,485.76 = 11,235.76 ns (cut-through: the bandwidth is paid once). With its first copy bad on
// one link, that link's port serializes it twice and waits retryNs in between; the other link is as
// fast, so its tail follows: T = 750 + 2 · S/100 + retryNs, retryNs by default 2 × 100 + 150 = 350 ns:
// 750 + 20,971.52 + 350 = 22,071.52 ns.
const SER = serializationNs(S, 100); // 10,485.76 ns on the 1/1024 ns grid
const DEFAULT_RETRY_NS = 2 * 100 + 150;
const retried = (retryNs: number) => 750 + 2 * SER + retryNs;

const bcast = (faults: unknown[]) => scenario(singleSwitch(2), BCAST, { faults });

describe("link-level retry: the closed form of one stripe", () => {
  it("corruptPct 100 on npu0 → sw: the stripe costs 2 × serialization + retryNs; the switch refuses the bad copy, npu1 gets the good one", async () => {
    const clean = await runSim(scenario(singleSwitch(2), BCAST));
    expect(clean.results[0]!.virtualTimeNs).toBeCloseTo(750 + SER, 6);
    const { rep, tally } = await runTallied(bcast([{ kind: "link-degrade", target: "npu0->sw", corruptPct: 100, at: { op: 0 } }]));
    const r = rep.results[0]!;
    console.log(`corruptPct 100 on npu0->sw: emulated ${r.virtualTimeNs} ns, 750 + 2 · ${SER} + ${DEFAULT_RETRY_NS} = ${retried(DEFAULT_RETRY_NS)} ns`);
    expect(r.virtualTimeNs).toBeCloseTo(retried(DEFAULT_RETRY_NS), 6);
    expect(r.verified).toBe(true);
    // Had the switch admitted the corrupted copy into its duplicate window, the good one would be
    // refused as a duplicate and npu1 would never finish.
    expect(rep.rejected.byActor.sw).toMatchObject({ corrupt: 1, duplicate: 0, total: 1 });
    expect(tally.get("npu0")!.corrupted).toBe(1);
    // The fault went to the link's owner and to the switch it ends at (which checks the CRCs).
    expect(rep.faults![0]).toMatchObject({ actors: 2, params: { corruptPct: 100, seed: 1 } });
    expect(rep.faults![0]!.recovery).toMatch(/^none: link-level retry \(100% corrupted/);
  });

  it("corruptPct 100 on sw → npu1 (the switch's port): the same time; npu1 refuses the bad copy", async () => {
    const { rep, tally } = await runTallied(bcast([{ kind: "link-degrade", target: "sw->npu1", corruptPct: 100, at: { op: 0 } }]));
    expect(rep.results[0]!.virtualTimeNs).toBeCloseTo(retried(DEFAULT_RETRY_NS), 6);
    expect(rep.results[0]!.verified).toBe(true);
    expect(rep.rejected.byActor.npu1).toMatchObject({ corrupt: 1, total: 1 });
    expect(tally.get("sw")!.corrupted).toBe(1);
    expect(rep.faults![0]!.actors).toBe(1); // an NPU checks CRCs anyway
  });

  it("lossPct 100 costs the same port time, and nothing arrives to refuse; an explicit retryNs replaces the default", async () => {
    const lost = await runTallied(bcast([{ kind: "link-degrade", target: "sw->npu1", lossPct: 100, at: { op: 0 } }]));
    expect(lost.rep.results[0]!.virtualTimeNs).toBeCloseTo(retried(DEFAULT_RETRY_NS), 6);
    expect(lost.rep.rejected.total).toBe(0);
    expect(lost.tally.get("sw")!.lost).toBe(1);
    const slow = await runSim(bcast([{ kind: "link-degrade", target: "npu0->sw", lossPct: 100, retryNs: 5000, at: { op: 0 } }]));
    expect(slow.results[0]!.virtualTimeNs).toBeCloseTo(retried(5000), 6); // 750 + 20,971.52 + 5,000 = 26,721.52 ns
  });
});

describe("corruption of a ring all-reduce: nothing corrupted is ever reduced", () => {
  const w = { collective: "all-reduce", algorithm: "ring", sizes: ["64KiB", "4MiB"] };
  const everyLink = (corruptPct: number, seed?: number) => Array.from({ length: 8 }, (_, i) => ({ kind: "link-degrade", target: `npu${i}<->sw`, corruptPct, at: { op: 0 }, ...(seed ? { seed } : {}) }));

  it("30% of the stripes corrupted on every link of 8 NPUs on one switch: results verify, rejected.corrupt = the corrupted copies the senders report", async () => {
    const clean = await runSim(scenario(singleSwitch(8), w));
    const { rep, sum } = await runTallied(scenario(singleSwitch(8), w, { faults: everyLink(30) }));
    const corrupted = sum("corrupted");
    // Each op: 2(n−1) = 14 steps × 8 transfers of 1 stripe, 2 links each: 224 draws per op, 448 in all.
    console.log(`ring, 30% corrupted: ${corrupted} corrupted copies of 448 link crossings; rejected.corrupt ${rep.rejected.corrupt}; ${rep.results.map((r, i) => `${r.sizeBytes} B: ${r.virtualTimeNs} ns (fault-free ${clean.results[i]!.virtualTimeNs})`).join(", ")}`);
    for (const [i, r] of rep.results.entries()) {
      expect(r.verified).toBe(true);
      expect(r.virtualTimeNs).toBeGreaterThan(clean.results[i]!.virtualTimeNs);
    }
    expect(corrupted).toBeGreaterThan(0.2 * 448);
    expect(corrupted).toBeLessThan(0.4 * 448);
    expect(rep.rejected.corrupt).toBe(corrupted);
    expect(rep.rejected.total).toBe(corrupted);
    // Both the switch (uplinks) and the NPUs (downlinks) caught some.
    expect(rep.rejected.byActor.sw!.corrupt).toBeGreaterThan(0);
    expect(rep.rejected.byActor.npu3!.corrupt).toBeGreaterThan(0);
    // The draws are the seed's: the same seed gives the same run, another seed other stripes.
    const again = await runSim(scenario(singleSwitch(8), w, { faults: everyLink(30) }));
    const other = await runSim(scenario(singleSwitch(8), w, { faults: everyLink(30, 99) }));
    expect(again.results.map((r) => r.virtualTimeNs)).toEqual(rep.results.map((r) => r.virtualTimeNs));
    expect(other.results.map((r) => r.virtualTimeNs)).not.toEqual(rep.results.map((r) => r.virtualTimeNs));
  });

  it("on physical CM384 (multi-stripe, multi-hop), lost and corrupted lanes and a corrupted spine link: results verify, counts agree", async () => {
    const topo = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 2, switches: "physical" };
    const faults = [
      { kind: "link-degrade", target: "npu.n0.1<->l1.n0.p0", lossPct: 10, corruptPct: 30, at: { op: 0 } },
      { kind: "link-degrade", target: "l1.n0.p3<->l2.p3.k1", corruptPct: 30, at: { op: 0 } },
    ];
    const { rep, sum } = await runTallied(scenario(topo, w, { faults }));
    expect(rep.results.every((r) => r.verified)).toBe(true);
    expect(sum("lost")).toBeGreaterThan(0);
    expect(sum("corrupted")).toBeGreaterThan(0);
    expect(rep.rejected.corrupt).toBe(sum("corrupted"));
    expect(rep.rejected.total).toBe(rep.rejected.corrupt);
    // Corrupted copies into plane chips and spine chips were refused there, not forwarded.
    expect(Object.entries(rep.rejected.byActor).filter(([n, c]) => n.startsWith("l") && c.corrupt > 0).length).toBeGreaterThan(0);
    expect(actorNames(scenario(topo, w))).toContain("l2.p3.k1");
  });
});

describe("the draws", () => {
  it("are a deterministic function of what names the stripe: a retried step (another epoch) draws anew", () => {
    const k = { fault: 0, seed: 1, epoch: 1, op: 7, src: 1, dst: 2, tag: 3, stripe: 0, where: 5 };
    expect(drawPct(k)).toBe(drawPct({ ...k }));
    for (const over of [{ epoch: 2 }, { op: 8 }, { stripe: 1 }, { where: 6 }, { seed: 2 }, { fault: 1 }]) expect(drawPct({ ...k, ...over })).not.toBe(drawPct(k));
    // Spread: of 10,000 stripes, about 30% fall under 30.
    let under = 0;
    for (let s = 0; s < 10_000; s++) if (drawPct({ ...k, stripe: s }) < 30) under++;
    expect(Math.abs(under - 3000)).toBeLessThan(200);
  });
});

describe("loss and corruption: errors name their field", () => {
  const errorOf = (f: Record<string, unknown>) => {
    try { loadScenario({ raw: bcast([{ kind: "link-degrade", target: "npu0->sw", at: { op: 0 }, ...f }]) }); } catch (err) {
      expect(err).toBeInstanceOf(ScenarioError);
      return (err as Error).message;
    }
    throw new Error("the scenario loaded");
  };
  it("percentages, their sum, retryNs and seed", () => {
    expect(errorOf({ corruptPct: -1 })).toMatch(/^faults\[0\]\.corruptPct: must be in \[0, 100\] \(% of stripes\), got -1/);
    expect(errorOf({ lossPct: 70, corruptPct: 40 })).toMatch(/^faults\[0\]\.corruptPct: lossPct \+ corruptPct must be ≤ 100/);
    expect(errorOf({ bandwidthFactor: 0.5, retryNs: 100 })).toMatch(/^faults\[0\]\.retryNs: only with lossPct or corruptPct > 0/);
    expect(errorOf({ corruptPct: 5, retryNs: -3 })).toMatch(/^faults\[0\]\.retryNs: must be in \[0, 1000000000\] ns, got -3/);
    expect(errorOf({ corruptPct: 5, seed: 1.5 })).toMatch(/^faults\[0\]\.seed: must be an integer in \[0, 4294967295\], got 1\.5/);
    expect(errorOf({ corruptPct: 0 })).toMatch(/^faults\[0\]: a link-degrade needs bandwidthFactor < 1 or latencyNs > 0 \(or lossPct or corruptPct > 0\)/);
  });
  it("a bandwidth-only degrade declares no loss keys (its scenario hashes as before)", () => {
    const l = loadScenario({ raw: bcast([{ kind: "link-degrade", target: "npu0->sw", bandwidthFactor: 0.5, at: { op: 0 } }]) });
    expect(Object.keys(l.faultPlan!.faults[0]!.decl).sort()).toEqual(["at", "bandwidthFactor", "kind", "latencyNs", "target"]);
  });
});

describe("the wire: a lossy link-degrade", () => {
  const { topology: t } = loadScenario({ raw: scenario(singleSwitch(2), BCAST) });
  const id = (name: string) => t.devices.find((d) => d.name === name)!.id;
  const up = t.links.filter((l) => l.from === id("npu0") && l.to === id("sw")).map((l) => l.id as number);
  const fault = (over: Partial<FaultMsg> = {}): FaultMsg => ({
    v: PROTOCOL_VERSION, type: "fault", from: COORDINATOR, epoch: 1, inc: 0, fault: 0, kind: "link-degrade", targets: up, fromOp: 2, untilOp: 4,
    bandwidthFactor: 1, latencyNs: 0, lossPct: 10, corruptPct: 20, retryNs: 500, seed: 7, ...over,
  });
  const guardError = (m: unknown) => { try { asMessage(JSON.parse(JSON.stringify(m))); } catch (err) { return (err as Error).message; } return "accepted"; };

  it("round-trips through the codec and the independent client; bounds name their field", () => {
    const clean = JSON.parse(JSON.stringify(fault())) as Message;
    expect(asMessage(decode(encode(clean)))).toEqual(clean);
    expect(decodeMessage(encode(clean))).toEqual(clean);
    expect(guardError(fault({ corruptPct: 95 }))).toMatch(/^fault\.corruptPct: expected at most 100 − lossPct = 90/);
    expect(guardError(fault({ lossPct: -1 }))).toMatch(/^fault\.lossPct: expected a number in \[0, 100\]/);
    expect(guardError(fault({ lossPct: undefined, corruptPct: undefined }))).toMatch(/^fault\.seed: expected nothing without lossPct or corruptPct/);
    expect(guardError(fault({ kind: "link-down", bandwidthFactor: undefined, latencyNs: undefined }))).toMatch(/^fault\.lossPct: expected nothing for a link-down/);
  });

  it("the switch a corrupting link ends at takes it (to check CRCs); an NPU there, or a bandwidth-only degrade, is forged", () => {
    const ctxOf = (self: number) => {
      const counts = emptyRejectCounts();
      const ctx: ActorContext = { self, topology: t, log: silentLogger, limits: DEFAULT_LIMITS, rejected: counts, reject: (r) => { counts[r]++; } };
      return { ctx, counts };
    };
    const sw = ctxOf(id("sw")), s = switchLogic.init(id("sw"), t);
    switchLogic.receive(s, fault(), sw.ctx);
    expect(sw.counts.forged).toBe(0);
    expect(s.faults?.at(2)?.corrupts(up[0] as never)).toBe(true);
    const s2 = switchLogic.init(id("sw"), t);
    switchLogic.receive(s2, fault({ lossPct: 10, corruptPct: undefined }), sw.ctx); // loss alone: nothing to check
    expect(sw.counts.forged).toBe(1);
    const down = t.links.filter((l) => l.from === id("sw") && l.to === id("npu1")).map((l) => l.id as number);
    const n1 = ctxOf(id("npu1")), n = npuLogic.init(id("npu1"), t);
    npuLogic.receive(n, fault({ targets: down }), n1.ctx);
    expect(n1.counts.forged).toBe(1);
  });
});

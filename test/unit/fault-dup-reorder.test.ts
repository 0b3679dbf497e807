import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { emptyFaultTally, FaultTable } from "../../shared/faults/index.js";
import { decode, encode } from "../../shared/codec/index.js";
import { asMessage, COORDINATOR, emptyRejectCounts, PROTOCOL_VERSION, type DataMsg, type FaultMsg, type Message } from "../../shared/protocol/index.js";
import { DEFAULT_LIMITS, silentLogger, type ActorContext, type Outbound } from "../../shared/runtime/index.js";
import { npuLogic } from "../../services/npu/index.js";
import { decodeMessage } from "../adversarial/client/wire.js";
import type { SimNs } from "../../shared/units/index.js";
import { applyWireFaults } from "../../services/npu/index.js";
import { actorNames, runTallied } from "../helpers/fault-run.js";
import { runSim, scenario, singleSwitch } from "../helpers/run.js";

/**
 * message-duplicate and message-reorder (docs/chaos.md §2): the target sends picked data messages
 * twice, or after its next one. Receivers refuse the copies (duplicate, or stale once their op has
 * ended); the messages' own virtual times are untouched and the port model serves in virtual order,
 * so results, virtual times and parameter digests are those of the fault-free run, to the bit.
 */

const TOPO = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 2, switches: "physical" };
const RING = { collective: "all-reduce", algorithm: "ring", sizes: ["64KiB", "4MiB"] };
const onEvery = (kind: string, extra: Record<string, unknown> = {}) => actorNames(scenario(TOPO, RING)).map((target) => ({ kind, target, at: { op: 0 }, ...extra }));

describe("the outbound pass", () => {
  const { topology: t } = loadScenario({ raw: scenario(singleSwitch(2), { collective: "all-reduce", sizes: ["4KiB"] }) });
  const data = (tag: number): Outbound => ({
    to: 0, atNs: 100 as SimNs,
    msg: { v: 1, type: "data", from: 1, epoch: 1, inc: 0, op: 3, src: 1, dst: 2, tag, stripes: 1, totalBytes: 8, sentNs: 0 as SimNs, parts: [{ stripe: 0, hop: 0 }] } as unknown as DataMsg,
  });
  const done: Outbound = { to: -1, atNs: 100 as SimNs, msg: { type: "op-done" } as unknown as Message };
  const table = (kinds: string[], pct = 100) => {
    const f = new FaultTable(t);
    kinds.forEach((kind, i) => f.add({ fault: i, kind: kind as never, targets: [1], fromOp: 3, untilOp: 4, pct, seed: 1 }));
    return f;
  };
  const tags = (out: readonly Outbound[]) => out.map((o) => (o.msg.type === "data" ? o.msg.tag : o.msg.type));

  it("reorder: a picked message goes out after the next data message, or at the end of the step", () => {
    const tally = emptyFaultTally();
    // 1 is held and released behind 2; 3 is held, the op-done passes, and 3 goes out last.
    expect(tags(applyWireFaults(table(["message-reorder"]), [data(1), data(2), data(3), done], tally))).toEqual([2, 1, "op-done", 3]);
    expect(tally.reordered).toBe(2);
  });
  it("duplicate: the copy right after the original (same times, parts of its own); both together move the pair", () => {
    const tally = emptyFaultTally();
    const out = applyWireFaults(table(["message-duplicate"]), [data(1), data(2)], tally);
    expect(tags(out)).toEqual([1, 1, 2, 2]);
    expect(out[1]).toEqual(out[0]);
    // A copy, not the same object: a switch moves the message it receives on in place (new times, next
    // hop), which must not change the duplicate still waiting to be delivered.
    expect(out[1]!.msg).not.toBe(out[0]!.msg);
    expect((out[1]!.msg as DataMsg).parts[0]).not.toBe((out[0]!.msg as DataMsg).parts[0]);
    expect(tally).toMatchObject({ duplicated: 2, duplicatedStripes: 2 });
    expect(tags(applyWireFaults(table(["message-duplicate", "message-reorder"]), [data(1), data(2)], emptyFaultTally()))).toEqual([2, 2, 1, 1]);
  });
  it("leaves the list itself alone for other ops, and picks about pct% of the messages (seeded, not random)", () => {
    const out = [data(1), data(2)];
    const other = out.map((o) => ({ ...o, msg: { ...(o.msg as DataMsg), op: 9 } }));
    expect(applyWireFaults(table(["message-duplicate"]), other, emptyFaultTally())).toBe(other);
    const many = Array.from({ length: 2000 }, (_, i) => data(i));
    const tally = emptyFaultTally();
    applyWireFaults(table(["message-duplicate"], 25), many, tally);
    expect(Math.abs(tally.duplicated - 500)).toBeLessThan(60);
    const again = emptyFaultTally();
    applyWireFaults(table(["message-duplicate"], 25), many, again);
    expect(again.duplicated).toBe(tally.duplicated);
  });
});

describe("message-duplicate", () => {
  it("every NPU and switch of a physical CM384 2 × 2 sends every data message twice: the ring's results and times are the fault-free run's, bit for bit", async () => {
    const clean = await runSim(scenario(TOPO, RING));
    const { rep, sum } = await runTallied(scenario(TOPO, RING, { faults: onEvery("message-duplicate") }));
    expect(rep.results.map((r) => r.virtualTimeNs)).toEqual(clean.results.map((r) => r.virtualTimeNs));
    expect(rep.results.every((r) => r.verified)).toBe(true);
    // Every copy is refused: as a duplicate, or as stale when it reaches an NPU after its op ended there
    // (the copy of a rank's last delivery). Nothing else is refused.
    const copies = sum("duplicatedStripes");
    console.log(`duplicate 100%: ${sum("duplicated")} messages (${copies} stripes) sent twice; rejected duplicate ${rep.rejected.duplicate}, stale ${rep.rejected.stale}`);
    expect(copies).toBeGreaterThan(0);
    expect(rep.rejected.duplicate).toBeGreaterThan(0);
    expect(rep.rejected.duplicate + rep.rejected.stale).toBe(copies);
    expect(rep.rejected.total).toBe(copies);
    // The copies were delivered: the op's message counts grow by exactly the duplicated messages.
    const more = rep.results.reduce((s, r) => s + r.messages, 0) - clean.results.reduce((s, r) => s + r.messages, 0);
    expect(more).toBe(sum("duplicated"));
    expect(rep.faults![0]).toMatchObject({ kind: "message-duplicate", actors: 1, params: { pct: 100, seed: 1 } });
  });

  it("30% duplicated on every actor of a DP training step: the same parameter digests and step times", async () => {
    const train = { kind: "training", model: { base: "llama3-8b", layers: 2 }, parallel: { dp: 4 }, globalBatch: 4, seqLen: 256, steps: 2, zero: 0, overlap: false, algorithms: { dp: "ring" } };
    const raw = (faults?: unknown[]) => ({ topology: TOPO, workload: train, engine: "sim", seed: 3, ...(faults ? { faults } : {}) });
    const names = actorNames(raw());
    const clean = await runSim(raw());
    const { rep, sum } = await runTallied(raw(names.map((target) => ({ kind: "message-duplicate", target, pct: 30, at: { step: 0 } }))));
    expect(rep.status).toBe("ok");
    expect(rep.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(rep.steps!.map((s) => s.virtualTimeNs)).toEqual(clean.steps!.map((s) => s.virtualTimeNs));
    expect(sum("duplicated")).toBeGreaterThan(0);
  });
});

describe("message-reorder", () => {
  it("every NPU and switch holds every data message behind its next: the ring's results and times are the fault-free run's, nothing refused", async () => {
    // In the sim engine the event queue orders by virtual time, so what changes is the order of
    // messages at equal virtual times (a transfer's 7 plane messages leave an NPU at the same time);
    // the port model serves in virtual order either way.
    const clean = await runSim(scenario(TOPO, RING));
    const { rep, sum } = await runTallied(scenario(TOPO, RING, { faults: onEvery("message-reorder") }));
    expect(rep.results.map((r) => r.virtualTimeNs)).toEqual(clean.results.map((r) => r.virtualTimeNs));
    expect(rep.results.every((r) => r.verified)).toBe(true);
    expect(sum("reordered")).toBeGreaterThan(0);
    expect(rep.rejected.total).toBe(0);
    console.log(`reorder 100%: ${sum("reordered")} messages held behind the next`);
  });

  it("an actor target only, with pct in (0, 100]", () => {
    const load = (f: Record<string, unknown>) => () => loadScenario({ raw: scenario(TOPO, RING, { faults: [{ kind: "message-reorder", target: "npu.n0.0", at: { op: 0 }, ...f }] }) });
    expect(load({ target: "npu.n0.0->l1.n0.p0" })).toThrow(/^faults\[0\]\.target: message-reorder takes an actor \(an NPU or a switch, whose outgoing data messages it changes\), not a link/);
    expect(load({ pct: 0 })).toThrow(/^faults\[0\]\.pct: must be in \(0, 100\], got 0/);
    expect(load({ pct: 101 })).toThrow(/^faults\[0\]\.pct: must be in \(0, 100\], got 101/);
    expect(load({ periodNs: 5 })).toThrow(/^faults\[0\]\.periodNs: unknown key for message-reorder \(its keys: kind, target, at, duration, pct, seed\)/);
    expect(load({}) ().faultPlan!.faults[0]!.decl).toMatchObject({ pct: 100, seed: 1 });
  });
});

describe("the wire: message-duplicate and message-reorder", () => {
  const { topology: t } = loadScenario({ raw: scenario(singleSwitch(2), { collective: "all-reduce", sizes: ["4KiB"] }) });
  const fault = (over: Partial<FaultMsg> = {}): FaultMsg => ({
    v: PROTOCOL_VERSION, type: "fault", from: COORDINATOR, epoch: 1, inc: 0, fault: 0, kind: "message-duplicate", targets: [t.switches[0]!], fromOp: 2, pct: 40, seed: 3, ...over,
  });
  const guardError = (m: unknown) => { try { asMessage(JSON.parse(JSON.stringify(m))); } catch (err) { return (err as Error).message; } return "accepted"; };

  it("round-trips; pct and seed are required, a key of another kind is malformed", () => {
    const clean = JSON.parse(JSON.stringify(fault({ kind: "message-reorder" }))) as Message;
    expect(asMessage(decode(encode(clean)))).toEqual(clean);
    expect(decodeMessage(encode(clean))).toEqual(clean);
    expect(guardError(fault({ pct: 0 }))).toMatch(/^fault\.pct: expected a number in \(0, 100\]/);
    expect(guardError(fault({ seed: undefined }))).toMatch(/^fault\.seed: expected an integer in \[0, 4294967295\]/);
    expect(guardError(fault({ duty: 0.5 }))).toMatch(/^fault\.duty: expected nothing for a message-duplicate/);
  });

  it("only the device it names takes it", () => {
    const counts = emptyRejectCounts();
    const ctx: ActorContext = { self: t.endpoints[0]!, topology: t, log: silentLogger, limits: DEFAULT_LIMITS, rejected: counts, reject: (r) => { counts[r]++; } };
    const n = npuLogic.init(t.endpoints[0]!, t);
    npuLogic.receive(n, fault(), ctx);
    expect(counts.forged).toBe(1);
    npuLogic.receive(n, fault({ targets: [t.endpoints[0]!] }), ctx);
    expect(n.faults!.at(2)!.wire!.duplicate).toEqual([{ fault: 0, seed: 3, pct: 40 }]);
  });
});

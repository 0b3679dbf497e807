import { describe, expect, it } from "vitest";
import { crc32 } from "../../shared/codec/index.js";
import { loadScenario } from "../../shared/config/index.js";
import { COORDINATOR, emptyRejectCounts, PROTOCOL_VERSION, senderFault, type DataMsg, type Message, type OpSpec } from "../../shared/protocol/index.js";
import { DEFAULT_LIMITS, RejectionLog, SimEngine, type ActorContext, type ActorLogic, type Outbound } from "../../shared/runtime/index.js";
import { EarlyBuffer, npuLogic, StripeWindow } from "../../services/npu/index.js";
import { switchLogic } from "../../services/switch/index.js";
import { runScenario, type Report } from "../../services/coordinator/index.js";
import { scenario } from "../helpers/run.js";

/**
 * The data path's defences against replayed, forged and flooding messages, on the sim engine (whose
 * event order is deterministic, so every count below is exact). A wrapper around an actor's logic
 * plays the adversary: it sends each of the actor's data messages twice, or adds forged copies.
 */

const CM384_SLICE = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" };
const WORKLOADS = [
  { kind: "collective", collective: "all-reduce", algorithm: "ring", sizes: ["4KiB", "64MiB"], ranks: "all" },
  { kind: "collective", collective: "all-to-all", algorithm: "direct", sizes: ["1MiB"], ranks: "all" },
  { kind: "moe-layer", ep: 8, tokensPerRank: 16 },
];

type Mangle = (o: Outbound) => Outbound[];

/** Wraps logic so that every outbound data message goes through `mangle`; counts the stripes it added. */
function adversary<S>(logic: ActorLogic<S>, mangle: Mangle, added: { stripes: number }): ActorLogic<S> {
  return {
    ...logic,
    receive(state, msg, ctx) {
      const step = logic.receive(state, msg, ctx);
      const outbound = step.outbound.flatMap((o) => {
        if (o.msg.type !== "data") return [o];
        const out = mangle(o);
        added.stripes += (out.length - 1) * o.msg.parts.length;
        return out;
      });
      return { state: step.state, outbound };
    },
  };
}

async function run(npu: ActorLogic<unknown>, sw: ActorLogic<unknown>): Promise<Report> {
  const loaded = loadScenario({ raw: { ...(scenario(CM384_SLICE, {}) as object), workload: WORKLOADS } });
  await using engine = new SimEngine({ topology: loaded.topology, npu: npu as ActorLogic<never>, switch: sw as ActorLogic<never> });
  return await runScenario(loaded, engine);
}

/** Every virtual time and verification of a report, in one comparable value. */
const timings = (r: Report) => JSON.stringify({
  results: r.results.map((x) => [x.virtualTimeNs, x.verified]),
  moe: r.moe.map((x) => [x.dispatchNs, x.combineNs, x.layerNs, x.verified, x.droppedTokens]),
});

describe("replayed data changes no virtual time and no result", () => {
  it("every data message sent twice (by endpoints and by switches): bit-identical, each copy counted once", async () => {
    const clean = await run(npuLogic as ActorLogic<unknown>, switchLogic as ActorLogic<unknown>);
    expect(clean.status).toBe("ok");
    expect(clean.rejected.total).toBe(0);
    const added = { stripes: 0 };
    // The copy is a copy, as a replay off the wire is (a switch moves what it receives on in place).
    const twice: Mangle = (o) => [o, { ...o, msg: { ...(o.msg as DataMsg), parts: (o.msg as DataMsg).parts.map((p) => ({ ...p })) } }];
    const replayed = await run(adversary(npuLogic, twice, added) as ActorLogic<unknown>, adversary(switchLogic, twice, added) as ActorLogic<unknown>);
    expect(timings(replayed)).toBe(timings(clean));
    expect(replayed.status).toBe("ok");
    // Each copy is one stripe a receiver already has (same epoch, op, src, dst, tag, stripe): refused
    // before any port time or payload use — as a duplicate while the op is open at the receiver, as
    // stale once it ended there (an endpoint that finished its part). Every added stripe is counted.
    expect(added.stripes).toBeGreaterThan(1000);
    expect(replayed.rejected.duplicate + replayed.rejected.stale).toBe(added.stripes);
    expect(replayed.rejected.total).toBe(added.stripes);
    expect(Object.keys(replayed.rejected.byActor).some((a) => a.startsWith("l1") || a.startsWith("l2"))).toBe(true);
  });
});

describe("forged senders are refused", () => {
  it("a copy claiming another source, or arriving off its route, is refused as forged; results unchanged", async () => {
    const clean = await run(npuLogic as ActorLogic<unknown>, switchLogic as ActorLogic<unknown>);
    const added = { stripes: 0 };
    let forged = 0;
    // Every 50th message an endpoint sends gets a copy claiming another source (src + 1, same path).
    const spoof: Mangle = (o) => {
      const m = o.msg as DataMsg;
      if (++forged % 50 !== 0) return [o];
      return [o, { ...o, msg: { ...m, src: m.src === 0 ? 1 : 0, tag: m.tag, parts: m.parts.map((p) => ({ ...p })) } }];
    };
    const rep = await run(adversary(npuLogic, spoof, added) as ActorLogic<unknown>, switchLogic as ActorLogic<unknown>);
    expect(timings(rep)).toBe(timings(clean));
    // The first switch sees path[0] leave the claimed source's neighbour, not the sender: forged.
    expect(rep.rejected.forged).toBe(added.stripes);
    expect(rep.rejected.total).toBe(added.stripes);
    expect(added.stripes).toBeGreaterThan(0);
  });

  it("senderFault: the body must agree with the subject", () => {
    const data = { v: PROTOCOL_VERSION, type: "data", from: 9, epoch: 1, inc: 0 } as unknown as Message;
    expect(senderFault("sn.r.d.0.7", data)).toMatch(/body says from 9, subject says 0/);
    expect(senderFault("sn.r.d.9.7", data)).toBeUndefined();
    expect(senderFault("sn.r.c.9.7", data)).toMatch(/data on channel "c"/);
    const start = { v: PROTOCOL_VERSION, type: "op-start", from: 3, epoch: 1, inc: 0 } as unknown as Message;
    expect(senderFault("sn.r.c.3.7", start)).toMatch(/only the coordinator sends control/);
    const done = { v: PROTOCOL_VERSION, type: "op-done", from: 3, epoch: 1, inc: 0 } as unknown as Message;
    expect(senderFault("sn.r.u.3.5", done)).toMatch(/reports go to the coordinator/);
    expect(senderFault("sn.r.u.3.coord", done)).toBeUndefined();
    const fromCoord = { ...data, from: COORDINATOR } as unknown as Message;
    expect(senderFault("sn.r.d.coord.7", fromCoord)).toMatch(/data from the coordinator/);
    expect(senderFault("sn.r.d.x.7", data)).toMatch(/does not name a sender/);
  });
});

/** A context that counts refusals, for feeding one actor by hand. */
function countingCtx(self: number, t: ActorContext["topology"], limits = DEFAULT_LIMITS) {
  const counts = emptyRejectCounts();
  const ctx: ActorContext = { self, topology: t, log: { debug() {}, info() {}, warn() {}, error() {} }, limits, rejected: counts, reject: (r) => { counts[r]++; } };
  return { ctx, counts };
}

describe("bounded buffers", () => {
  const { topology: t } = loadScenario({ raw: scenario(CM384_SLICE, { collective: "all-reduce", sizes: ["4KiB"] }) });
  const [a, b] = [t.endpoints[0]!, t.endpoints[1]!];
  const path = t.route(a, b).stripes[0]!;
  const sw = t.links[path[0]!]!.to;
  const stripes = t.route(a, b).stripes.length;
  const payload = new Float64Array(1000); // 8 KB of payload per message
  const stripe = (op: number, tag: number): DataMsg => ({
    v: PROTOCOL_VERSION, type: "data", from: a, epoch: 1, inc: 0, op, src: a, dst: b, tag, stripes, totalBytes: 1 << 20, sentNs: 0 as never,
    parts: [{ stripe: 0, bytes: 1024, headNs: 0 as never, tailNs: 10 as never, path, hop: 0, payload, crc: crc32(payload) }],
  });

  it("a switch buffers data of an op not yet open up to the per-sender limit, then forwards it once opened", () => {
    const limits = { ...DEFAULT_LIMITS, earlyMessagesPerSender: 100 };
    const { ctx, counts } = countingCtx(sw, t, limits);
    const s = switchLogic.init(sw, t, limits);
    for (let i = 0; i < 150; i++) expect(switchLogic.receive(s, stripe(5, i), ctx).outbound).toHaveLength(0);
    expect(counts.overflow).toBe(50); // 150 sent − 100 kept
    const opened = switchLogic.receive(s, { v: PROTOCOL_VERSION, type: "op-open", from: COORDINATOR, epoch: 1, inc: 0, op: 5 }, ctx);
    expect(opened.outbound).toHaveLength(100); // the kept ones, forwarded in arrival order
    // The same stripes again: duplicates, no port time, nothing forwarded.
    for (let i = 0; i < 100; i++) expect(switchLogic.receive(s, stripe(5, i), ctx).outbound).toHaveLength(0);
    expect(counts.duplicate).toBe(100);
    switchLogic.receive(s, { v: PROTOCOL_VERSION, type: "op-close", from: COORDINATOR, epoch: 1, inc: 0, op: 5 }, ctx);
    switchLogic.receive(s, stripe(5, 0), ctx);
    switchLogic.receive(s, stripe(4, 0), ctx); // an op below the highest opened: ended (or never ran here)
    expect(counts.stale).toBe(2);
  });

  it("the early buffer holds at most earlyBytesPerActor bytes, and take() releases them", () => {
    const buf = new EarlyBuffer({ ...DEFAULT_LIMITS, earlyBytesPerActor: 1 << 20 });
    let kept = 0;
    for (let i = 0; i < 1000; i++) if (buf.add(stripe(9, i)) === undefined) kept++;
    // Each message is charged 8000 payload + 96 per stripe + 128 per message = 8224 bytes: ⌊2^20 / 8224⌋ = 127.
    expect(kept).toBe(Math.floor((1 << 20) / 8224));
    expect(buf.heldBytes).toBe(kept * 8224);
    expect(buf.take(9)).toHaveLength(kept);
    expect(buf.heldBytes).toBe(0);
    expect(buf.add(stripe(9, 0))).toBeUndefined();
  });

  it("an endpoint refuses floods for a future op past its limits and still runs the op when it starts", () => {
    const limits = { ...DEFAULT_LIMITS, earlyMessagesPerSender: 10 };
    const { ctx, counts } = countingCtx(b, t, limits);
    const s = npuLogic.init(b, t, limits);
    const last = { ...stripe(3, 0), from: t.links[path[path.length - 1]!]!.from, parts: [{ ...stripe(3, 0).parts[0]!, hop: path.length - 1 }] };
    for (let i = 0; i < 25; i++) npuLogic.receive(s, { ...last, tag: i }, ctx);
    expect(counts.overflow).toBe(15);
    expect(s.early.heldBytes).toBe(10 * 8224);
  });

  it("an endpoint refuses data whose source is not in the op's group (another endpoint, no device at all), as forged", () => {
    const { ctx, counts } = countingCtx(b, t);
    const s = npuLogic.init(b, t);
    // An endpoint of the topology between two members' ids, not in this op's group [a, b, d].
    const [c, d] = [t.endpoints[2]!, t.endpoints[3]!];
    const spec = {
      op: 7, collective: "all-reduce", algorithm: "ring", sizeBytes: 4096, elementBytes: 2, group: [a, b, d],
      nodeGroups: [[0, 1, 2]], realElements: 64, seed: 1, root: 0, chunkBytes: 4096,
    } as unknown as OpSpec;
    npuLogic.receive(s, { v: PROTOCOL_VERSION, type: "op-start", from: COORDINATOR, epoch: 1, inc: 0, spec, startNs: 0 as never }, ctx);
    const lastHop = (src: number): DataMsg => {
      const p = t.route(src as never, b).stripes[0]!;
      return { ...stripe(7, 0), src: src as never, from: t.links[p[p.length - 1]!]!.from, parts: [{ ...stripe(7, 0).parts[0]!, path: p, hop: p.length - 1 }] };
    };
    npuLogic.receive(s, lastHop(c), ctx); // a real endpoint on its real route: still not a member
    npuLogic.receive(s, { ...lastHop(a), src: 1_000_000 as never }, ctx); // no such device
    npuLogic.receive(s, { ...lastHop(a), src: 0.5 as never }, ctx); // not an id
    expect(counts.forged).toBe(3);
    npuLogic.receive(s, lastHop(a), ctx); // the member: accepted (one of its stripes, so no refusal)
    expect(counts.forged).toBe(3);
    expect(Object.values(counts).reduce((x, y) => x + y, 0)).toBe(3);
  });

  it("a stripe window holds each stripe once and is bounded in transfers", () => {
    const w = new StripeWindow(1, 2000);
    expect([w.admit(7, 0, 0, 14), w.admit(7, 0, 13, 14), w.admit(7, 0, 0, 14), w.admit(7, 1, 0, 14)]).toEqual(["new", "new", "duplicate", "new"]);
    expect([w.admit(8, 0, 40, 64), w.admit(8, 0, 40, 64)]).toEqual(["new", "duplicate"]); // > 30 stripes: byte flags
    expect(w.admitMask(7, 0, 0b111)).toBe(0b110); // stripe 0 seen, 1 and 2 new
    // Past the table's first growth (1024 slots at half load), every transfer is still found.
    for (let tag = 2; tag < 1999; tag++) expect(w.admitMask(9, tag, 1)).toBe(1);
    for (let tag = 2; tag < 1999; tag++) expect(w.admitMask(9, tag, 1)).toBe(0);
    expect(w.transfers).toBe(2000);
    expect(w.admit(10, 0, 0, 1)).toBe("overflow"); // a transfer past the window's 2000
  });

  it("rejection logs: the first per (reason, sender), then every Nth", () => {
    const lines: unknown[] = [];
    const log = new RejectionLog({ debug() {}, info() {}, error() {}, warn: (o) => lines.push(o) }, 10);
    for (let i = 0; i < 25; i++) log.note("duplicate", "3", { subject: "sn.r.d.3.9" }, "dup");
    log.note("duplicate", "4", {}, "dup");
    log.note("forged", "3", {}, "forged");
    // sender 3: counts 1, 10, 20 logged; sender 4: 1; forged from 3: 1.
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({ reason: "duplicate", sender: "3", count: 1, subject: "sn.r.d.3.9" });
    expect(log.counts.duplicate).toBe(26);
    expect(log.total).toBe(27);
  });
});

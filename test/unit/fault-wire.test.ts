import { describe, expect, it } from "vitest";
import { decode, encode } from "../../shared/codec/index.js";
import { loadScenario } from "../../shared/config/index.js";
import { ProtocolError } from "../../shared/errors/index.js";
import { asMessage, COORDINATOR, emptyRejectCounts, PROTOCOL_VERSION, senderFault, Subjects, type FaultMsg, type Message } from "../../shared/protocol/index.js";
import { DEFAULT_LIMITS, type ActorContext } from "../../shared/runtime/index.js";
import { npuLogic } from "../../services/npu/index.js";
import { switchLogic } from "../../services/switch/index.js";
import { scenario } from "../helpers/run.js";
import { decodeMessage, parseSubject, senderProblem } from "../adversarial/client/wire.js";

/**
 * The `fault` control message (docs/wire-format.md §4.9): guarded at the edge like every message,
 * accepted only from the coordinator, and taken by an actor only when it is that actor's to apply.
 */
const { topology: t } = loadScenario({ raw: scenario({ preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 }, { collective: "all-reduce", sizes: ["4KiB"] }) });
const id = (name: string) => t.devices.find((d) => d.name === name)!.id;
const lanes = (from: string, to: string) => t.links.filter((l) => l.from === id(from) && l.to === id(to)).map((l) => l.id as number);

const fault = (over: Partial<FaultMsg> = {}): FaultMsg => ({
  v: PROTOCOL_VERSION, type: "fault", from: COORDINATOR, epoch: 1, inc: 0, fault: 0, kind: "link-degrade",
  targets: lanes("npu.n0.1", "l1.n0"), fromOp: 2, untilOp: 4, bandwidthFactor: 0.5, latencyNs: 200, ...over,
});

function rejection(x: unknown): string {
  try { asMessage(x); } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as Error).message;
  }
  throw new Error("the guard accepted it");
}

describe("the guard", () => {
  it("accepts a fault of each kind, and it round-trips through the codec", () => {
    for (const m of [
      fault(), fault({ kind: "link-down", targets: [3], untilOp: undefined, bandwidthFactor: undefined, latencyNs: undefined }),
      { ...fault({ kind: "switch-crash", targets: [id("l2.k3")] }), bandwidthFactor: undefined, latencyNs: undefined },
      { ...fault({ kind: "straggler", targets: [id("npu.n0.3")], factor: 3 }), bandwidthFactor: undefined, latencyNs: undefined },
    ]) {
      const clean = JSON.parse(JSON.stringify(m)) as Message; // drops the undefined keys, as the encoder does
      expect(asMessage(decode(encode(clean)))).toEqual(clean);
    }
  });
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["a process fault kind (the engine's, never on the wire)", { kind: "npu-crash" }, /^fault\.kind: expected one of link-degrade\|link-down\|switch-crash\|straggler\|link-flap\|message-duplicate\|message-reorder\|partition\|halt, got/],
    ["a halt without a mode", { kind: "halt", targets: [3], bandwidthFactor: undefined, latencyNs: undefined, afterNs: 5 }, /^fault\.mode: expected one of crash\|hang/],
    ["a halt with both triggers", { kind: "halt", targets: [3], bandwidthFactor: undefined, latencyNs: undefined, mode: "crash", afterNs: 5, phase: "optimizer" }, /^fault\.afterNs: expected exactly one of afterNs and phase for a halt/],
    ["a halt of two endpoints", { kind: "halt", targets: [3, 4], bandwidthFactor: undefined, latencyNs: undefined, mode: "hang", phase: "optimizer" }, /^fault\.targets: expected one NPU for a halt/],
    ["a halt phase over 64 characters", { kind: "halt", targets: [3], bandwidthFactor: undefined, latencyNs: undefined, mode: "hang", phase: "x".repeat(65) }, /^fault\.phase: expected a string of ≤ 64 chars/],
    ["a halt mode on a link-degrade", { mode: "crash" }, /^fault\.mode: expected nothing for a link-degrade/],
    ["no targets", { targets: [] }, /^fault\.targets: expected an array of 1\.\.4096 entries/],
    ["a negative target", { targets: [-1] }, /^fault\.targets\[0\]: expected an integer/],
    ["untilOp not after fromOp", { untilOp: 2 }, /^fault\.untilOp: expected an integer in \[3, /],
    ["a bandwidth factor of 0", { bandwidthFactor: 0 }, /^fault\.bandwidthFactor: expected a number in \(0, 1\]/],
    ["a latency past 1 s", { latencyNs: 2e9 }, /^fault\.latencyNs: expected ≤ 1000000000/],
    ["a straggler factor on a link-degrade", { factor: 2 }, /^fault\.factor: expected nothing for a link-degrade/],
    ["a straggler factor below 1", { kind: "straggler", bandwidthFactor: undefined, latencyNs: undefined, factor: 0.5 }, /^fault\.factor: expected a number in \[1, 1000\]/],
  ];
  for (const [name, over, message] of cases) {
    it(`refuses ${name}, naming the field`, () => expect(rejection(JSON.parse(JSON.stringify(fault(over as Partial<FaultMsg>))))).toMatch(message));
  }
  it("the independent client (written from docs/wire-format.md alone) decodes it field for field", () => {
    for (const m of [fault(), fault({ kind: "straggler", targets: [id("npu.n0.3")], factor: 3, bandwidthFactor: undefined, latencyNs: undefined, untilOp: undefined })]) {
      const clean = JSON.parse(JSON.stringify(m)) as Message;
      expect(decodeMessage(encode(clean))).toEqual(clean);
      const subject = new Subjects("r1").to("c", COORDINATOR, 1);
      expect(parseSubject(subject)).toMatchObject({ channel: "c", from: -1, to: 1 });
      expect(senderProblem(subject, decodeMessage(encode(clean)))).toBeUndefined();
    }
  });
  it("only the coordinator may send one, on the control channel", () => {
    const s = new Subjects("r1");
    expect(senderFault(s.to("c", COORDINATOR, 1), fault())).toBeUndefined();
    expect(senderFault(s.to("c", 3, 1), { ...fault(), from: 3 })).toMatch(/only the coordinator sends control/);
    expect(senderFault(s.to("d", COORDINATOR, 1), fault())).toMatch(/fault on channel "d" \(its channel is "c"\)/);
  });
});

function ctxOf(self: number) {
  const counts = emptyRejectCounts();
  const why: string[] = [];
  const ctx: ActorContext = { self, topology: t, log: { debug() {}, info() {}, warn() {}, error() {} }, limits: DEFAULT_LIMITS, rejected: counts, reject: (r, _f, _x, w) => { counts[r]++; why.push(w); } };
  return { ctx, counts, why };
}

describe("an actor takes only its own faults, for ops not begun", () => {
  it("the owner of a link takes its degrade; another device refuses it as forged", () => {
    const owner = ctxOf(id("npu.n0.1")), other = ctxOf(id("npu.n0.2"));
    const s = npuLogic.init(id("npu.n0.1"), t), o = npuLogic.init(id("npu.n0.2"), t);
    npuLogic.receive(s, fault(), owner.ctx);
    npuLogic.receive(o, fault(), other.ctx);
    expect(owner.counts.forged + other.counts.duplicate).toBe(0);
    expect(s.faults?.at(2)?.link(lanes("npu.n0.1", "l1.n0")[0] as never).bandwidthGBps).toBe(98); // 196 GB/s × 0.5
    expect(s.faults?.at(4)).toBeUndefined(); // untilOp is exclusive
    expect(other.counts.forged).toBe(1);
    expect(other.why[0]).toMatch(/does not own/);
    expect(o.faults).toBeUndefined();
  });
  it("a switch refuses a straggler; an endpoint refuses a switch-crash of an NPU; a second copy is a duplicate", () => {
    const sw = ctxOf(id("l1.n0")), s = switchLogic.init(id("l1.n0"), t);
    switchLogic.receive(s, fault({ kind: "straggler", targets: [id("l1.n0")], factor: 2, bandwidthFactor: undefined, latencyNs: undefined }), sw.ctx);
    expect(sw.counts.forged).toBe(1);
    const ep = ctxOf(id("npu.n0.0")), n = npuLogic.init(id("npu.n0.0"), t);
    npuLogic.receive(n, fault({ kind: "switch-crash", targets: [id("npu.n0.1")], bandwidthFactor: undefined, latencyNs: undefined }), ep.ctx);
    expect(ep.counts.forged).toBe(1);
    const crash = fault({ kind: "switch-crash", targets: [id("l2.k3")], bandwidthFactor: undefined, latencyNs: undefined });
    npuLogic.receive(n, crash, ep.ctx);
    npuLogic.receive(n, crash, ep.ctx);
    expect(ep.counts.duplicate).toBe(1);
    expect(n.faults?.at(3)?.dead?.devices.has(id("l2.k3") as never)).toBe(true);
  });
  it("a halt is its endpoint's own: aimed at another it is forged, a switch refuses it, a second copy is a duplicate", () => {
    const halt = (targets: number[]) => fault({ kind: "halt", targets, mode: "crash", afterNs: 100, bandwidthFactor: undefined, latencyNs: undefined });
    const ep = ctxOf(id("npu.n0.0")), n = npuLogic.init(id("npu.n0.0"), t);
    npuLogic.receive(n, halt([id("npu.n0.1")]), ep.ctx);
    expect(ep.counts.forged).toBe(1);
    npuLogic.receive(n, halt([id("npu.n0.0")]), ep.ctx);
    npuLogic.receive(n, halt([id("npu.n0.0")]), ep.ctx);
    expect(ep.counts.duplicate).toBe(1);
    expect(n.halts).toHaveLength(1);
    expect(n.faults).toBeUndefined(); // a halt is not the fabric's
    const sw = ctxOf(id("l1.n0")), s = switchLogic.init(id("l1.n0"), t);
    switchLogic.receive(s, halt([id("l1.n0")]), sw.ctx);
    expect(sw.counts.forged).toBe(1);
  });
  it("a fault for an op that already began here is stale: an op never changes fabric half-way", () => {
    const sw = ctxOf(id("l1.n0")), s = switchLogic.init(id("l1.n0"), t);
    switchLogic.receive(s, { v: PROTOCOL_VERSION, type: "op-open", from: COORDINATOR, epoch: 1, inc: 0, op: 2 }, sw.ctx);
    switchLogic.receive(s, fault({ targets: lanes("l1.n0", "npu.n0.2") }), sw.ctx);
    expect(sw.counts.stale).toBe(1);
    switchLogic.receive(s, fault({ targets: lanes("l1.n0", "npu.n0.2"), fromOp: 3 }), sw.ctx);
    expect(sw.counts.stale).toBe(1);
    expect(s.faults?.at(3)).toBeDefined();
  });
});

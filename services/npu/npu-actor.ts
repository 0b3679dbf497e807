import { crc32 } from "../../shared/codec/index.js";
import type { Delivered } from "../../shared/collectives/index.js";
import { Ports } from "../../shared/linkmodel/index.js";
import { toWireError } from "../../shared/errors/index.js";
import {
  COORDINATOR, FaultKind, PROTOCOL_VERSION, RejectReason,
  type DataMsg, type OpDoneMsg, type OpStartMsg, type StatusMsg, type StripePart, type WaitFor,
} from "../../shared/protocol/index.js";
import { DEFAULT_LIMITS, StepBuffer, type ActorContext, type ActorLogic, type Outbound } from "../../shared/runtime/index.js";
import type { Topology } from "../../shared/topology/index.js";
import type { NpuId, SimNs } from "../../shared/units/index.js";
import { EarlyBuffer } from "./early-buffer.js";
import { deliver, drive, OpRun, splitTransferKey, transferKey, type DriveEffects, type DriveOutcome } from "./op-run.js";
import { routeOf, stripeFault } from "./stripe-check.js";
import { transmit, type TransferSpec } from "./transmit.js";
import { RememberingMap } from "./remembering-map.js";
import { takeFault, type FaultHolder } from "./fault-handler.js";
import { armFor, takeHalt, type HaltArm } from "./halt.js";
import { applyWireFaults } from "./wire-faults.js";
import { emptyFaultTally } from "../../shared/faults/index.js";

/** Counters an endpoint keeps; what it refused is counted by the engine (ctx.reject). */
export interface NpuCounters {
  /** Data messages received (a message may carry several stripes). */
  received: number;
}

export interface NpuState extends FaultHolder {
  readonly self: NpuId;
  readonly inc: number;
  readonly ports: Ports;
  computeFreeNs: number;
  readonly ops: RememberingMap<OpRun>;
  /** Stripes that arrived before their op-start (possible when transport order differs from virtual order). */
  readonly early: EarlyBuffer;
  /** The highest op started here: an op at or below it that is not running has ended (or skipped this endpoint). */
  highestOp: number;
  readonly counters: NpuCounters;
  /** Mid-op npu-crash or npu-hang faults for later ops (halt.ts). */
  readonly halts: HaltArm[];
  /** A halt struck: this incarnation is dead and handles nothing more (its engine stops its process). */
  halted: boolean;
  /** Its program-driving effects, reused for every delivery. */
  readonly fx: EndpointEffects;
}

/** The step of every npu actor's message, reused (StepBuffer: the engine reads it before the next). */
const STEPS = new StepBuffer<NpuState>();

/** The NPU (or die) actor: runs its rank's program of each collective and moves its data through its ports. */
export const npuLogic: ActorLogic<NpuState> = {
  kind: "npu",
  init: (self, t: Topology, limits = DEFAULT_LIMITS, inc = 0) => ({
    self: self as NpuId, inc, ports: new Ports(t, self as NpuId), computeFreeNs: 0, ops: new RememberingMap<OpRun>(), early: new EarlyBuffer(limits), highestOp: 0,
    counters: { received: 0 }, faults: undefined, tally: emptyFaultTally(), halts: [], halted: false, fx: new EndpointEffects(),
  }),
  receive(state, msg, ctx) {
    const out = STEPS.begin();
    if (state.halted) return STEPS.end(state, out);
    state.ports.horizonNs = ctx.nowNs ?? -Infinity;
    switch (msg.type) {
      case "op-start": start(state, msg, ctx, out); break;
      case "data": state.counters.received++; onData(state, msg, ctx, out); break; // one message, any number of stripes
      case "op-abort": if (state.ops.has(msg.op)) state.ops.delete(msg.op); state.early.take(msg.op); break;
      case "op-open":
      case "op-close":
        break; // for switches: an endpoint learns of its ops from op-start and op-done
      case "window":
        break; // the NATS shell's, with deployment.timing: exact (it never reaches the logic there)
      case "status-req": out.push(status(state, msg.op, ctx)); break;
      case "fault":
        if (msg.kind === FaultKind.Halt) takeHalt(state.halts, msg, ctx, state.highestOp);
        else takeFault(state, msg, ctx, state.highestOp);
        break;
      case "op-done":
      case "heartbeat":
      case "status":
      case "halted":
      case "window-report":
        ctx.reject(RejectReason.Forged, msg.from, { type: msg.type }, "endpoint got a coordinator-only message");
        break;
      default: {
        const never: never = msg;
        throw new Error(`unhandled message ${JSON.stringify(never)}`);
      }
    }
    // message-duplicate / -reorder: the order of what this step sends (a null check without faults).
    return STEPS.end(state, state.faults ? applyWireFaults(state.faults, out, state.tally) : out);
  },
};

function start(s: NpuState, m: OpStartMsg, ctx: ActorContext, out: Outbound[]): void {
  const rank = m.spec.group.indexOf(s.self);
  if (rank < 0) return;
  if (s.ops.has(m.spec.op) || m.spec.op <= s.highestOp) {
    const again = s.ops.has(m.spec.op);
    ctx.reject(again ? RejectReason.Duplicate : RejectReason.Stale, m.from, { op: m.spec.op }, again ? "op-start for an op already running here" : "op-start for an op that already ended here");
    return;
  }
  const run = new OpRun(m.spec, rank, m.epoch, m.startNs, m.part, ctx.limits.transfersPerOp, ctx.trace);
  if (s.halts.length) run.halt = armFor(s.halts, m.spec.op, m.startNs);
  s.ops.set(m.spec.op, run);
  s.highestOp = m.spec.op;
  s.computeFreeNs = Math.max(s.computeFreeNs, m.startNs);
  const early = s.early.take(m.spec.op);
  advance(s, run, ctx, out);
  for (const d of early) {
    if (s.halted) return; // struck: what came early is lost with it
    onData(s, d, ctx, out);
  }
}

/** An op ended here: its window goes, and its stragglers are stale (op ≤ highestOp, not running). */
function retire(s: NpuState, op: number): void {
  s.ops.delete(op);
}

function onData(s: NpuState, m: DataMsg, ctx: ActorContext, out: Outbound[]): void {
  if (m.dst !== s.self) {
    ctx.reject(RejectReason.Forged, m.from, { op: m.op, dst: m.dst }, "data message not addressed to this endpoint", m.parts.length);
    return;
  }
  const run = s.ops.get(m.op);
  if (!run) {
    if (m.op <= s.highestOp) { ctx.reject(RejectReason.Stale, m.from, { op: m.op }, "data for an op that ended here", m.parts.length); return; }
    const full = s.early.add(m);
    if (full) ctx.reject(RejectReason.Overflow, m.from, { op: m.op }, `data for an op not started here, not buffered: ${full}`, m.parts.length);
    return;
  }
  if (m.epoch !== run.epoch) { ctx.reject(RejectReason.Stale, m.from, { op: m.op, epoch: m.epoch }, "data of another epoch", m.parts.length); return; }
  if (s.faults?.at(m.op)?.cut(m.from, s.self)) { s.tally.partitioned += m.parts.length; return; } // across a partition: it never arrived
  const fromRank = run.rankOf(m.src);
  if (fromRank === undefined) { ctx.reject(RejectReason.Forged, m.from, { op: m.op, src: m.src }, "data from an endpoint outside the op's group", m.parts.length); return; }
  const route = routeOf(ctx.topology, m, s.faults);
  if (typeof route === "string") { ctx.reject(RejectReason.Forged, m.from, { op: m.op, src: m.src }, `data refused: ${route}`, m.parts.length); return; }
  const key = transferKey(fromRank, m.tag, run.spec.group.length);
  let whole: Delivered | undefined;
  for (const p of m.parts) whole = onPart(s, m, route, p, key, run, ctx) ?? whole;
  if (!whole) return;
  advance(s, run, ctx, out, key, whole);
}

const REFUSED_STRIPE = {
  duplicate: [RejectReason.Duplicate, "stripe already received"],
  overflow: [RejectReason.Overflow, "op's transfer window full"],
  mismatch: [RejectReason.Forged, "stripe count differs from the transfer's other stripes"],
} as const;

/** One stripe of a transfer: checked (path, CRC, not seen before) and added to its transfer; the whole transfer once complete. */
function onPart(s: NpuState, m: DataMsg, route: Parameters<typeof stripeFault>[1], p: StripePart, key: number, run: OpRun, ctx: ActorContext): Delivered | undefined {
  const t = ctx.topology;
  const fault = stripeFault(t, route, m, p, s.self, true);
  if (fault) { ctx.reject(RejectReason.Forged, m.from, { op: m.op, src: m.src, stripe: p.stripe }, `stripe refused: ${fault}`); return undefined; }
  // The checksum first: a corrupted copy must not shadow the good one that may follow.
  if (crc32(p.payload) !== p.crc) {
    ctx.reject(RejectReason.Corrupt, m.from, { op: m.op, src: m.src, stripe: p.stripe }, "payload checksum mismatch");
    return undefined;
  }
  const r = run.reassembly.add(key, m.stripes, m.totalBytes, p, t.endpointOverheadNs);
  if (r === "partial") return undefined;
  if (typeof r === "string") {
    const [reason, why] = REFUSED_STRIPE[r];
    ctx.reject(reason, m.from, { op: m.op, src: m.src, tag: m.tag, stripe: p.stripe }, why);
    return undefined;
  }
  return r;
}

const NO_DATA: Float64Array = new Float64Array(0);

/**
 * The endpoint's side of driving a program (DriveEffects), one per NPU state and aimed at each
 * advance: a delivery allocates no effects object or send closure. Its transfer record is reused too
 * (transmit reads it and keeps nothing of it).
 */
export class EndpointEffects implements DriveEffects {
  computeFreeNs = 0;
  computeFactor = 1;
  private s: NpuState | undefined;
  private run: OpRun | undefined;
  private ctx: ActorContext | undefined;
  private out: Outbound[] = [];
  private readonly x: { -readonly [K in keyof TransferSpec]: TransferSpec[K] } = { op: 0, epoch: 0, inc: 0, src: 0 as NpuId, dst: 0 as NpuId, tag: 0, bytes: 0, data: NO_DATA, nowNs: 0 };

  aim(s: NpuState, run: OpRun, ctx: ActorContext, out: Outbound[]): this {
    this.s = s; this.run = run; this.ctx = ctx; this.out = out;
    this.computeFreeNs = s.computeFreeNs;
    this.computeFactor = s.faults?.at(run.spec.op)?.computeFactor(s.self) ?? 1; // a straggler's compute takes k× its roofline
    return this;
  }

  send(to: number, tag: number, bytes: number, data: Float64Array, nowNs: number): void {
    const s = this.s!, run = this.run!, x = this.x;
    x.op = run.spec.op; x.epoch = run.epoch; x.inc = s.inc; x.src = s.self; x.dst = run.spec.group[to]!;
    x.tag = tag; x.bytes = bytes; x.data = data; x.nowNs = nowNs;
    transmit(this.ctx!.topology, s.ports, x, this.out, s.faults, s.tally);
  }

  /** Lets go of the op and the payload it last sent (nothing is allocated: the next advance aims it again). */
  release(): void { this.run = undefined; this.x.data = NO_DATA; }
}

/**
 * Drives a rank's program — starts it, or resumes it with transfer `key` delivered as `d` — and a
 * fault inside it fails this op on this rank (reported), never the host.
 */
function advance(s: NpuState, run: OpRun, ctx: ActorContext, out: Outbound[], key?: number, d?: Delivered): void {
  const fx = s.fx.aim(s, run, ctx, out);
  let outcome: DriveOutcome | undefined;
  try {
    outcome = d === undefined ? drive(run, fx, ctx.topology.endpoint) : deliver(run, key!, d, fx, ctx.topology.endpoint);
  } catch (err) {
    retire(s, run.spec.op);
    ctx.log.error({ err, op: run.spec.op, rank: run.rank }, "collective program failed");
    out.push(done(s, run, new Float64Array(0), toWireError(err)));
    return;
  } finally {
    s.computeFreeNs = fx.computeFreeNs;
    fx.release();
  }
  if (outcome?.kind === "done") {
    retire(s, run.spec.op);
    out.push(done(s, run, outcome.result));
  } else if (outcome?.kind === "halted") halt(s, run, outcome.atNs, out);
}

/** A halt struck: the endpoint says when, and stops; its engine kills or stops its process (docs/chaos.md §3). */
function halt(s: NpuState, run: OpRun, atNs: number, out: Outbound[]): void {
  const h = run.halt!;
  s.halted = true;
  s.ops.clear();
  out.push({ to: COORDINATOR, atNs: atNs as SimNs, msg: { v: PROTOCOL_VERSION, type: "halted", from: s.self, epoch: run.epoch, inc: s.inc, op: run.spec.op, fault: h.fault, mode: h.mode, atNs: atNs as SimNs } });
}

/** What this endpoint waits for: one entry per op blocked in a receive. */
function status(s: NpuState, op: number, ctx: ActorContext): Outbound {
  const waits: WaitFor[] = [];
  let partial = 0;
  for (const run of s.ops.values()) {
    partial += run.reassembly.pending;
    for (const key of run.waits) {
      const { fromRank, tag } = splitTransferKey(key, run.spec.group.length);
      waits.push({ op: run.spec.op, rank: run.rank, fromRank, fromActor: run.spec.group[fromRank] ?? -1, tag });
    }
  }
  const msg: StatusMsg = { v: PROTOCOL_VERSION, type: "status", from: s.self, epoch: 0, inc: s.inc, op, waits, partialTransfers: partial, dataHandled: s.counters.received, rejected: { ...ctx.rejected } };
  return { to: COORDINATOR, atNs: 0 as SimNs, msg };
}

function done(s: NpuState, run: OpRun, result: Float64Array, error?: OpDoneMsg["error"]): Outbound {
  const msg: OpDoneMsg = {
    v: PROTOCOL_VERSION, type: "op-done", from: s.self, epoch: run.epoch, inc: s.inc,
    op: run.spec.op, rank: run.rank, startNs: run.startNs as SimNs, endNs: run.nowNs as SimNs, result,
    sentMessages: run.sent, ...(error ? { error } : {}),
    ...(run.marks.length ? { marks: run.marks } : {}), ...(run.tally ? { tally: run.tally } : {}),
  };
  return { to: COORDINATOR, atNs: run.nowNs as SimNs, msg };
}

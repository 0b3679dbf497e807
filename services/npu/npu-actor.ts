import { crc32 } from "../../shared/codec/index.js";
import type { Delivered } from "../../shared/collectives/index.js";
import { Ports } from "../../shared/linkmodel/index.js";
import { toWireError } from "../../shared/errors/index.js";
import {
  COORDINATOR, PROTOCOL_VERSION,
  type DataMsg, type OpDoneMsg, type OpStartMsg, type StatusMsg, type StripePart, type WaitFor,
} from "../../shared/protocol/index.js";
import type { ActorContext, ActorLogic, Outbound, Step } from "../../shared/runtime/index.js";
import type { Topology } from "../../shared/topology/index.js";
import type { NpuId, SimNs } from "../../shared/units/index.js";
import { drive, OpRun, splitTransferKey, transferKey, type DriveOutcome } from "./op-run.js";
import { transmit } from "./transmit.js";

/** Ops remembered as finished, and ops whose early stripes may be buffered, per endpoint. */
export const MAX_FINISHED_OPS = 64;
export const MAX_EARLY_OPS = 16;

/** Counters an endpoint keeps about what it refused. */
export interface NpuCounters {
  /** Data messages received (a message may carry several stripes). */
  received: number;
  rejected: number;
  badChecksum: number;
  staleEpoch: number;
}

export interface NpuState {
  readonly self: NpuId;
  readonly inc: number;
  readonly ports: Ports;
  computeFreeNs: number;
  readonly ops: Map<number, OpRun>;
  /** Stripes that arrived before their op-start (possible when transport order differs from virtual order). */
  readonly early: Map<number, DataMsg[]>;
  /** Recently finished op ids: late or duplicate stripes of these are dropped, not buffered. */
  readonly finished: Set<number>;
  readonly counters: NpuCounters;
}

/** The NPU (or die) actor: runs its rank's program of each collective and moves its data through its ports. */
export const npuLogic: ActorLogic<NpuState> = {
  kind: "npu",
  init: (self, t: Topology) => ({
    self: self as NpuId, inc: 0, ports: new Ports(t, self as NpuId), computeFreeNs: 0, ops: new Map(), early: new Map(), finished: new Set(),
    counters: { received: 0, rejected: 0, badChecksum: 0, staleEpoch: 0 },
  }),
  receive(state, msg, ctx) {
    const out: Outbound[] = [];
    switch (msg.type) {
      case "op-start": start(state, msg, ctx, out); break;
      case "data": state.counters.received++; onData(state, msg, ctx, out); break; // one message, any number of stripes
      case "op-abort": if (state.ops.has(msg.op)) retire(state, msg.op); state.early.delete(msg.op); break;
      case "status-req": out.push(status(state, msg.op)); break;
      case "op-done":
      case "heartbeat":
      case "status":
        state.counters.rejected++;
        ctx.log.warn({ from: msg.from, type: msg.type }, "endpoint got a coordinator-only message");
        break;
      default: {
        const never: never = msg;
        throw new Error(`unhandled message ${JSON.stringify(never)}`);
      }
    }
    return { state, outbound: out } satisfies Step<NpuState>;
  },
};

function start(s: NpuState, m: OpStartMsg, ctx: ActorContext, out: Outbound[]): void {
  const rank = m.spec.group.indexOf(s.self);
  if (rank < 0) return;
  if (s.ops.has(m.spec.op) || s.finished.has(m.spec.op)) {
    s.counters.rejected++;
    ctx.log.warn({ op: m.spec.op }, "op-start for an op this endpoint already has: ignored");
    return;
  }
  const run = new OpRun(m.spec, rank, m.epoch, m.startNs, m.part);
  s.ops.set(m.spec.op, run);
  s.computeFreeNs = Math.max(s.computeFreeNs, m.startNs);
  const early = s.early.get(m.spec.op) ?? [];
  s.early.delete(m.spec.op);
  advance(s, run, undefined, ctx, out);
  for (const d of early) onData(s, d, ctx, out);
}

/** Remembers that an op ended here, so its stragglers are dropped (bounded memory). */
function retire(s: NpuState, op: number): void {
  s.ops.delete(op);
  s.finished.add(op);
  if (s.finished.size > MAX_FINISHED_OPS) s.finished.delete(s.finished.values().next().value as number);
}

function onData(s: NpuState, m: DataMsg, ctx: ActorContext, out: Outbound[]): void {
  if (m.dst !== s.self) {
    s.counters.rejected++;
    ctx.log.warn({ from: m.from, op: m.op, dst: m.dst }, "data message not addressed to this endpoint");
    return;
  }
  const run = s.ops.get(m.op);
  if (!run && s.finished.has(m.op)) { s.counters.staleEpoch++; return; }
  if (!run) {
    if (s.early.size >= MAX_EARLY_OPS && !s.early.has(m.op)) { s.counters.rejected++; return; }
    const list = s.early.get(m.op) ?? [];
    list.push(m);
    s.early.set(m.op, list);
    return;
  }
  if (m.epoch !== run.epoch) { s.counters.staleEpoch++; return; }
  const fromRank = run.rankOf.get(m.src);
  if (fromRank === undefined) { s.counters.rejected++; return; }
  const key = transferKey(fromRank, m.tag);
  let whole: Delivered | undefined;
  for (const p of m.parts) whole = onPart(s, m, p, key, run, ctx) ?? whole;
  if (!whole) return;
  if (run.waitingFor === key) advance(s, run, whole, ctx, out, true);
  else run.mailbox.set(key, whole);
}

/** One stripe of a transfer: checked (path end, CRC) and added to its transfer; the whole transfer once complete. */
function onPart(s: NpuState, m: DataMsg, p: StripePart, key: number, run: OpRun, ctx: ActorContext): Delivered | undefined {
  const t = ctx.topology;
  if (t.links[p.path[p.hop]!]?.to !== s.self || p.hop !== p.path.length - 1) {
    s.counters.rejected++;
    ctx.log.warn({ from: m.from, op: m.op, stripe: p.stripe }, "stripe whose path does not end at this endpoint");
    return undefined;
  }
  if (crc32(p.payload) !== p.crc) {
    s.counters.badChecksum++;
    ctx.log.error({ from: m.from, op: m.op, src: m.src, stripe: p.stripe }, "payload checksum mismatch");
    return undefined;
  }
  const r = run.reassembly.add(key, m.stripes, m.totalBytes, p, t.endpointOverheadNs);
  if (r === "mismatch") {
    s.counters.rejected++;
    ctx.log.warn({ from: m.from, op: m.op, stripe: p.stripe, stripes: m.stripes }, "stripe count differs from the transfer's other stripes");
    return undefined;
  }
  return r;
}

/** Drives a rank's program; a fault inside it fails this op on this rank (reported), never the host. */
function advance(s: NpuState, run: OpRun, d: Parameters<typeof drive>[1], ctx: ActorContext, out: Outbound[], resumed = false): void {
  const fx = {
    computeFreeNs: s.computeFreeNs,
    send: (to: number, tag: number, bytes: number, data: Float64Array) => transmit(ctx.topology, s.ports, {
      op: run.spec.op, epoch: run.epoch, inc: s.inc, src: s.self, dst: run.spec.group[to]!, tag, bytes, data, nowNs: run.nowNs,
    }, out),
  };
  let outcome: DriveOutcome;
  try {
    if (resumed && d) { run.nowNs = Math.max(run.nowNs, d.deliveredNs); run.waitingFor = undefined; }
    outcome = drive(run, d, fx, ctx.topology.endpoint);
  } catch (err) {
    retire(s, run.spec.op);
    ctx.log.error({ err, op: run.spec.op, rank: run.rank }, "collective program failed");
    out.push(done(s, run, new Float64Array(0), toWireError(err)));
    return;
  } finally {
    s.computeFreeNs = fx.computeFreeNs;
  }
  if (outcome.kind === "done") {
    retire(s, run.spec.op);
    out.push(done(s, run, outcome.result));
  }
}

/** What this endpoint waits for: one entry per op blocked in a receive. */
function status(s: NpuState, op: number): Outbound {
  const waits: WaitFor[] = [];
  let partial = 0;
  for (const run of s.ops.values()) {
    partial += run.reassembly.pending;
    if (run.waitingFor === undefined) continue;
    const { fromRank, tag } = splitTransferKey(run.waitingFor);
    waits.push({ op: run.spec.op, rank: run.rank, fromRank, fromActor: run.spec.group[fromRank] ?? -1, tag });
  }
  const msg: StatusMsg = { v: PROTOCOL_VERSION, type: "status", from: s.self, epoch: 0, inc: s.inc, op, waits, partialTransfers: partial, dataHandled: s.counters.received };
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

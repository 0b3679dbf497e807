import { crc32 } from "../../shared/codec/index.js";
import { emptyFaultTally, type FaultedFabric } from "../../shared/faults/index.js";
import { Ports, traverseInto, traverseOwn, type HopTimes, type MutableHopTimes } from "../../shared/linkmodel/index.js";
import { COORDINATOR, PROTOCOL_VERSION, RejectReason, type DataMsg, type StatusMsg, type StripePart } from "../../shared/protocol/index.js";
import { applyWireFaults, bundle, corruptedPart, EarlyBuffer, MASK_STRIPES, OpWindows, retryHop, routeOf, stripeFault, takeFault, type FaultHolder, type StripeWindow } from "../npu/index.js";
import { DEFAULT_LIMITS, StepBuffer, type ActorContext, type ActorLogic, type Outbound } from "../../shared/runtime/index.js";
import type { Path, Topology } from "../../shared/topology/index.js";
import type { SimNs, SwitchId } from "../../shared/units/index.js";

export interface SwitchState extends FaultHolder {
  readonly self: SwitchId;
  /** Its traversal latency (the topology's, read once: a Device object is a cache miss on the hot path). */
  readonly latencyNs: number;
  readonly ports: Ports;
  /** Open ops, each with the stripes already forwarded (a replay costs no port time). */
  readonly windows: OpWindows;
  /** Stripes of ops the coordinator has not opened here yet. */
  readonly early: EarlyBuffer;
  /** Data messages received (a message may carry several stripes), and stripes forwarded. */
  received: number;
  forwarded: number;
}

/** The step of every switch actor's message, reused (StepBuffer: the engine reads it before the next). */
const STEPS = new StepBuffer<SwitchState>();

/**
 * A switch chip on the data path: each stripe pays the traversal latency, then queues for the egress
 * port of the next link of its path (source-routed), cut-through. Only stripes of open ops (op-open …
 * op-close from the coordinator), of the op's epoch, on their route, from the device before this one,
 * and not seen before, are charged and forwarded.
 */
export const switchLogic: ActorLogic<SwitchState> = {
  kind: "switch",
  init: (self, t, limits = DEFAULT_LIMITS) => ({
    self: self as SwitchId, latencyNs: t.devices[self]!.switchLatencyNs, ports: new Ports(t, self as SwitchId), windows: new OpWindows(limits), early: new EarlyBuffer(limits), received: 0, forwarded: 0, faults: undefined, tally: emptyFaultTally(),
  }),
  receive(state, msg, ctx) {
    const out = STEPS.begin();
    state.ports.horizonNs = ctx.nowNs ?? -Infinity;
    switch (msg.type) {
      case "data": state.received++; onData(state, msg, ctx, out); break;
      case "op-open": open(state, msg.op, msg.epoch, msg.from, ctx, out); break;
      case "op-close":
      case "op-abort":
        state.windows.close(msg.op);
        state.early.take(msg.op);
        break;
      case "op-start":
        break; // endpoints' business; switches learn of ops from op-open
      case "window":
        break; // the NATS shell's, with deployment.timing: exact (it never reaches the logic there)
      case "fault": takeFault(state, msg, ctx, state.windows.highestOp); break;
      case "status-req": {
        const reply: StatusMsg = {
          v: PROTOCOL_VERSION, type: "status", from: state.self, epoch: 0, inc: 0, op: msg.op, waits: [], partialTransfers: 0,
          dataHandled: state.received, rejected: { ...ctx.rejected },
        };
        out.push({ to: COORDINATOR, atNs: 0 as SimNs, msg: reply });
        break;
      }
      case "op-done":
      case "heartbeat":
      case "status":
      case "halted":
      case "window-report":
        ctx.reject(RejectReason.Forged, msg.from, { type: msg.type }, "switch got a coordinator-only message");
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

function open(s: SwitchState, op: number, epoch: number, from: number, ctx: ActorContext, out: Outbound[]): void {
  if (s.windows.get(op) || op <= s.windows.highestOp) {
    ctx.reject(s.windows.get(op) ? RejectReason.Duplicate : RejectReason.Stale, from, { op }, "op-open for an op already opened here");
    return;
  }
  s.windows.openOp(op, epoch);
  for (const m of s.early.take(op)) onData(s, m, ctx, out);
}

function onData(s: SwitchState, m: DataMsg, ctx: ActorContext, out: Outbound[]): void {
  const w = s.windows.get(m.op);
  if (!w) {
    if (s.windows.isStale(m.op)) { ctx.reject(RejectReason.Stale, m.from, { op: m.op }, "data for an op that ended", m.parts.length); return; }
    const full = s.early.add(m);
    if (full) ctx.reject(RejectReason.Overflow, m.from, { op: m.op }, `data for an op not open here, not buffered: ${full}`, m.parts.length);
    return;
  }
  if (m.epoch !== w.epoch) { ctx.reject(RejectReason.Stale, m.from, { op: m.op, epoch: m.epoch }, "data of another epoch", m.parts.length); return; }
  if (s.faults?.at(m.op)?.cut(m.from, s.self)) { s.tally.partitioned += m.parts.length; return; } // across a partition: it never arrived
  forward(s, m, w, ctx, out);
}

function forward(s: SwitchState, m: DataMsg, w: StripeWindow, ctx: ActorContext, out: Outbound[]): void {
  const t = ctx.topology;
  const route = routeOf(t, m, s.faults);
  if (typeof route === "string") { ctx.reject(RejectReason.Forged, m.from, { op: m.op, src: m.src }, `data refused: ${route}`, m.parts.length); return; }
  const fab = s.faults?.at(m.op); // a link-degrade of this switch's egress link; corrupting links into it
  const keep = admitted(t, route, s.self, m, w, ctx, fab?.checksCrc ? fab : undefined);
  if (keep === NONE) return;
  const lat = s.latencyNs;
  // A received message is this switch's own (no one else holds it: a duplicate fault sends a copy), so
  // its parts move on in place — new times, the next hop — and, when every part goes on to one device,
  // the message itself does: no allocation per hop but the outbound entry (next devices go in a
  // scratch array; a subset of parts in one sized to the message).
  const n = m.parts.length, tos = TOS, parts = keep === ALL ? m.parts as StripePart[] : new Array<StripePart>(n);
  let kept = 0;
  let bad: { tos: number[]; parts: StripePart[] } | undefined; // corrupted first copies, sent ahead of the good ones
  for (let i = 0; i < n; i++) {
    if (keep !== ALL && !keep[i]) continue;
    const p = m.parts[i]!;
    const id = p.path[p.hop + 1]!, port = s.ports.get(id);
    // Fault-free, the port knows its link's figures (no Link object read); else the faulted link's.
    const link = fab?.link(id), losses = link && fab!.lossOf(link.id);
    let hop: HopTimes;
    if (losses === undefined) {
      hop = link ? traverseInto(HOP, port, link, p.bytes, p.headNs + lat, p.tailNs + lat) : traverseOwn(HOP, port, p.bytes, p.headNs + lat, p.tailNs + lat);
    } else {
      const r = retryHop(t, port, link!, losses, { epoch: m.epoch, op: m.op, src: m.src, dst: m.dst, tag: m.tag, stripe: p.stripe }, p.bytes, p.headNs + lat, p.tailNs + lat, s.tally);
      hop = r.hop;
      if (r.corrupt) {
        bad ??= { tos: [], parts: [] };
        bad.tos.push(link!.to);
        bad.parts.push(corruptedPart({ ...p, hop: p.hop + 1 }, r.corrupt, m.op + m.tag + p.stripe + p.hop));
      }
    }
    if (ctx.trace) ctx.trace.forwarded(m.op, id, p.headNs + lat, hop.tailNs, hop.queuedNs * (link ?? port).bandwidthGBps); // bytes queued ahead: wait × rate
    s.forwarded++;
    const moved = p as Mutable<StripePart>;
    moved.headNs = hop.headNs;
    moved.tailNs = hop.tailNs;
    moved.hop = p.hop + 1;
    tos[kept] = t.linkTo[id]!;
    parts[kept++] = p;
  }
  if (kept < n) parts.length = kept;
  if (bad) bundle(t, s.self, m, bad.tos, bad.parts, out);
  if (kept > 0) bundle(t, s.self, m, tos, parts, out, bad ? undefined : m);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const ALL = "all", NONE = "none";
/** The next device of each part being forwarded (its first `kept` entries), read by `bundle` before the next message. */
const TOS: number[] = [];
/** The hop times of the part being forwarded: read into the part before the next part's hop. */
const HOP: MutableHopTimes = { headNs: 0 as SimNs, tailNs: 0 as SimNs, queuedNs: 0 };

/**
 * Which parts of a message may pass: on their route, from the sender, intact (only where `crc` says a
 * link into this switch corrupts: checked before the window, so a corrupted copy cannot shadow the
 * good one that follows), and not forwarded before — all, none, or a flag per part. Refusals are
 * counted here. The window is consulted once per message when the transfer is narrow enough for a
 * bitmask (its parts share the transfer), else stripe by stripe.
 */
function admitted(t: Topology, route: readonly Path[], self: number, m: DataMsg, w: StripeWindow, ctx: ActorContext, crc: FaultedFabric | undefined): boolean[] | typeof ALL | typeof NONE {
  // (src, dst) and tag name the transfer within the op; pair < devices² < 2^31 up to 46,340 devices.
  const pair = m.src * t.devices.length + m.dst;
  const parts = m.parts, n = parts.length;
  let ok: boolean[] | undefined; // undefined while every part is still admitted (no allocation on the common path)
  for (let i = 0; i < n; i++) {
    const p = parts[i]!;
    const fault = stripeFault(t, route, m, p, self, false);
    if (fault === undefined) {
      if (crc === undefined || !crc.corrupts(p.path[p.hop]!) || crc32(p.payload) === p.crc) continue;
      ctx.reject(RejectReason.Corrupt, m.from, { op: m.op, src: m.src, stripe: p.stripe, hop: p.hop }, "payload checksum mismatch");
    } else {
      ctx.reject(RejectReason.Forged, m.from, { op: m.op, src: m.src, hop: p.hop }, `stripe refused: ${fault}`);
    }
    (ok ??= new Array<boolean>(n).fill(true))[i] = false;
  }
  let dup = 0, full = 0;
  if (m.stripes <= MASK_STRIPES) {
    let mask = 0;
    for (let i = 0; i < n; i++) if (!ok || ok[i]) mask |= 1 << parts[i]!.stripe;
    const fresh = mask === 0 ? 0 : w.admitMask(pair, m.tag, mask);
    if (fresh !== mask) {
      for (let i = 0; i < n; i++) {
        if (ok && !ok[i]) continue;
        if (fresh < 0) full++; else if (((fresh >>> parts[i]!.stripe) & 1) === 0) dup++; else continue;
        (ok ??= new Array<boolean>(n).fill(true))[i] = false;
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      if (ok && !ok[i]) continue;
      const a = w.admit(pair, m.tag, parts[i]!.stripe, m.stripes);
      if (a === "new") continue;
      if (a === "duplicate") dup++; else full++;
      (ok ??= new Array<boolean>(n).fill(true))[i] = false;
    }
  }
  if (dup) ctx.reject(RejectReason.Duplicate, m.from, { op: m.op, src: m.src, tag: m.tag }, "stripe already forwarded", dup);
  if (full) ctx.reject(RejectReason.Overflow, m.from, { op: m.op, src: m.src, tag: m.tag }, "op window full", full);
  if (!ok) return ALL;
  return ok.some(Boolean) ? ok : NONE;
}

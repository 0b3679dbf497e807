import { Ports, traverse } from "../../shared/linkmodel/index.js";
import { COORDINATOR, PROTOCOL_VERSION, RejectReason, TAG_LIMIT, type DataMsg, type StatusMsg, type StripePart } from "../../shared/protocol/index.js";
import { bundle, EarlyBuffer, OpWindows, stripeFault } from "../npu/index.js";
import { DEFAULT_LIMITS, type ActorContext, type ActorLogic, type Outbound } from "../../shared/runtime/index.js";
import type { SimNs, SwitchId } from "../../shared/units/index.js";

export interface SwitchState {
  readonly self: SwitchId;
  readonly ports: Ports;
  /** Open ops, each with the stripes already forwarded (a replay costs no port time). */
  readonly windows: OpWindows;
  /** Stripes of ops the coordinator has not opened here yet. */
  readonly early: EarlyBuffer;
  /** Data messages received (a message may carry several stripes), and stripes forwarded. */
  received: number;
  forwarded: number;
}

/**
 * A switch chip on the data path: each stripe pays the traversal latency, then queues for the egress
 * port of the next link of its path (source-routed), cut-through. Only stripes of open ops (op-open …
 * op-close from the coordinator), of the op's epoch, on their route, from the device before this one,
 * and not seen before, are charged and forwarded.
 */
export const switchLogic: ActorLogic<SwitchState> = {
  kind: "switch",
  init: (self, t, limits = DEFAULT_LIMITS) => ({
    self: self as SwitchId, ports: new Ports(t, self as SwitchId), windows: new OpWindows(limits), early: new EarlyBuffer(limits), received: 0, forwarded: 0,
  }),
  receive(state, msg, ctx) {
    const out: Outbound[] = [];
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
        ctx.reject(RejectReason.Forged, msg.from, { type: msg.type }, "switch got a coordinator-only message");
        break;
      default: {
        const never: never = msg;
        throw new Error(`unhandled message ${JSON.stringify(never)}`);
      }
    }
    return { state, outbound: out };
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
  forward(s, m, w, ctx, out);
}

function forward(s: SwitchState, m: DataMsg, w: NonNullable<ReturnType<OpWindows["get"]>>, ctx: ActorContext, out: Outbound[]): void {
  const t = ctx.topology;
  const lat = t.devices[s.self]!.switchLatencyNs;
  // (src, dst, tag) names the transfer within the op: < devices² × TAG_LIMIT, a safe integer up to ~10^4 devices.
  const transfer = (m.src * t.devices.length + m.dst) * TAG_LIMIT + m.tag;
  const tos: number[] = [], parts: StripePart[] = [];
  for (const p of m.parts) {
    const fault = stripeFault(t, m, p, s.self, false);
    if (fault) { ctx.reject(RejectReason.Forged, m.from, { op: m.op, src: m.src, hop: p.hop }, `stripe refused: ${fault}`); continue; }
    const admit = w.admit(transfer, p.stripe, m.stripes);
    if (admit !== "new") {
      ctx.reject(admit === "duplicate" ? RejectReason.Duplicate : RejectReason.Overflow, m.from, { op: m.op, src: m.src, tag: m.tag, stripe: p.stripe }, admit === "duplicate" ? "stripe already forwarded" : "op window full");
      continue;
    }
    const link = t.links[p.path[p.hop + 1]!]!;
    const hop = traverse(s.ports.get(link.id), link, p.bytes, p.headNs + lat, p.tailNs + lat);
    s.forwarded++;
    tos.push(link.to);
    parts.push({ stripe: p.stripe, bytes: p.bytes, headNs: hop.headNs, tailNs: hop.tailNs, path: p.path, hop: p.hop + 1, payload: p.payload, crc: p.crc });
  }
  if (parts.length > 0) bundle(t, s.self, m, tos, parts, out);
}

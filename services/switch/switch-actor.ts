import { handleAtNs, Ports, traverse } from "../../shared/linkmodel/index.js";
import { COORDINATOR, PROTOCOL_VERSION, type DataMsg, type StatusMsg } from "../../shared/protocol/index.js";
import type { ActorContext, ActorLogic, Outbound } from "../../shared/runtime/index.js";
import type { SimNs, SwitchId } from "../../shared/units/index.js";

export interface SwitchState {
  readonly self: SwitchId;
  readonly ports: Ports;
  forwarded: number;
  rejected: number;
}

/**
 * A switch chip on the data path: each stripe pays the traversal latency, then queues for the egress
 * port of the next link of its path (source-routed), cut-through.
 */
export const switchLogic: ActorLogic<SwitchState> = {
  kind: "switch",
  init: (self, t) => ({ self: self as SwitchId, ports: new Ports(t, self as SwitchId), forwarded: 0, rejected: 0 }),
  receive(state, msg, ctx) {
    const out: Outbound[] = [];
    switch (msg.type) {
      case "data": forward(state, msg, ctx, out); break;
      case "op-start":
      case "op-abort":
        break; // switches keep no per-op state
      case "status-req": {
        const reply: StatusMsg = { v: PROTOCOL_VERSION, type: "status", from: state.self, epoch: 0, inc: 0, op: msg.op, waits: [], partialTransfers: 0, dataHandled: state.forwarded + state.rejected };
        out.push({ to: COORDINATOR, atNs: 0 as SimNs, msg: reply });
        break;
      }
      case "op-done":
      case "heartbeat":
      case "status":
        state.rejected++;
        ctx.log.warn({ from: msg.from, type: msg.type }, "switch got a message it does not handle");
        break;
      default: {
        const never: never = msg;
        throw new Error(`unhandled message ${JSON.stringify(never)}`);
      }
    }
    return { state, outbound: out };
  },
};

function forward(s: SwitchState, m: DataMsg, ctx: ActorContext, out: Outbound[]): void {
  const t = ctx.topology;
  const inLink = t.links[m.path[m.hop]!];
  const next = t.links[m.path[m.hop + 1] ?? -1];
  if (!inLink || inLink.to !== s.self || !next || next.from !== s.self) {
    s.rejected++;
    ctx.log.warn({ from: m.from, op: m.op, hop: m.hop }, "data message whose path does not cross this switch here");
    return;
  }
  const lat = t.devices[s.self]!.switchLatencyNs;
  const hop = traverse(s.ports.get(next.id), next, m.bytes, m.headNs + lat, m.tailNs + lat);
  s.forwarded++;
  const fwd: DataMsg = {
    v: m.v, type: m.type, from: s.self, epoch: m.epoch, inc: m.inc, op: m.op, src: m.src, dst: m.dst, tag: m.tag,
    stripe: m.stripe, stripes: m.stripes, bytes: m.bytes, totalBytes: m.totalBytes, sentNs: m.sentNs,
    headNs: hop.headNs, tailNs: hop.tailNs, path: m.path, hop: m.hop + 1, payload: m.payload, crc: m.crc,
  };
  out.push({ to: next.to, atNs: handleAtNs(t, next.to, hop.headNs, hop.tailNs), msg: fwd });
}

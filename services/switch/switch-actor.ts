import { Ports, traverse } from "../../shared/linkmodel/index.js";
import { COORDINATOR, PROTOCOL_VERSION, type DataMsg, type StatusMsg, type StripePart } from "../../shared/protocol/index.js";
import { bundle } from "../npu/index.js";
import type { ActorContext, ActorLogic, Outbound } from "../../shared/runtime/index.js";
import type { SimNs, SwitchId } from "../../shared/units/index.js";

export interface SwitchState {
  readonly self: SwitchId;
  readonly ports: Ports;
  /** Data messages received (a message may carry several stripes), stripes forwarded, stripes refused. */
  received: number;
  forwarded: number;
  rejected: number;
}

/**
 * A switch chip on the data path: each stripe pays the traversal latency, then queues for the egress
 * port of the next link of its path (source-routed), cut-through.
 */
export const switchLogic: ActorLogic<SwitchState> = {
  kind: "switch",
  init: (self, t) => ({ self: self as SwitchId, ports: new Ports(t, self as SwitchId), received: 0, forwarded: 0, rejected: 0 }),
  receive(state, msg, ctx) {
    const out: Outbound[] = [];
    switch (msg.type) {
      case "data": state.received++; forward(state, msg, ctx, out); break;
      case "op-start":
      case "op-abort":
        break; // switches keep no per-op state
      case "status-req": {
        const reply: StatusMsg = { v: PROTOCOL_VERSION, type: "status", from: state.self, epoch: 0, inc: 0, op: msg.op, waits: [], partialTransfers: 0, dataHandled: state.received };
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
  const lat = t.devices[s.self]!.switchLatencyNs;
  const tos: number[] = [], parts: StripePart[] = [];
  for (const p of m.parts) {
    const inLink = t.links[p.path[p.hop]!];
    const link = t.links[p.path[p.hop + 1] ?? -1];
    if (!inLink || inLink.to !== s.self || !link || link.from !== s.self) {
      s.rejected++;
      ctx.log.warn({ from: m.from, op: m.op, hop: p.hop }, "data message whose path does not cross this switch here");
      continue;
    }
    const hop = traverse(s.ports.get(link.id), link, p.bytes, p.headNs + lat, p.tailNs + lat);
    s.forwarded++;
    tos.push(link.to);
    parts.push({ stripe: p.stripe, bytes: p.bytes, headNs: hop.headNs, tailNs: hop.tailNs, path: p.path, hop: p.hop + 1, payload: p.payload, crc: p.crc });
  }
  if (parts.length > 0) bundle(t, s.self, m, tos, parts, out);
}

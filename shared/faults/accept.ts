import { FAULT_LIMITS, FaultKind, RejectReason, type FaultMsg } from "../protocol/index.js";
import { DeviceKind, type Topology } from "../topology/index.js";
import { FaultTable, type FaultEntry } from "./fabric.js";

/** Why an actor refuses a fault message, or undefined when it takes it. */
export type FaultRefusal = readonly [RejectReason, string] | undefined;

/**
 * An actor takes a fault (from the coordinator: the edge has checked the sender) when it applies to
 * it — its own links for link-degrade (or, for a switch, links into it that corrupt: it checks their
 * CRCs), itself for straggler and message-*, switches for switch-crash, any links for link-down and
 * link-flap — and to an op that has not started here (`highestOp`: the last op this actor began), so
 * that no op ever changes fabric half-way. The fault goes into the actor's table.
 */
export function acceptFault(table: FaultTable, m: FaultMsg, self: number, t: Topology, highestOp: number): FaultRefusal {
  if (table.has(m.fault, m.fromOp)) return [RejectReason.Duplicate, `fault ${m.fault} from op ${m.fromOp} already applied here`];
  if (table.size >= FAULT_LIMITS.faults) return [RejectReason.Overflow, `more than ${FAULT_LIMITS.faults} faults`];
  if (m.fromOp <= highestOp) return [RejectReason.Stale, `fault ${m.fault} from op ${m.fromOp}, but op ${highestOp} already started here`];
  const links = m.kind === FaultKind.LinkDegrade || m.kind === FaultKind.LinkDown || m.kind === FaultKind.LinkFlap;
  const count = links ? t.links.length : t.devices.length;
  const bad = m.targets.find((id) => id >= count);
  if (bad !== undefined) return [RejectReason.Forged, `fault names ${links ? "link" : "device"} ${bad}; the topology has ${count}`];
  switch (m.kind) {
    case FaultKind.LinkDegrade: {
      // A switch a corrupting link ends at holds it too, to check the CRCs of what arrives over it.
      const checks = (m.corruptPct ?? 0) > 0 && t.devices[self]!.kind === DeviceKind.Switch;
      if (m.targets.some((id) => t.links[id]!.from !== self && !(checks && t.links[id]!.to === self))) {
        return [RejectReason.Forged, "link-degrade of a link this device does not own (a link is its from-device's egress port)"];
      }
      break;
    }
    case FaultKind.MessageDuplicate:
    case FaultKind.MessageReorder:
      if (m.targets.some((id) => id !== self)) return [RejectReason.Forged, `${m.kind} aimed at another device`];
      break;
    case FaultKind.Straggler:
      if (m.targets.some((id) => id !== self)) return [RejectReason.Forged, "straggler aimed at another device"];
      if (t.devices[self]!.kind !== DeviceKind.Npu) return [RejectReason.Forged, "straggler aimed at a switch"];
      break;
    case FaultKind.SwitchCrash:
      if (m.targets.some((id) => t.devices[id]!.kind !== DeviceKind.Switch)) return [RejectReason.Forged, "switch-crash of a device that is not a switch"];
      break;
    case FaultKind.LinkDown:
    case FaultKind.LinkFlap:
    case FaultKind.Partition:
      break;
    case FaultKind.Halt: // an endpoint holds its halts apart (services/npu halt.ts); a switch never halts
      return [RejectReason.Forged, "halt aimed at a device that does not halt"];
    default: {
      const never: never = m.kind;
      return [RejectReason.Malformed, `unknown fault kind ${String(never)}`];
    }
  }
  table.add({
    fault: m.fault, kind: m.kind, targets: m.targets, fromOp: m.fromOp,
    ...(m.untilOp !== undefined ? { untilOp: m.untilOp } : {}),
    ...(m.bandwidthFactor !== undefined ? { bandwidthFactor: m.bandwidthFactor } : {}),
    ...(m.latencyNs !== undefined ? { latencyNs: m.latencyNs } : {}),
    ...(m.factor !== undefined ? { factor: m.factor } : {}),
    ...paramsOf(m),
  });
  return undefined;
}

/** The parameters of the newer kinds that the message carries (only those set). */
function paramsOf(m: FaultMsg): Partial<FaultEntry> {
  const p: Record<string, number> = {};
  for (const k of ["lossPct", "corruptPct", "retryNs", "periodNs", "duty", "phaseNs", "originNs", "pct", "seed"] as const) {
    if (m[k] !== undefined) p[k] = m[k];
  }
  return p;
}

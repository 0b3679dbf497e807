import type { FaultDecl, PlannedFault } from "../../shared/config/index.js";
import { FaultKind, isEveryActorFault } from "../../shared/protocol/index.js";
import { DeviceKind, type Topology } from "../../shared/topology/index.js";

/**
 * Who must hear of a wire fault, and which of its targets each gets (one message per actor: an actor
 * takes a fault once): every actor for route faults and link-flaps; the device for straggler and
 * message-*; for link-degrade each link's owner (its egress port), and with `corruptPct` also the
 * switch each link ends at, which must then check the CRCs of what arrives over it (NPUs always do).
 */
export function faultRecipients(t: Topology, f: PlannedFault): Map<number, readonly number[]> {
  const kind = f.decl.kind;
  if (isEveryActorFault(kind)) return new Map(t.devices.map((d) => [d.id, f.targets] as const));
  if (kind !== FaultKind.LinkDegrade) return new Map([[f.targets[0]!, f.targets]]);
  const to = new Map<number, number[]>();
  const add = (actor: number, link: number) => {
    const l = to.get(actor) ?? to.set(actor, []).get(actor)!;
    if (!l.includes(link)) l.push(link);
  };
  for (const id of f.targets) {
    const link = t.links[id]!;
    add(link.from, id);
    if ((f.decl.corruptPct ?? 0) > 0 && t.devices[link.to]!.kind === DeviceKind.Switch) add(link.to, id);
  }
  return to;
}

/** The parameters of the kinds of fault-params.ts that a fault message and a report row carry (those set). */
export function drawParamsOf(d: FaultDecl): Record<string, number> {
  const p: Record<string, number> = {};
  for (const k of ["lossPct", "corruptPct", "retryNs", "periodNs", "duty", "phaseNs", "pct", "seed"] as const) {
    if (d[k] !== undefined) p[k] = d[k];
  }
  return p;
}

/** The report's `recovery` text of link-flap, message-* and a lossy link-degrade (none is detected: the fabric absorbs them). */
export function drawRecovery(f: PlannedFault): string | undefined {
  const d = f.decl;
  switch (d.kind) {
    case FaultKind.LinkFlap:
      return `none: flapping (down ${round(d.duty! * 100)}% of every ${d.periodNs} ns, from ${d.phaseNs} ns after its first op began); while it is down, ${f.reroute ?? "transfers avoid it"}`;
    case FaultKind.MessageDuplicate:
      return `none: ${d.pct}% of outgoing data messages sent twice; the receivers refuse the copies (rejected: duplicate)`;
    case FaultKind.MessageReorder:
      return `none: ${d.pct}% of outgoing data messages sent after the next one; times are the messages' own, so nothing changes`;
    case FaultKind.LinkDegrade: {
      if (!d.lossPct && !d.corruptPct) return undefined;
      const what = [d.lossPct ? `${d.lossPct}% lost` : "", d.corruptPct ? `${d.corruptPct}% corrupted (refused by the next hop: rejected: corrupt)` : ""].filter(Boolean).join(", ");
      const retry = d.retryNs !== undefined ? `${d.retryNs} ns` : "2 × link latency + switch latency";
      const slow = d.bandwidthFactor !== 1 || d.latencyNs ? `, bandwidth ×${d.bandwidthFactor}, +${d.latencyNs} ns` : "";
      return `none: link-level retry (${what}; each bad copy costs its serialization + ${retry}${slow}; absorbed, not detected)`;
    }
    default: return undefined;
  }
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

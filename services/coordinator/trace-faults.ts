import { MAIN_LANE, type SliceRec } from "../../shared/trace/index.js";
import type { Topology } from "../../shared/topology/index.js";
import type { Report } from "./report.js";

/** The lane fault events go on: a lane of its own on the target actor's track ("faults"). */
export const FAULT_LANE = "faults";

/**
 * Fault and recovery events of a run for its trace (docs/chaos.md §5): an instant where each fault was
 * injected (on the target actor, or a link's from-device), one where it was detected, and a slice from
 * injection to recovery for those the run recovered from; each attempt the run aborted is an instant
 * too. Virtual times, like every other event.
 */
export function faultSlices(rep: Report, t: Topology): SliceRec[] {
  const byName = new Map(t.devices.map((d) => [d.name, d.id] as const));
  const actorOf = (target: string) => byName.get(target.split(/<->|->/)[0]!.trim()) ?? 0;
  const out: SliceRec[] = [];
  for (const f of rep.faults ?? []) {
    if (!f.injectedAt) continue;
    const actor = actorOf(f.target), args = { fault: f.index, kind: f.kind, target: f.target, recovery: f.recovery };
    out.push({ actor, lane: FAULT_LANE, name: `fault ${f.index}: ${f.kind} ${f.target}`, cat: "fault", startNs: f.injectedAt.virtualNs, durNs: -1, args });
    if (f.detectedAt) out.push({ actor, lane: FAULT_LANE, name: `detected: ${f.kind} ${f.target}`, cat: "fault", startNs: f.detectedAt.virtualNs, durNs: -1, args });
    if (f.recoveredAt) out.push({ actor, lane: FAULT_LANE, name: `recovery: ${f.recovery}`, cat: "recovery", startNs: f.injectedAt.virtualNs, durNs: f.recoveredAt.virtualNs - f.injectedAt.virtualNs, args });
  }
  for (const e of rep.history ?? []) {
    if (e.type === "abort") out.push({ actor: 0, lane: MAIN_LANE, name: `abort op ${e.op} (epoch ${e.epoch}): ${e.reason.slice(0, 120)}`, cat: "recovery", startNs: e.virtualNs, durNs: -1, args: { op: e.op, epoch: e.epoch } });
  }
  return out;
}

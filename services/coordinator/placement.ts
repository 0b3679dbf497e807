import { DeviceKind, type Topology } from "../../shared/topology/index.js";
import type { DeviceId } from "../../shared/units/index.js";

/** Up to this many actors, the default placement gives every actor its own OS process. */
export const MAX_PER_ACTOR_PROCESSES = 64;
/** Spine switches (no node) are hosted this many to a process in grouped placement. */
export const SPINE_SWITCHES_PER_PROCESS = 16;

/**
 * Which actors share a host process. `per-actor`: each alone. `grouped`: one process per node with its
 * endpoints and its node-local switches (L1 chips), and spine switches sixteen to a process (for
 * CloudMatrix384 physical: one process per L2 plane). An actor's identity, subjects and behaviour
 * never depend on this.
 */
export function placeActors(t: Topology, mode: "auto" | "per-actor" | "grouped"): DeviceId[][] {
  const all = t.devices.map((d) => d.id);
  const effective = mode === "auto" ? (all.length <= MAX_PER_ACTOR_PROCESSES ? "per-actor" : "grouped") : mode;
  if (effective === "per-actor") return all.map((id) => [id]);
  const byNode = new Map<number, DeviceId[]>();
  const spine: DeviceId[] = [];
  for (const d of t.devices) {
    if (d.node < 0) {
      if (d.kind === DeviceKind.Switch) spine.push(d.id);
      else byNode.set(-1 - d.id, [d.id]); // an endpoint with no node (custom fabrics) stands alone
      continue;
    }
    if (!byNode.has(d.node)) byNode.set(d.node, []);
    byNode.get(d.node)!.push(d.id);
  }
  const groups = [...byNode.values()];
  for (let i = 0; i < spine.length; i += SPINE_SWITCHES_PER_PROCESS) groups.push(spine.slice(i, i + SPINE_SWITCHES_PER_PROCESS));
  return groups;
}

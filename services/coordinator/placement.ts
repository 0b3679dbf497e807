import { availableParallelism } from "node:os";
import type { Deployment } from "../../shared/config/index.js";
import { DeviceKind, type Topology } from "../../shared/topology/index.js";
import type { DeviceId } from "../../shared/units/index.js";

/** Up to this many actors, the default placement gives every actor its own OS process. */
export const MAX_PER_ACTOR_PROCESSES = 64;
/** Spine switches (no node) are hosted this many to a process in grouped placement. */
export const SPINE_SWITCHES_PER_PROCESS = 16;

/** Host processes per CPU core that `nodesPerHost: auto` aims for (grouped placement, local engine). */
export const HOSTS_PER_CORE = 2;

/**
 * `nodesPerHost` as a number: auto packs the topology's nodes into about HOSTS_PER_CORE host processes
 * per core (`cores`), one node per host when there are cores enough. On 2 cores the full-scale
 * DeepSeek-V3 step (384 NPUs, 48 nodes) ran in 88–94 s with a host per node (49 processes) and 37–43 s
 * with 8–16 nodes a host (4–7 processes): every process wakes for its share of the same messages, and
 * 49 of them take turns on 2 cores (docs/nats-engine.md §2).
 */
export function nodesPerHostFor(t: Topology, setting: "auto" | number, cores: number): number {
  if (setting !== "auto") return setting;
  return Math.max(1, Math.ceil(t.nodes.length / (HOSTS_PER_CORE * Math.max(1, cores))));
}

/**
 * Which actors share a host process. `per-actor`: each alone. `grouped`: `nodesPerHost` nodes to a
 * process (consecutive nodes), each with its endpoints and its node-local switches (L1 chips), and
 * spine switches sixteen to a process (for CloudMatrix384 physical: one process per L2 plane). An
 * actor's identity, subjects and behaviour never depend on this.
 */
export function placeActors(t: Topology, mode: "auto" | "per-actor" | "grouped", nodesPerHost = 1): DeviceId[][] {
  const all = t.devices.map((d) => d.id);
  const effective = mode === "auto" ? (all.length <= MAX_PER_ACTOR_PROCESSES ? "per-actor" : "grouped") : mode;
  if (effective === "per-actor") return all.map((id) => [id]);
  const byNode = new Map<number, DeviceId[]>();
  const spine: DeviceId[] = [], alone: DeviceId[][] = [];
  for (const d of t.devices) {
    if (d.node < 0) {
      if (d.kind === DeviceKind.Switch) spine.push(d.id);
      else alone.push([d.id]); // an endpoint with no node (custom fabrics) stands alone
      continue;
    }
    if (!byNode.has(d.node)) byNode.set(d.node, []);
    byNode.get(d.node)!.push(d.id);
  }
  const nodes = [...byNode.values()], groups: DeviceId[][] = [];
  for (let i = 0; i < nodes.length; i += nodesPerHost) groups.push(nodes.slice(i, i + nodesPerHost).flat());
  groups.push(...alone);
  for (let i = 0; i < spine.length; i += SPINE_SWITCHES_PER_PROCESS) groups.push(spine.slice(i, i + SPINE_SWITCHES_PER_PROCESS));
  return groups;
}

/** The host processes the local NATS engine starts (none for external placement), `nodesPerHost` resolved on this machine's cores. */
export function hostGroups(t: Topology, dep: Pick<Deployment, "placement" | "nodesPerHost">, cores = availableParallelism()): DeviceId[][] {
  if (dep.placement === "external") return [];
  return placeActors(t, dep.placement, nodesPerHostFor(t, dep.nodesPerHost, cores));
}

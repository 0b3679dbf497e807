import type { Topology } from "./types.js";

/** What `report.json` says about a fabric. */
export interface TopologySummary {
  readonly preset: string;
  readonly rankUnit: string;
  /** Endpoints (NPUs, or dies with rankUnit die). */
  readonly npus: number;
  /** Switch actors (chips, or aggregated chip groups). */
  readonly switches: number;
  readonly switchGranularity: string;
  /** Actors that a run hosts: endpoints + switches. */
  readonly actorCount: number;
  /**
   * Actor names by device id: `actors[i]` is the actor whose subject token (and body `from`) is `i`;
   * the coordinator is `coord` in subjects and -1 in bodies (docs/wire-format.md).
   */
  readonly actors: readonly string[];
  readonly nodes: number;
  readonly links: number;
  /** Sum over endpoints of peak dense BF16 compute, in PFLOPS: computed, not quoted. */
  readonly peakPflopsBf16: number;
  /** Injection bandwidth of endpoint 0 (sum of its egress links), GB/s. */
  readonly injectionGBpsPerNpu: number;
}

export function describeTopology(t: Topology): TopologySummary {
  const first = t.endpoints[0];
  const injection = t.links.filter((l) => l.from === first).reduce((s, l) => s + l.bandwidthGBps, 0);
  return {
    preset: t.preset,
    rankUnit: t.rankUnit,
    npus: t.endpoints.length,
    switches: t.switches.length,
    switchGranularity: t.switchGranularity,
    actorCount: t.devices.length,
    actors: t.devices.map((d) => d.name),
    nodes: t.nodes.length,
    links: t.links.length,
    peakPflopsBf16: Math.round(t.endpoints.length * t.endpoint.peakTflops) / 1000,
    injectionGBpsPerNpu: injection,
  };
}

import type { Link, Topology } from "../topology/index.js";
import { onGrid, type GBps, type LinkId, type SimNs } from "../units/index.js";

/**
 * Per-link overrides of the fabric's hardware (link-degrade faults, docs/chaos.md): a link's egress
 * port serves what `link(id)` returns, so a degraded link serializes at bandwidth × factor and adds
 * its extra latency in `traverse`, like any link, and the α-β closed forms read the same numbers.
 * Links without an override are the topology's own objects (no copy, no cost).
 */
export class LinkState {
  private readonly over = new Map<LinkId, Link>();
  constructor(private readonly t: Topology) {}

  /**
   * Degrades a link: bandwidth × `bandwidthFactor` (in (0, 1]) and `latencyNs` more (rounded up to
   * the grid). Degrades compose: factors multiply and latencies add, in the order they are applied.
   */
  degrade(id: LinkId, bandwidthFactor: number, latencyNs: number): void {
    const cur = this.link(id);
    this.over.set(id, {
      ...cur,
      bandwidthGBps: (cur.bandwidthGBps * bandwidthFactor) as GBps,
      latencyNs: (cur.latencyNs + onGrid(latencyNs)) as SimNs,
    });
  }

  /** The link as its port serves it now. */
  link(id: LinkId): Link {
    return this.over.get(id) ?? this.t.links[id]!;
  }

  get size(): number { return this.over.size; }

  /** Every link, with the overrides in place (for closed forms over a degraded fabric). */
  links(): readonly Link[] {
    return this.over.size === 0 ? this.t.links : this.t.links.map((l) => this.over.get(l.id) ?? l);
  }
}

/**
 * A compute kernel or reduction on a straggling NPU: `factor` × its roofline time, rounded up to the
 * grid (exact for integral factors, since roofline times are already on it).
 */
export function scaledComputeNs(ns: number, factor: number): number {
  return factor === 1 ? ns : onGrid(ns * factor);
}

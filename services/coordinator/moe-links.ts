import type { Flow } from "../../shared/moe/index.js";
import type { OpSpec } from "../../shared/protocol/index.js";
import type { Topology } from "../../shared/topology/index.js";
import { splitEven } from "../../shared/units/index.js";

/** A link and the modelled bytes an MoE layer put on it (dispatch and combine). */
export interface LinkLoad {
  readonly link: string;
  readonly bytes: number;
  /** bytes / bandwidth: how long the layer kept the link busy at least, µs. */
  readonly busyUs: number;
}

/** Modelled bytes per link of a list of transfers, each split evenly over its route's stripes (as endpoints stripe). */
export function linkBytes(flows: readonly Flow[], spec: OpSpec, t: Topology): Float64Array {
  const bytes = new Float64Array(t.links.length);
  for (const f of flows) {
    const stripes = t.route(spec.group[f.a]!, spec.group[f.b]!).stripes;
    const parts = splitEven(f.bytes, stripes.length);
    stripes.forEach((path, i) => { for (const l of path) bytes[l]! += parts[i]!; });
  }
  return bytes;
}

/** ns the busiest link needs to carry its bytes (0 when nothing moves). */
export function busiestLinkNs(bytes: Float64Array, t: Topology): number {
  let worst = 0;
  bytes.forEach((b, l) => { worst = Math.max(worst, b / t.links[l]!.bandwidthGBps); });
  return worst;
}

/** The `top` links carrying the most bytes over both phases, named `from→to` (`#i` among parallel lanes). */
export function hottestLinks(loads: readonly Float64Array[], t: Topology, top: number): LinkLoad[] {
  const bytes = new Float64Array(t.links.length);
  for (const l of loads) l.forEach((b, i) => { bytes[i]! += b; });
  return Array.from(bytes.keys()).sort((a, b) => bytes[b]! - bytes[a]! || a - b).slice(0, top).filter((l) => bytes[l]! > 0).map((l) => {
    const link = t.links[l]!;
    const parallel = t.links.filter((x) => x.from === link.from && x.to === link.to);
    const lane = parallel.length > 1 ? ` #${parallel.indexOf(link)}` : "";
    return {
      link: `${t.devices[link.from]!.name}→${t.devices[link.to]!.name}${lane}`,
      bytes: bytes[l]!,
      busyUs: Number((bytes[l]! / link.bandwidthGBps / 1000).toFixed(3)),
    };
  });
}

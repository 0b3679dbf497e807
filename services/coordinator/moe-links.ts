import type { MoeLayer } from "../../shared/moe/index.js";
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

/**
 * The links carrying the most bytes, from the plan and the fabric's deterministic routes (the same
 * striping the endpoints use): each pair's copies × bytes per copy, split over the route's stripes.
 */
export function hottestLinks(layer: MoeLayer, spec: OpSpec, t: Topology, top: number): LinkLoad[] {
  const { plan, shape } = layer;
  const bytes = new Float64Array(t.links.length);
  const add = (a: number, b: number, total: number) => {
    const stripes = t.route(spec.group[a]!, spec.group[b]!).stripes;
    const parts = splitEven(total, stripes.length);
    stripes.forEach((path, i) => { for (const l of path) bytes[l]! += parts[i]!; });
  };
  for (let src = 0; src < shape.ep; src++) {
    for (let dst = 0; dst < shape.ep; dst++) {
      const c = plan.lists[src]![dst]!.length;
      if (c === 0 || src === dst) continue;
      add(src, dst, c * shape.dispatchBytesPerToken);
      add(dst, src, c * shape.combineBytesPerToken);
    }
  }
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

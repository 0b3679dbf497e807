import { Algorithm, type OpSpec } from "../protocol/index.js";
import { hierRoutes, NodeMap, type Flow } from "./hier-routes.js";
import type { MoeLayer } from "./layer.js";

/**
 * Every transfer of a planned layer, dispatch and combine, as the algorithm routes it: direct sends
 * each pair's copies straight; hierarchical goes through gatherers and receivers (hier-routes.ts).
 */
export function layerFlows(layer: MoeLayer, spec: OpSpec): { readonly dispatch: Flow[]; readonly combine: Flow[] } {
  if (spec.algorithm === Algorithm.Hierarchical) {
    const { dispatch, combine } = hierRoutes(layer, new NodeMap(spec.nodeGroups, layer.shape.ep));
    return { dispatch, combine };
  }
  const { plan, shape } = layer;
  const dispatch: Flow[] = [], combine: Flow[] = [];
  for (let a = 0; a < shape.ep; a++) {
    for (let b = 0; b < shape.ep; b++) {
      const c = plan.lists[a]![b]!.length;
      if (c === 0 || a === b) continue;
      dispatch.push({ a, b, bytes: c * shape.dispatchBytesPerToken });
      combine.push({ a: b, b: a, bytes: c * shape.combineBytesPerToken });
    }
  }
  return { dispatch, combine };
}

import type { MoeLayerSpec, OpSpec } from "../protocol/index.js";
import { chooseExperts, type ExpertChoices } from "./gating.js";
import { placeExperts, type Placement } from "./placement.js";
import { planDispatch, DROPPED, type DispatchPlan } from "./routing.js";
import type { Gating, MoeShape, RankNode } from "./types.js";
import { assertValidMoe } from "./validate.js";

/**
 * One MoE layer as the coordinator plans it, from the op spec alone: placement, every token's choices
 * and the dispatch plan with capacity and drops. Each rank then gets its part (part.ts).
 */
export interface MoeLayer {
  readonly shape: MoeShape;
  readonly seed: number;
  readonly placement: Placement;
  readonly choices: ExpertChoices;
  readonly plan: DispatchPlan;
  readonly rankNode: RankNode;
}

/** Node of each rank from the spec's node groups (ranks of one node together). */
export function rankNodeOf(spec: Pick<OpSpec, "nodeGroups">): RankNode {
  const node = new Map<number, number>();
  spec.nodeGroups.forEach((g, n) => g.forEach((r) => node.set(r, n)));
  return (r) => node.get(r) ?? r;
}

/** Planned layers by op spec: the coordinator plans an op's layer once, then gives out parts and checks results. */
const planned = new WeakMap<OpSpec, MoeLayer>();

/** The layer of a moe-layer op spec; throws a ScenarioError (naming the field) when it is invalid. */
export function layerOf(spec: OpSpec): MoeLayer {
  const m = spec.moe;
  if (!m?.gating) throw new Error(`op ${spec.op} has no MoE layer with its gating to plan (a ${spec.collective})`);
  let layer = planned.get(spec);
  if (!layer) {
    layer = planLayer({ ...m, gating: m.gating }, spec.seed, rankNodeOf(spec));
    planned.set(spec, layer);
  }
  return layer;
}

/** Plans a layer from scratch. */
export function planLayer(m: MoeLayerSpec & { readonly gating: Gating }, seed: number, rankNode: RankNode): MoeLayer {
  assertValidMoe(m.shape, m.gating, rankNode);
  const placement = placeExperts(m.shape);
  const choices = chooseExperts(m.shape, m.gating, seed, { placement, rankNode });
  const plan = planDispatch(m.shape, placement, choices, rankNode);
  return { shape: m.shape, seed, placement, choices, plan, rankNode };
}

/** The k's of global token g that the plan dropped. */
export function droppedKs(layer: MoeLayer, g: number): Set<number> {
  const K = layer.shape.topK;
  const out = new Set<number>();
  for (let k = 0; k < K; k++) if (layer.plan.copies[g * K + k]!.dstRank === DROPPED) out.add(k);
  return out;
}

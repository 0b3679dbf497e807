import { chooseExperts, placeExperts, planDispatch, type Gating, type MoeShape, type RankNode } from "../../shared/moe/index.js";

/** DeepSeek-V3 layer on CM384 message sizes (hardware.md §2.3, §6), 64-way EP, no drops. */
export const DSV3: MoeShape = {
  hidden: 7168, experts: 256, topK: 8, expertIntermediate: 2048, tokensPerRank: 128, ep: 64, sharedExperts: 1,
  dispatchBytesPerToken: 7680, combineBytesPerToken: 14336, capacityFactor: 1e6, replicaPolicy: "round-robin",
};

export function moeShape(over: Partial<MoeShape>): MoeShape {
  return { ...DSV3, ...over };
}

/** Placement, choices and dispatch plan of one layer. */
export function routeLayer(shape: MoeShape, gating: Gating, seed = 1, rankNode?: RankNode) {
  const placement = placeExperts(shape);
  const choices = chooseExperts(shape, gating, seed, { placement, ...(rankNode ? { rankNode } : {}) });
  const plan = planDispatch(shape, placement, choices, rankNode);
  return { placement, choices, plan };
}

/** Counts of `values` in [0, size). */
export function histogram(values: ArrayLike<number>, size: number): number[] {
  const h = new Array<number>(size).fill(0);
  for (let i = 0; i < values.length; i++) h[values[i]!]! += 1;
  return h;
}

/**
 * Shape of one MoE layer and its gating, as the routing groundwork sees them. Token ranks are the EP
 * ranks: rank r ∈ [0, ep) holds `tokensPerRank` tokens and some experts; global token g = r × tokensPerRank + t.
 */

import { ReplicaPolicy, type Gating, type MoeShape, type ReplicaSpec } from "../protocol/index.js";

export { ReplicaPolicy, type Gating, type MoeShape, type ReplicaSpec };

/** Node of a rank (e.g. CM384: 8 NPUs or 16 dies per node). */
export type RankNode = (rank: number) => number;

/** Ranks grouped in consecutive blocks of `ranksPerNode`. */
export function nodesOfSize(ranksPerNode: number): RankNode {
  return (rank) => Math.floor(rank / ranksPerNode);
}

/** Every rank is its own node: the default when no node map is given. */
export const EACH_RANK_A_NODE: RankNode = (rank) => rank;

/** Total tokens of the layer: tokensPerRank × ep. */
export function totalTokens(shape: Pick<MoeShape, "tokensPerRank" | "ep">): number {
  return shape.tokensPerRank * shape.ep;
}

/** A problem with an MoE workload; `path` is the scenario field, e.g. `workload.topK`. */
export interface MoeIssue {
  readonly path: string;
  readonly message: string;
}

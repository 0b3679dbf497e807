/**
 * The MoE layer's shape and gating as they travel in op-start specs (wire types): shared/moe plans
 * and runs layers from them and re-exports them.
 */

/** How a token copy picks among the ranks that hold a copy of its expert (see routing.ts for the rules). */
export const ReplicaPolicy = {
  RoundRobin: "round-robin",
  LeastLoaded: "least-loaded",
  SameNodeFirst: "same-node-first",
} as const;
export type ReplicaPolicy = (typeof ReplicaPolicy)[keyof typeof ReplicaPolicy];

/** `copies` extra copies of routed expert `expert`, beyond its home rank. */
export interface ReplicaSpec {
  readonly expert: number;
  readonly copies: number;
}

/** One MoE layer (e.g. DeepSeek-V3: hidden 7168, 256 routed + 1 shared experts, top-8, intermediate 2048). */
export interface MoeShape {
  /** Model hidden size, elements per token. */
  readonly hidden: number;
  /** Routed experts per layer. */
  readonly experts: number;
  /** Distinct routed experts per token. */
  readonly topK: number;
  /** Intermediate size of one expert's FFN, elements. */
  readonly expertIntermediate: number;
  /** Tokens that start on each EP rank. */
  readonly tokensPerRank: number;
  /** Ranks holding experts (and tokens). */
  readonly ep: number;
  /** Shared experts, applied to every token on its origin rank with weight 1. */
  readonly sharedExperts: number;
  /** Modelled bytes of one token copy sent to an expert (CM384: 7680, INT8 + scale). */
  readonly dispatchBytesPerToken: number;
  /** Modelled bytes of one expert output sent back (CM384: 14336, BF16). */
  readonly combineBytesPerToken: number;
  /** Bytes per expert weight in HBM (default 1: INT8, as CM384 serves DeepSeek). */
  readonly weightBytes?: number;
  /** Capacity per expert replica = ceil(capacityFactor × tokensPerRank × ep × topK / experts) token copies. */
  readonly capacityFactor: number;
  /** Node-limited routing: each token's experts live on at most this many nodes (DeepSeek-V3 trains with 4). */
  readonly nodeLimit?: number;
  /** Redundant copies of chosen (hot) experts. */
  readonly replicas?: readonly ReplicaSpec[];
  readonly replicaPolicy: ReplicaPolicy;
}

/**
 * Which experts tokens choose.
 * - uniform: every set of topK distinct experts equally likely.
 * - zipf: expert of popularity rank i (1-based) has weight i^-exponent; topK drawn without replacement.
 * - hot: the hottest round(hotFraction × experts) experts (at least 1) get hotShare of all token copies.
 * - fixed: assignments[g] lists global token g's topK expert ids, in k order.
 * - gate: a real gate, scores = sigmoid(token gate vector · expert gate vector), top-k by score.
 * Popularity ranks (zipf, hot) follow a seeded permutation of expert ids, so hot experts are scattered.
 */
export type Gating =
  | { readonly kind: "uniform" }
  | { readonly kind: "zipf"; readonly exponent: number }
  | { readonly kind: "hot"; readonly hotFraction: number; readonly hotShare: number }
  | { readonly kind: "fixed"; readonly assignments: readonly (readonly number[])[] }
  | { readonly kind: "gate" };

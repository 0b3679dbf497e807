import { z } from "zod";

const posInt = z.number().int().positive();
const positive = z.number().finite().positive();
const fraction = z.number().finite().positive().max(1);

const gating = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("uniform") }).strict(),
  z.object({ kind: z.literal("zipf"), exponent: positive }).strict(),
  z.object({ kind: z.literal("hot"), hotFraction: fraction, hotShare: fraction }).strict(),
  z.object({
    kind: z.literal("fixed"),
    /** One row of topK expert ids per global token (rank-major), inline or from a YAML/JSON file. */
    assignments: z.array(z.array(z.number().int().nonnegative())).optional(),
    file: z.string().optional(),
  }).strict(),
  z.object({ kind: z.literal("gate") }).strict(),
]);

const replicaList = z.array(z.object({ expert: z.number().int().nonnegative(), copies: posInt }).strict());
/** `hottest: N` copies the N experts with the most demand (as DeepSeek's EPLB does from load statistics). */
const replicaHottest = z.object({ hottest: posInt, copies: posInt.optional() }).strict();

/** `workload.kind: moe-layer`: one MoE layer (dispatch, experts, combine) on the first `ep` endpoints. */
export const moeWorkloadSchema = z.object({
  kind: z.literal("moe-layer"),
  hidden: posInt.optional(),
  experts: posInt.optional(),
  topK: posInt.optional(),
  expertIntermediate: posInt.optional(),
  sharedExperts: z.number().int().nonnegative().optional(),
  tokensPerRank: posInt.optional(),
  ep: z.union([z.literal("all"), posInt]).optional(),
  gating: gating.optional(),
  /** Omitted: no capacity limit (no token is ever dropped). */
  capacityFactor: z.number().finite().optional(),
  dispatchBytesPerToken: posInt.optional(),
  combineBytesPerToken: posInt.optional(),
  weightBytes: z.union([z.literal(1), z.literal(2), z.literal(4)]).optional(),
  nodeLimit: posInt.optional(),
  replicas: z.union([replicaList, replicaHottest]).optional(),
  replicaPolicy: z.enum(["round-robin", "least-loaded", "same-node-first"]).optional(),
  algorithm: z.enum(["direct", "hierarchical"]).optional(),
  /** Token copies per message to one peer (senders interleave peers a chunk at a time). */
  chunkTokens: posInt.optional(),
}).strict();

export type RawMoeWorkload = z.infer<typeof moeWorkloadSchema>;

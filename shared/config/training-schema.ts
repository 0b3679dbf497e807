import { z } from "zod";

const posInt = z.number().int().positive();
const nonnegInt = z.number().int().nonnegative();
const fraction = z.number().finite().positive().max(1);

/** An inline model shape (docs/training.md §2); fields left out come from `base` or from defaults. */
const inlineModel = z.object({
  base: z.string().optional(),
  layers: posInt.optional(), hidden: posInt.optional(), heads: posInt.optional(), headDim: posInt.optional(),
  vHeadDim: posInt.optional(), kvHeads: posInt.optional(), attentionParams: posInt.optional(),
  ffnIntermediate: posInt.optional(), vocab: posInt.optional(), denseLayers: nonnegInt.optional(),
  experts: nonnegInt.optional(), topK: nonnegInt.optional(), sharedExperts: nonnegInt.optional(), expertIntermediate: nonnegInt.optional(),
}).strict();

/** `workload.kind: training`: end-to-end training steps of a model over a DP × TP × EP plan. */
export const trainingWorkloadSchema = z.object({
  kind: z.literal("training"),
  model: z.union([z.string(), inlineModel]),
  parallel: z.object({ dp: posInt, tp: posInt.optional(), pp: posInt.optional(), ep: posInt.optional() }).strict(),
  seqLen: posInt.optional(),
  microBatch: posInt.optional(),
  globalBatch: posInt.optional(),
  steps: posInt.max(1000).optional(),
  overlap: z.boolean().optional(),
  zero: z.union([z.literal(0), z.literal(1)]).optional(),
  repeatLayers: z.boolean().optional(),
  recompute: z.enum(["none", "selective", "full"]).optional(),
  gradBytes: z.union([z.literal(2), z.literal(4)]).optional(),
  bucketLayers: posInt.optional(),
  algorithms: z.object({ dp: z.enum(["ring", "hierarchical"]).optional() }).strict().optional(),
  efficiency: z.object({ matmul: fraction.optional(), attention: fraction.optional(), elementwise: fraction.optional(), optimizer: fraction.optional() }).strict().optional(),
  numerics: z.object({ hidden: posInt.max(64).optional(), expertHidden: posInt.max(64).optional(), tokensPerRank: posInt.max(64).optional(), lr: z.number().finite().positive().optional() }).strict().optional(),
}).strict();

export type RawTrainingWorkload = z.infer<typeof trainingWorkloadSchema>;

import { BF16_BYTES } from "./costs.js";
import { moeLayers, paramCounts, type ModelShape } from "./models.js";

/** How the per-rank memory of a plan is counted. */
export interface MemoryPlan {
  readonly dp: number;
  readonly tp: number;
  readonly ep: number;
  /** 0: every DP rank holds the whole optimizer state; 1: it is sharded over the DP group (distributed optimizer). */
  readonly zero: 0 | 1;
  /** none: every activation kept; selective: attention internals recomputed; full: only each layer's input kept. */
  readonly recompute: "none" | "selective" | "full";
  readonly microBatch: number;
  readonly seqLen: number;
  /** Bytes per gradient element (4: fp32 main grads, as Megatron-LM and DeepSeek-V3 keep them). */
  readonly gradBytes: number;
}

/** Optimizer state per parameter with mixed-precision Adam: fp32 master weight, first and second moment. */
export const OPTIMIZER_STATE_BYTES = 12;

/** Per-rank memory, bytes, by kind. */
export interface MemoryBreakdown {
  readonly weights: number;
  readonly gradients: number;
  readonly optimizer: number;
  readonly activations: number;
  readonly total: number;
}

/**
 * Bytes one rank holds. Attention, dense FFN, shared experts, router and embeddings are split over TP
 * and replicated over DP; routed experts are split over EP (experts / ep per rank, no expert tensor
 * parallelism) and replicated over the dp / ep ranks that hold the same experts. ZeRO-1 shards the
 * optimizer state of each weight over the ranks that hold copies of it.
 * Activations (Korthikanti et al., arXiv:2205.05198, Table 2, with FlashAttention so no s² term):
 * per layer and micro-batch s·b·h·(10 + 24/t) bytes, or 2·s·b·h with full recomputation; MoE layers add
 * the routed copies' inputs and SwiGLU intermediates, b·s·topK·(h + 3·expertIntermediate)·2 bytes.
 */
export function memoryPerRank(m: ModelShape, p: MemoryPlan): MemoryBreakdown {
  const c = paramCounts(m);
  const replicated = (c.attention + c.denseFfn + c.sharedExperts + c.router + c.embedding + c.lmHead) / p.tp;
  const experts = c.routedExperts / Math.max(1, p.ep);
  const params = replicated + experts;
  const weights = BF16_BYTES * params;
  const gradients = p.gradBytes * params;
  const expertReplicas = Math.max(1, p.dp / Math.max(1, p.ep));
  const optimizer = OPTIMIZER_STATE_BYTES * (p.zero === 1 ? replicated / p.dp + experts / expertReplicas : params);
  const sbh = p.seqLen * p.microBatch * m.hidden;
  const perLayer = p.recompute === "full" ? 2 * sbh : sbh * (10 + 24 / p.tp);
  const moeExtra = p.recompute === "full" ? 0 : p.seqLen * p.microBatch * m.topK * (m.hidden + 3 * m.expertIntermediate) * BF16_BYTES;
  const activations = m.layers * perLayer + moeLayers(m) * moeExtra;
  return { weights, gradients, optimizer, activations, total: weights + gradients + optimizer + activations };
}

export const GB = 1e9;

/**
 * Transformer shapes the training (and serving) workloads cost. Presets follow the models' published
 * configs; an inline shape in a scenario may set any field. Counts are per layer unless said otherwise.
 */
export interface ModelShape {
  readonly name: string;
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  /** Query/key dimension per head (MLA: nope + rope part). */
  readonly headDim: number;
  /** Value dimension per head (default headDim). */
  readonly vHeadDim: number;
  /** Key/value heads (grouped-query attention); = heads for multi-head attention. */
  readonly kvHeads: number;
  /**
   * Attention weights per layer. Default: q, k, v and o projections of a GQA block,
   * hidden × (heads·headDim + 2·kvHeads·headDim) + heads·vHeadDim × hidden. MLA presets give it.
   */
  readonly attentionParams: number;
  /** Dense FFN (SwiGLU) intermediate size: 3·hidden·ffnIntermediate weights. */
  readonly ffnIntermediate: number;
  readonly vocab: number;
  /** Layers with a dense FFN; the other layers have MoE FFNs (0 experts: all layers dense). */
  readonly denseLayers: number;
  /** Routed experts per MoE layer, chosen top-k per token, plus shared experts applied to every token. */
  readonly experts: number;
  readonly topK: number;
  readonly sharedExperts: number;
  /** Intermediate size of one (routed or shared) expert's SwiGLU FFN. */
  readonly expertIntermediate: number;
}

/** GQA attention weights: q, k, v, o projections. */
export function gqaAttentionParams(hidden: number, heads: number, kvHeads: number, headDim: number, vHeadDim = headDim): number {
  return hidden * (heads * headDim + kvHeads * headDim + kvHeads * vHeadDim) + heads * vHeadDim * hidden;
}

/**
 * DeepSeek-V3 (config.json of deepseek-ai/DeepSeek-V3): 61 layers, hidden 7168, 128 heads with MLA
 * (q_lora_rank 1536, kv_lora_rank 512, qk_nope 128 + qk_rope 64, v 128), first 3 layers dense
 * (intermediate 18432), 256 routed experts top-8 + 1 shared, expert intermediate 2048, vocab 129280.
 */
const DSV3_MLA_PARAMS =
  7168 * 1536 + 1536 * 128 * (128 + 64) // q down, q up
  + 7168 * (512 + 64) // kv down (with the shared rope key)
  + 512 * 128 * (128 + 128) // kv up: k nope and v per head
  + 128 * 128 * 7168; // o

export const DEEPSEEK_V3: ModelShape = {
  name: "deepseek-v3", layers: 61, hidden: 7168, heads: 128, headDim: 192, vHeadDim: 128, kvHeads: 128,
  attentionParams: DSV3_MLA_PARAMS, ffnIntermediate: 18432, vocab: 129280, denseLayers: 3,
  experts: 256, topK: 8, sharedExperts: 1, expertIntermediate: 2048,
};

/** Llama 3 70B (meta-llama config): 80 layers, hidden 8192, 64 heads, 8 KV heads, head 128, FFN 28672, vocab 128256. */
export const LLAMA3_70B: ModelShape = {
  name: "llama3-70b", layers: 80, hidden: 8192, heads: 64, headDim: 128, vHeadDim: 128, kvHeads: 8,
  attentionParams: gqaAttentionParams(8192, 64, 8, 128), ffnIntermediate: 28672, vocab: 128256, denseLayers: 80,
  experts: 0, topK: 0, sharedExperts: 0, expertIntermediate: 0,
};

/** Llama 3 8B: 32 layers, hidden 4096, 32 heads, 8 KV heads, head 128, FFN 14336, vocab 128256. */
export const LLAMA3_8B: ModelShape = {
  name: "llama3-8b", layers: 32, hidden: 4096, heads: 32, headDim: 128, vHeadDim: 128, kvHeads: 8,
  attentionParams: gqaAttentionParams(4096, 32, 8, 128), ffnIntermediate: 14336, vocab: 128256, denseLayers: 32,
  experts: 0, topK: 0, sharedExperts: 0, expertIntermediate: 0,
};

export const MODEL_PRESETS = { "deepseek-v3": DEEPSEEK_V3, "llama3-70b": LLAMA3_70B, "llama3-8b": LLAMA3_8B } as const;
export type ModelPresetName = keyof typeof MODEL_PRESETS;
export const MODEL_PRESET_NAMES = Object.keys(MODEL_PRESETS) as ModelPresetName[];

/** MoE layers of a model (0 for dense models). */
export const moeLayers = (m: ModelShape): number => (m.experts > 0 ? m.layers - m.denseLayers : 0);

/** Weights of one expert's (or a dense FFN's) SwiGLU: gate, up and down projections. */
export const swigluParams = (hidden: number, intermediate: number): number => 3 * hidden * intermediate;

/** Parameter counts by weight class, over the whole model. */
export interface ParamCounts {
  readonly attention: number;
  readonly denseFfn: number;
  readonly sharedExperts: number;
  readonly routedExperts: number;
  readonly router: number;
  /** Input embedding table and output (LM head) projection, untied. */
  readonly embedding: number;
  readonly lmHead: number;
  readonly total: number;
  /** Weights one token passes through (top-k of the routed experts). */
  readonly activePerToken: number;
}

export function paramCounts(m: ModelShape): ParamCounts {
  const moe = moeLayers(m), dense = m.layers - moe;
  const expert = swigluParams(m.hidden, m.expertIntermediate);
  const attention = m.layers * m.attentionParams;
  const denseFfn = dense * swigluParams(m.hidden, m.ffnIntermediate);
  const sharedExperts = moe * m.sharedExperts * expert;
  const routedExperts = moe * m.experts * expert;
  const router = moe * m.hidden * m.experts;
  const embedding = m.vocab * m.hidden, lmHead = m.vocab * m.hidden;
  const total = attention + denseFfn + sharedExperts + routedExperts + router + embedding + lmHead;
  const activePerToken = attention + denseFfn + sharedExperts + moe * m.topK * expert + router + lmHead;
  return { attention, denseFfn, sharedExperts, routedExperts, router, embedding, lmHead, total, activePerToken };
}

import { OpClass } from "./efficiency.js";
import { moeLayers, paramCounts, swigluParams, type ModelShape } from "./models.js";

/** Bytes per element of activations and weights in training (BF16). */
export const BF16_BYTES = 2;

/** One kernel: what the roofline costs. */
export interface Kernel {
  readonly flops: number;
  readonly hbmBytes: number;
  readonly cls: OpClass;
}

export const kernel = (flops: number, hbmBytes: number, cls: OpClass): Kernel => ({ flops, hbmBytes, cls });

/** Backward passes cost twice the forward's flops (gradients for inputs and for weights). */
export const BACKWARD_FACTOR = 2;

/**
 * A GEMM of `tokens` rows through `params` weights (in → out): 2 flops per weight per token; reads the
 * weights once and the activations in and out.
 */
export function matmul(tokens: number, params: number, inDim: number, outDim: number): Kernel {
  return kernel(2 * tokens * params, BF16_BYTES * (params + tokens * (inDim + outDim)), OpClass.Matmul);
}

/**
 * The attention core of `tokens` tokens (sequences of seqLen) for `heads` heads: scores (headDim) and
 * values (vHeadDim) over the causal context, on average seqLen / 2 earlier tokens — the
 * sequence-quadratic term: tokens × heads × (headDim + vHeadDim) × seqLen flops. FlashAttention keeps
 * the scores on chip: HBM traffic is q, k, v in and the output.
 */
export function attentionCore(m: ModelShape, tokens: number, seqLen: number, heads: number): Kernel {
  const flops = tokens * heads * (m.headDim + m.vHeadDim) * seqLen;
  const bytes = BF16_BYTES * tokens * heads * (2 * m.headDim + 2 * m.vHeadDim);
  return kernel(flops, bytes, OpClass.Attention);
}

/** Forward flops of the whole model for `tokens` tokens: matmuls (2 per active weight) plus the attention term. */
export function forwardFlops(m: ModelShape, tokens: number, seqLen: number): { matmul: number; attention: number } {
  const p = paramCounts(m);
  return {
    matmul: 2 * tokens * p.activePerToken,
    attention: m.layers * attentionCore(m, tokens, seqLen, m.heads).flops,
  };
}

/**
 * Model flops of one training step (forward + backward, no recomputation), the numerator of MFU:
 * 3 × forward = 6 · N_active · T + 3 × the attention term.
 */
export function stepModelFlops(m: ModelShape, tokens: number, seqLen: number): number {
  const f = forwardFlops(m, tokens, seqLen);
  return (1 + BACKWARD_FACTOR) * (f.matmul + f.attention);
}

/** Weights of one routed or shared expert. */
export const expertParams = (m: ModelShape): number => swigluParams(m.hidden, m.expertIntermediate);

/** Optimizer step over `params` parameters with mixed-precision Adam: read fp32 master, m, v and the grad; write them and the bf16 copy. */
export const OPTIMIZER_BYTES_PER_PARAM = 4 + 4 + 4 + 4 + 12 + BF16_BYTES;
const OPTIMIZER_FLOPS_PER_PARAM = 10;
export function optimizerStep(params: number): Kernel {
  return kernel(OPTIMIZER_FLOPS_PER_PARAM * params, OPTIMIZER_BYTES_PER_PARAM * params, OpClass.Optimizer);
}

/** Element-wise work over `elements` activations (norms, residuals, activation functions): read and write each once. */
export function elementwise(elements: number): Kernel {
  return kernel(elements, 2 * BF16_BYTES * elements, OpClass.Elementwise);
}

export { moeLayers };

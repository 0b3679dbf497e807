/**
 * Share of the roofline each class of kernel reaches, multiplied into the preset's own
 * computeEfficiency / hbmEfficiency (both 1 by default). Op-level measurements, not end-to-end fits:
 * published step times and MFUs are for checking the model (docs/training.md), never for these.
 * Every factor can be set in a scenario (`workload.efficiency.matmul`, …).
 */
export const OpClass = { Matmul: "matmul", Attention: "attention", Elementwise: "elementwise", Optimizer: "optimizer" } as const;
export type OpClass = (typeof OpClass)[keyof typeof OpClass];

export interface Efficiency {
  /** Dense GEMMs (projections, FFNs, experts, LM head): share of peak flops. */
  readonly matmul: number;
  /** Fused attention kernels (scores, softmax, values): share of peak flops. */
  readonly attention: number;
  /** Memory-bound element-wise kernels (norms, activations, routing): share of HBM bandwidth. */
  readonly elementwise: number;
  /** The optimizer step, memory-bound over parameters and optimizer state: share of HBM bandwidth. */
  readonly optimizer: number;
}

/**
 * - matmul 0.84: AIBench (Xiao & Wang, CCF THPC 2024) measured 216 TFLOPS FP16 from an Ascend 910's
 *   matrix (cube) units against its 256 TFLOPS peak; cuBLAS BF16 GEMMs reach a similar share on
 *   Hopper. Confidence M (a 910, not a 910C; applied to both presets).
 * - attention 0.75: FlashAttention-3 (Shah et al., arXiv:2407.08608) reaches 740 of 989 TFLOPS FP16
 *   on H100 in the forward pass. Confidence M (GPU figure; no Ascend measurement is published).
 * - elementwise / optimizer 0.9: streaming copies sustain about 3.0–3.1 of H100's 3.35 TB/s HBM3
 *   (STREAM-style D2D copy). Confidence L (EST for the 910C's HBM2E).
 */
export const DEFAULT_EFFICIENCY: Efficiency = { matmul: 0.84, attention: 0.75, elementwise: 0.9, optimizer: 0.9 };

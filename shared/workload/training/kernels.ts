import {
  attentionCore, BACKWARD_FACTOR, elementwise, expertParams, matmul, OpClass, optimizerStep, paramCounts, swigluParams,
  type Kernel, type ModelShape,
} from "../../compute/index.js";
import type { TrainingSpec } from "../../protocol/index.js";

/** A kernel as the engine's roofline takes it: flops and bytes scaled by the class's efficiency. */
export interface Cost {
  readonly flops: number;
  readonly hbmBytes: number;
}

/** A model shape of the compute layer from the wire shape. */
export function modelOf(t: TrainingSpec): ModelShape {
  const s = t.shape;
  return {
    name: "", layers: s.layers, hidden: s.hidden, heads: s.heads, headDim: s.headDim, vHeadDim: s.vHeadDim, kvHeads: s.heads,
    attentionParams: s.attentionParams, ffnIntermediate: s.ffnIntermediate, vocab: s.vocab,
    denseLayers: t.layers.filter((l) => l.kind === "dense").reduce((n, l) => n + l.count, 0),
    experts: s.experts, topK: s.topK, sharedExperts: s.sharedExperts, expertIntermediate: s.expertIntermediate,
  };
}

/**
 * The full-size kernels one rank runs in one micro-step, at the plan's sizes: tokens per rank
 * microBatch × seqLen; TP splits attention, dense FFN and LM head; experts run on what the rank
 * receives. docs/training.md §2.
 */
export class StepKernels {
  readonly tokens: number;
  private readonly m: ModelShape;

  constructor(private readonly t: TrainingSpec) {
    this.tokens = t.microBatch * t.seqLen;
    this.m = modelOf(t);
  }

  /** Scales a kernel by its class's efficiency: compute-bound classes by flops, memory-bound by bytes. */
  cost(k: Kernel, times = 1): Cost {
    const e = this.t.efficiency;
    switch (k.cls) {
      case OpClass.Matmul: return { flops: (times * k.flops) / e.matmul, hbmBytes: times * k.hbmBytes };
      case OpClass.Attention: return { flops: (times * k.flops) / e.attention, hbmBytes: times * k.hbmBytes };
      case OpClass.Elementwise: return { flops: times * k.flops, hbmBytes: (times * k.hbmBytes) / e.elementwise };
      case OpClass.Optimizer: return { flops: times * k.flops, hbmBytes: (times * k.hbmBytes) / e.optimizer };
      default: { const never: never = k.cls; throw new Error(`unknown op class ${String(never)}`); }
    }
  }

  attention(): Kernel[] {
    const { m, t } = this, T = this.tokens, H = m.hidden;
    return [matmul(T, m.attentionParams / t.tp, H, H), attentionCore(m, T, t.seqLen, m.heads / t.tp), elementwise(4 * T * H)];
  }

  denseFfn(): Kernel[] {
    const { m, t } = this, T = this.tokens;
    return [matmul(T, swigluParams(m.hidden, m.ffnIntermediate) / t.tp, m.hidden, m.hidden), elementwise(2 * T * m.ffnIntermediate / t.tp)];
  }

  router(): Kernel[] { return [matmul(this.tokens, this.m.hidden * this.m.experts, this.m.hidden, this.m.experts)]; }

  sharedExperts(): Kernel[] {
    const { m } = this;
    return m.sharedExperts > 0 ? [matmul(this.tokens, m.sharedExperts * expertParams(m), m.hidden, m.hidden)] : [];
  }

  /** Routed experts over `copies` modelled token copies, reading the weights of the rank's experts once. */
  experts(copies: number): Kernel {
    const { m, t } = this;
    const w = expertParams(m);
    return { flops: 2 * copies * w, hbmBytes: 2 * ((m.experts / t.ep) * w + copies * 2 * m.hidden), cls: OpClass.Matmul };
  }

  lmHead(): Kernel[] { return [matmul(this.tokens, (this.m.vocab * this.m.hidden) / this.t.tp, this.m.hidden, this.m.vocab / this.t.tp)]; }

  /** Bytes of the activations a TP all-reduce sums (BF16). */
  get activationBytes(): number { return 2 * this.tokens * this.m.hidden; }
  /** Modelled bytes of one token copy dispatched or combined (BF16 hidden vector). */
  get copyBytes(): number { return 2 * this.m.hidden; }

  /** Full-size weights a rank holds per layer of a kind: reduced over DP (non-expert) and over expert DP. */
  layerParams(kind: "dense" | "moe"): { dense: number; expert: number } {
    const { m, t } = this;
    const attention = m.attentionParams / t.tp;
    if (kind === "dense") return { dense: attention + swigluParams(m.hidden, m.ffnIntermediate) / t.tp, expert: 0 };
    return { dense: attention + m.hidden * m.experts + m.sharedExperts * expertParams(m), expert: (m.experts / t.ep) * expertParams(m) };
  }

  /** Embedding table and LM head, per rank (split over TP). */
  get embeddingParams(): number { return (2 * this.m.vocab * this.m.hidden) / this.t.tp; }

  /** The optimizer step over what this rank updates (ZeRO-1: its 1/dp share, experts 1/(dp/ep)). */
  optimizer(): Kernel {
    const c = paramCounts(this.m), t = this.t;
    const dense = (c.total - c.routedExperts) / t.tp, expert = c.routedExperts / t.ep;
    return optimizerStep(t.zero === 1 ? dense / t.dp + expert / (t.dp / t.ep) : dense + expert);
  }
}

export { BACKWARD_FACTOR };

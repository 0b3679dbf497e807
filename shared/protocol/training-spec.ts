/**
 * One training step as it travels in an op-start (wire types): the full model's shapes for timing,
 * the tiny model's widths for the numerics, and the parallel plan. Ranks get their parameters in
 * their op-start `part.params` and return them updated in op-done `result`.
 */
export interface TrainingLayerKind {
  readonly kind: "dense" | "moe";
  /** Layers of the full model this emulated layer stands for (1 without layer repetition). */
  readonly count: number;
}

export interface TrainingShape {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly headDim: number;
  readonly vHeadDim: number;
  readonly attentionParams: number;
  readonly ffnIntermediate: number;
  readonly vocab: number;
  readonly experts: number;
  readonly topK: number;
  readonly sharedExperts: number;
  readonly expertIntermediate: number;
}

export interface TrainingSpec {
  readonly step: number;
  readonly shape: TrainingShape;
  /** Emulated layers, in order. */
  readonly layers: readonly TrainingLayerKind[];
  readonly dp: number;
  readonly tp: number;
  readonly ep: number;
  readonly zero: 0 | 1;
  readonly overlap: boolean;
  readonly recompute: "none" | "selective" | "full";
  readonly microSteps: number;
  readonly microBatch: number;
  readonly seqLen: number;
  readonly gradBytes: number;
  /** Layers per gradient bucket (DP sync), counted layers included. */
  readonly bucketLayers: number;
  /** The gradient sync's algorithm: the flat ring, or node-aware (ring inside each node, then across nodes). */
  readonly dpAlgorithm: "ring" | "hierarchical";
  /** Per-class efficiencies: matmul, attention, elementwise, optimizer. */
  readonly efficiency: { readonly matmul: number; readonly attention: number; readonly elementwise: number; readonly optimizer: number };
  /** Tiny widths and data of the real numerics (docs/training.md §1). */
  readonly numerics: {
    readonly hidden: number; readonly expertHidden: number; readonly tokensPerRank: number; readonly lr: number; readonly seed: number;
    /**
     * The DP degree whose samples a step covers (docs/training.md §1.3): the declared dp of a run that
     * recovery shrank (docs/chaos.md §7.4), so the step still sees every sample of the global batch;
     * absent, dp.
     */
    readonly sampleDp?: number;
  };
}

/** A training rank's share of the op-start: the parameters it holds, in its shard layout. */
export interface TrainingPart {
  readonly params: Float64Array;
}

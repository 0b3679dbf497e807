import { DEFAULT_EFFICIENCY, gqaAttentionParams, MODEL_PRESET_NAMES, MODEL_PRESETS, type Efficiency, type ModelPresetName, type ModelShape } from "../compute/index.js";
import { ScenarioError } from "../errors/index.js";
import type { RawTrainingWorkload } from "./training-schema.js";

/** Defaults of a training workload (docs/training.md §2). */
export const TRAINING_DEFAULTS = {
  seqLen: 4096, microBatch: 1, steps: 3, overlap: true, zero: 1, repeatLayers: true, recompute: "selective",
  gradBytes: 4, bucketLayers: 4,
  numerics: { hidden: 8, expertHidden: 8, tokensPerRank: 32, lr: 0.05 },
} as const;

/** A resolved training workload; the plan is checked against the topology later (training-check.ts). */
export interface TrainingWorkload {
  readonly kind: "training";
  readonly model: ModelShape;
  readonly parallel: { readonly dp: number; readonly tp: number; readonly pp: number; readonly ep: number };
  readonly seqLen: number;
  readonly microBatch: number;
  /** Sequences per step (default dp × microBatch: one micro-step). */
  readonly globalBatch: number;
  readonly steps: number;
  readonly overlap: boolean;
  readonly zero: 0 | 1;
  readonly repeatLayers: boolean;
  readonly recompute: "none" | "selective" | "full";
  readonly gradBytes: number;
  readonly bucketLayers: number;
  /** The gradient sync's algorithm; "default" until the topology is known (training-check.ts). */
  readonly dpAlgorithm: "ring" | "hierarchical" | "default";
  readonly efficiency: Efficiency;
  readonly numerics: { readonly hidden: number; readonly expertHidden: number; readonly tokensPerRank: number; readonly lr: number };
}

function resolveModel(m: RawTrainingWorkload["model"], at: string): ModelShape {
  const presetOf = (name: string, path: string): ModelShape => {
    if (!MODEL_PRESET_NAMES.includes(name as ModelPresetName)) throw new ScenarioError(path, `unknown model "${name}" (presets: ${MODEL_PRESET_NAMES.join(", ")}, or an inline shape)`);
    return MODEL_PRESETS[name as ModelPresetName];
  };
  if (typeof m === "string") return presetOf(m, `${at}.model`);
  const { base, ...fields } = m;
  const b: Partial<ModelShape> = base ? presetOf(base, `${at}.model.base`) : {};
  for (const k of ["layers", "hidden", "heads", "headDim", "ffnIntermediate", "vocab"] as const) {
    if (fields[k] === undefined && b[k] === undefined) throw new ScenarioError(`${at}.model.${k}`, "required for an inline model without base");
  }
  const pick = <K extends keyof ModelShape>(k: K, d: ModelShape[K]): ModelShape[K] => (fields as Partial<ModelShape>)[k] ?? b[k] ?? d;
  const layers = pick("layers", 0), hidden = pick("hidden", 0), heads = pick("heads", 0), headDim = pick("headDim", 0);
  const experts = pick("experts", 0);
  const kvHeads = pick("kvHeads", heads), vHeadDim = pick("vHeadDim", headDim);
  const shapeChanged = ["hidden", "heads", "headDim", "vHeadDim", "kvHeads"].some((k) => k in fields);
  return {
    name: base ? `${base} (modified)` : "inline",
    layers, hidden, heads, headDim, vHeadDim, kvHeads,
    attentionParams: fields.attentionParams ?? (shapeChanged || b.attentionParams === undefined ? gqaAttentionParams(hidden, heads, kvHeads, headDim, vHeadDim) : b.attentionParams),
    ffnIntermediate: pick("ffnIntermediate", 0), vocab: pick("vocab", 0),
    denseLayers: fields.denseLayers ?? (experts === 0 ? layers : Math.min(b.denseLayers ?? 0, layers)),
    experts, topK: pick("topK", 0), sharedExperts: pick("sharedExperts", 0), expertIntermediate: pick("expertIntermediate", 0),
  };
}

export function resolveTrainingWorkload(w: RawTrainingWorkload, at: string): TrainingWorkload {
  const model = resolveModel(w.model, at);
  const parallel = { dp: w.parallel.dp, tp: w.parallel.tp ?? 1, pp: w.parallel.pp ?? 1, ep: w.parallel.ep ?? 1 };
  const microBatch = w.microBatch ?? TRAINING_DEFAULTS.microBatch;
  return {
    kind: "training", model, parallel,
    seqLen: w.seqLen ?? TRAINING_DEFAULTS.seqLen,
    microBatch,
    globalBatch: w.globalBatch ?? parallel.dp * microBatch,
    steps: w.steps ?? TRAINING_DEFAULTS.steps,
    overlap: w.overlap ?? TRAINING_DEFAULTS.overlap,
    zero: w.zero ?? TRAINING_DEFAULTS.zero,
    repeatLayers: w.repeatLayers ?? TRAINING_DEFAULTS.repeatLayers,
    recompute: w.recompute ?? TRAINING_DEFAULTS.recompute,
    gradBytes: w.gradBytes ?? TRAINING_DEFAULTS.gradBytes,
    bucketLayers: w.bucketLayers ?? TRAINING_DEFAULTS.bucketLayers,
    dpAlgorithm: w.algorithms?.dp ?? "default",
    efficiency: { ...DEFAULT_EFFICIENCY, ...w.efficiency },
    numerics: { ...TRAINING_DEFAULTS.numerics, ...w.numerics },
  };
}

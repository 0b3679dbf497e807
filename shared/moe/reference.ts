import { hash3, inputVector } from "../collectives/data.js";
import { choiceAt, type ExpertChoices } from "./gating.js";
import type { MoeShape } from "./types.js";

/**
 * The real data of an MoE layer and its independent check. A token is TOKEN_ELEMENTS small integers;
 * expert e maps x ↦ a_e·x + b_e elementwise (small integers a_e, b_e); the combined result of a
 * token is Σ_k w_k · f_{e_k}(x) over its copies that were not dropped, plus f_s(x) for every shared
 * expert s (weight 1, on the origin rank). Weights are dyadic and values small integers, so every
 * sum is exact in float64 and results compare with ===.
 */

/** Real elements per token (the modelled size is dispatchBytesPerToken). */
export const TOKEN_ELEMENTS = 4;
const TOKEN_SALT = 0x2545f491;
const EXPERT_SALT = 0x9b05688c;

/** Token g's real vector: TOKEN_ELEMENTS integers in [-8, 8]. */
export function tokenVector(seed: number, g: number): Float64Array {
  return inputVector(seed ^ TOKEN_SALT, g, TOKEN_ELEMENTS);
}

/**
 * Expert `id`'s function: scale in [-4, 4] without 0, shift in [-8, 8]. Routed experts are ids
 * 0..experts-1; shared expert s is id experts + s.
 */
export function expertFunction(seed: number, id: number): { readonly scale: number; readonly shift: number } {
  const h = hash3(seed ^ EXPERT_SALT, id, 0);
  const scale = (h % 8) - 4;
  return { scale: scale >= 0 ? scale + 1 : scale, shift: ((h >>> 8) % 17) - 8 };
}

/** What an expert's rank computes for one token copy. */
export function applyExpert(seed: number, id: number, x: Float64Array): Float64Array {
  const { scale, shift } = expertFunction(seed, id);
  return x.map((v) => scale * v + shift);
}

/** An expert output as returned to the origin rank: the token's k-th choice, unweighted. */
export interface ExpertPart {
  readonly k: number;
  readonly output: Float64Array;
}

/**
 * The expected combined result of global token g, straight from its choices and the set of its k
 * that were dropped — no message list, no expert outputs: per element it folds every expert into
 * one affine map, x·(Σ w·a) + Σ w·b, a different computation from the receiver's.
 */
export function expectedCombined(seed: number, shape: MoeShape, choices: ExpertChoices, g: number, droppedK: ReadonlySet<number>): Float64Array {
  let scale = 0, shift = 0;
  for (let k = 0; k < shape.topK; k++) {
    if (droppedK.has(k)) continue;
    const { expert, weight } = choiceAt(choices, g, k);
    const f = expertFunction(seed, expert);
    scale += weight * f.scale;
    shift += weight * f.shift;
  }
  for (let s = 0; s < shape.sharedExperts; s++) {
    const f = expertFunction(seed, shape.experts + s);
    scale += f.scale;
    shift += f.shift;
  }
  return tokenVector(seed, g).map((v) => scale * v + shift);
}

/**
 * The origin rank's combine for global token g: its shared experts' outputs, then w_k × part in
 * ascending k, whatever order the parts arrived in. Parts of dropped copies are simply absent.
 */
export function combineFromParts(seed: number, shape: MoeShape, choices: ExpertChoices, g: number, parts: readonly ExpertPart[]): Float64Array {
  const x = tokenVector(seed, g);
  const out = new Float64Array(TOKEN_ELEMENTS);
  for (let s = 0; s < shape.sharedExperts; s++) addScaled(out, 1, applyExpert(seed, shape.experts + s, x));
  for (const p of [...parts].sort((a, b) => a.k - b.k)) addScaled(out, choiceAt(choices, g, p.k).weight, p.output);
  return out;
}

/** Describes the first element where `got` differs from `want` (===), or undefined when equal. */
export function checkCombined(g: number, got: Float64Array, want: Float64Array): string | undefined {
  if (got.length !== want.length) return `token ${g}: ${got.length} elements, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) return `token ${g}: element ${i} is ${got[i]}, expected ${want[i]}`;
  }
  return undefined;
}

function addScaled(into: Float64Array, w: number, v: Float64Array): void {
  for (let i = 0; i < into.length; i++) into[i] = into[i]! + w * v[i]!;
}

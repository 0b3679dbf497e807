import { Collective, type OpSpec } from "../protocol/index.js";
import { splitEven } from "../units/index.js";

/** A 32-bit integer hash of (seed, a, b): the only source of pseudo-random data, so runs repeat exactly. */
export function hash3(seed: number, a: number, b: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(a + 0x632be5ab, 0xc2b2ae35) ^ Math.imul(b + 0x7f4a7c15, 0x27d4eb2f);
  h ^= h >>> 15; h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12; h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

/**
 * Rank r's real input: small integers in [-8, 8]. Sums over up to 2^48 ranks stay exact in float64,
 * so a reduction's result does not depend on its order and can be checked exactly.
 */
export function inputVector(seed: number, rank: number, length: number): Float64Array {
  const v = new Float64Array(length);
  for (let i = 0; i < length; i++) v[i] = (hash3(seed, rank, i) % 17) - 8;
  return v;
}

/** all-to-all-v: real elements rank i sends to rank j (1..3, uneven by design). */
export function a2avElements(seed: number, i: number, j: number): number {
  return 1 + (hash3(seed ^ 0x2a2a, i, j) % 3);
}

/** all-to-all-v: modelled bytes rank i sends to rank j: size/n scaled by a weight in [0.25, 1.75]. */
export function a2avBytes(spec: OpSpec, i: number, j: number): number {
  const n = spec.group.length;
  const weight = (1 + (hash3(spec.seed ^ 0x5a5a, i, j) % 7)) / 4;
  return Math.floor((spec.sizeBytes / n) * weight);
}

/** Real input length of a rank for a collective. */
export function inputLength(spec: OpSpec, rank: number): number {
  const n = spec.group.length;
  switch (spec.collective) {
    case Collective.AllGather: return splitEven(spec.realElements, n)[rank]!;
    case Collective.AllToAllV: {
      let total = 0;
      for (let j = 0; j < n; j++) total += a2avElements(spec.seed, rank, j);
      return total;
    }
    case Collective.MoeLayer: return 0; // tokens are the layer's own (shared/moe/program.ts)
    default: return spec.realElements;
  }
}

/** Rank r's input for a collective (broadcast: only the root's input matters). */
export function inputFor(spec: OpSpec, rank: number): Float64Array {
  return inputVector(spec.seed, rank, inputLength(spec, rank));
}

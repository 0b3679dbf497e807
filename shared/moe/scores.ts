import { hash3 } from "../collectives/data.js";
import type { Gating, MoeShape } from "./types.js";

/** Salts that keep the hash streams of the different draws apart. */
const SALT = {
  popularity: 0x1f83d9ab,
  race: 0x5be0cd19,
  hot: 0x6a09e667,
  gateToken: 0x3c6ef372,
  gateExpert: 0xa54ff53a,
} as const;

/** Length of a token's (and an expert's) real gate vector. */
export const GATE_DIM = 16;
/** Gate logits are dot / √GATE_DIM × this, so sigmoid scores spread over most of (0, 1). */
const GATE_LOGIT_SCALE = 3;
/** Score added to the hot experts a token must take (and taken from the hot ones it must not). */
const HOT_FORCE = 1e3;

/** A uniform real in (0, 1), from hash3 only. */
export function unitRandom(seed: number, a: number, b: number): number {
  return (hash3(seed, a, b) + 0.5) / 2 ** 32;
}


/** Experts from most to least popular (a seeded Fisher–Yates shuffle): zipf rank i+1 and hot set use it. */
export function popularityOrder(seed: number, experts: number): number[] {
  const order = Array.from({ length: experts }, (_, i) => i);
  for (let i = experts - 1; i > 0; i--) {
    const j = hash3(seed ^ SALT.popularity, i, 0) % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Number of hot experts: round(hotFraction × experts), at least 1. */
export function hotExpertCount(hotFraction: number, experts: number): number {
  return Math.min(experts, Math.max(1, Math.round(hotFraction * experts)));
}

/**
 * Hot experts token g takes, by error diffusion over global token order: ⌊(g+1)·k·share⌋ − ⌊g·k·share⌋,
 * so tokens 0..N-1 take ⌊N·k·share⌋ hot copies in all (clamped to what the hot and cold sets allow).
 */
export function hotTakes(g: number, topK: number, share: number, hot: number, experts: number): number {
  const h = Math.floor((g + 1) * topK * share) - Math.floor(g * topK * share);
  return Math.min(topK, hot, Math.max(h, topK - (experts - hot)));
}

/** A real vector of GATE_DIM values in [-1, 1], multiples of 1/1000. */
export function gateVector(seed: number, salt: number, id: number): Float64Array {
  const v = new Float64Array(GATE_DIM);
  for (let i = 0; i < GATE_DIM; i++) v[i] = ((hash3(seed ^ salt, id, i) % 2001) - 1000) / 1000;
  return v;
}

/**
 * Affinity of a token to every expert: the gate's sigmoid scores; for zipf an exponential race,
 * w_e / (−ln u_e), whose top-k is a draw of k distinct experts without replacement ∝ w (it orders
 * like the Gumbel-top-k, ln w_e + Gumbel, with one log fewer); for uniform and hot plain u_e in (0, 1).
 * Top-k and the node-limited rule of gating.ts work on these scores for every kind but `fixed`.
 */
export class Scorer {
  private readonly weight: Float64Array;
  private readonly hotOrder: readonly number[] = [];
  private readonly expertGate: Float64Array[] = [];

  constructor(private readonly shape: MoeShape, private readonly gating: Gating, private readonly seed: number) {
    const E = shape.experts;
    this.weight = new Float64Array(E);
    if (gating.kind === "zipf") {
      popularityOrder(seed, E).forEach((e, i) => { this.weight[e] = (i + 1) ** -gating.exponent; });
    } else if (gating.kind === "hot") {
      this.hotOrder = popularityOrder(seed, E).slice(0, hotExpertCount(gating.hotFraction, E));
    } else if (gating.kind === "gate") {
      this.expertGate = Array.from({ length: E }, (_, e) => gateVector(seed, SALT.gateExpert, e));
    }
  }

  /** Scores of global token g over all routed experts (higher is more affine). */
  scores(g: number): Float64Array {
    const E = this.shape.experts, s = new Float64Array(E);
    if (this.gating.kind === "gate") {
      const x = gateVector(this.seed, SALT.gateToken, g);
      for (let e = 0; e < E; e++) s[e] = sigmoid(dot(x, this.expertGate[e]!) * GATE_LOGIT_SCALE / Math.sqrt(GATE_DIM));
      return s;
    }
    const seed = this.seed ^ SALT.race;
    if (this.gating.kind === "zipf") {
      for (let e = 0; e < E; e++) s[e] = this.weight[e]! / -Math.log(unitRandom(seed, g, e));
      return s;
    }
    for (let e = 0; e < E; e++) s[e] = unitRandom(seed, g, e);
    if (this.gating.kind === "hot") this.forceHot(g, s);
    return s;
  }

  /** The token takes exactly hotTakes(g) hot experts: the best-scored ones, pushed above every cold one. */
  private forceHot(g: number, s: Float64Array): void {
    if (this.gating.kind !== "hot") return;
    const take = hotTakes(g, this.shape.topK, this.gating.hotShare, this.hotOrder.length, this.shape.experts);
    const ranked = [...this.hotOrder].sort((a, b) => s[b]! - s[a]! || a - b);
    ranked.forEach((e, i) => { s[e] = s[e]! + (i < take ? HOT_FORCE : -HOT_FORCE); });
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

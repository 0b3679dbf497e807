import type { TrainingSpec } from "../../protocol/index.js";

/**
 * Where a rank of a training op sits in the plan. Op ranks are dp × tp, TP innermost (a TP group is
 * tp consecutive ranks, inside one node); the DP group of a rank is every rank with its TP index; an EP
 * group is ep consecutive DP ranks; the expert-data-parallel group of a rank is every rank that holds
 * the same experts (its EP index in every EP group).
 */
export interface RankPlace {
  readonly rank: number;
  readonly tpRank: number;
  readonly dpRank: number;
  readonly epRank: number;
  readonly tpGroup: readonly number[];
  readonly dpGroup: readonly number[];
  readonly epGroup: readonly number[];
  readonly expertDpGroup: readonly number[];
  /** Routed experts this rank holds (contiguous blocks of experts / ep). */
  readonly experts: readonly number[];
}

export function placeRank(t: Pick<TrainingSpec, "dp" | "tp" | "ep" | "shape">, rank: number): RankPlace {
  const { dp, tp, ep } = t;
  const tpRank = rank % tp, dpRank = Math.floor(rank / tp);
  const epRank = dpRank % ep, epBase = dpRank - epRank;
  const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
  const perRank = t.shape.experts / ep;
  return {
    rank, tpRank, dpRank, epRank,
    tpGroup: range(tp, (i) => dpRank * tp + i),
    dpGroup: range(dp, (d) => d * tp + tpRank),
    epGroup: range(ep, (i) => (epBase + i) * tp + tpRank),
    expertDpGroup: range(dp / ep, (g) => (g * ep + epRank) * tp + tpRank),
    experts: t.shape.experts > 0 ? range(perRank, (i) => epRank * perRank + i) : [],
  };
}

/** The EP rank holding routed expert `e`. */
export const expertOwner = (t: Pick<TrainingSpec, "ep" | "shape">, e: number): number => Math.floor(e / (t.shape.experts / t.ep));

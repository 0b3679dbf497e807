import type { MoeRankPart } from "../protocol/index.js";
import type { ExpertChoices } from "./gating.js";
import type { HierCounts } from "./hier-routes.js";
import type { MoeLayer } from "./layer.js";

/**
 * Rank `rank`'s part of a planned layer (what the coordinator sends it with op-start); with
 * hierarchical `counts` (hierRoutes), its per-phase counts, and only same-node direct receipts.
 */
export function rankPart(layer: MoeLayer, rank: number, counts?: HierCounts): MoeRankPart {
  const { shape, plan, choices, placement } = layer;
  const T = shape.tokensPerRank, K = shape.topK;
  const sends: number[] = [];
  for (const c of plan.copies.slice(rank * T * K, (rank + 1) * T * K)) if (c.dstRank >= 0) sends.push(c.dstRank, c.token, c.k, c.expert);
  const first = rank * T * K;
  return {
    sends,
    recvCounts: counts ? counts.direct : plan.lists.map((row) => row[rank]!.length),
    experts: Array.from(choices.experts.subarray(first, first + T * K)),
    weightUnits: Array.from(choices.weightUnits.subarray(first, first + T * K)),
    weightDenominator: choices.weightDenominator,
    held: [...placement.expertsOn(rank)],
    ...(counts ? { cross: counts.cross, scatter: counts.scatter } : {}),
  };
}

/** A copy as its origin rank knows it. */
export interface LocalCopy {
  readonly token: number;
  readonly k: number;
  readonly expert: number;
}

/** A rank's part, unpacked: its tokens' choices (global token ids), its copies by destination, the k's it dropped. */
export interface PartView {
  readonly choices: ExpertChoices;
  /** sendsTo[dst]: accepted copies of this rank's tokens that rank dst processes (dst = this rank: kept local). */
  readonly sendsTo: readonly (readonly LocalCopy[])[];
  readonly recvCounts: readonly number[];
  /** dropped[t]: the k's of local token t that found no room. */
  readonly dropped: readonly ReadonlySet<number>[];
}

export function viewPart(part: MoeRankPart, rank: number, ep: number, tokensPerRank: number, topK: number): PartView {
  const sendsTo: LocalCopy[][] = Array.from({ length: ep }, () => []);
  const kept = Array.from({ length: tokensPerRank }, () => new Set<number>());
  for (let i = 0; i < part.sends.length; i += 4) {
    const [dst, token, k, expert] = [part.sends[i]!, part.sends[i + 1]!, part.sends[i + 2]!, part.sends[i + 3]!];
    if (dst >= ep || token >= tokensPerRank || k >= topK) throw new Error(`part of rank ${rank}: copy (${dst}, ${token}, ${k}) out of range`);
    if (part.experts[token * topK + k] !== expert) throw new Error(`part of rank ${rank}: copy (${token}, ${k}) goes to expert ${expert}, its choice is ${part.experts[token * topK + k]}`);
    sendsTo[dst]!.push({ token, k, expert });
    kept[token]!.add(k);
  }
  const dropped = kept.map((ks) => new Set(Array.from({ length: topK }, (_, k) => k).filter((k) => !ks.has(k))));
  const choices: ExpertChoices = {
    tokens: tokensPerRank, firstToken: rank * tokensPerRank, topK,
    experts: Int32Array.from(part.experts), weightUnits: Int32Array.from(part.weightUnits), weightDenominator: part.weightDenominator,
  };
  return { choices, sendsTo, recvCounts: part.recvCounts, dropped };
}

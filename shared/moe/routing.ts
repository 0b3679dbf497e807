import type { ExpertChoices } from "./gating.js";
import type { Placement } from "./placement.js";
import { EACH_RANK_A_NODE, ReplicaPolicy, type MoeShape, type RankNode } from "./types.js";

/** dstRank of a copy that found every replica of its expert full. */
export const DROPPED = -1;

/** One (token, expert) pair: token `token` of `srcRank`, its k-th choice. */
export interface TokenCopy {
  readonly srcRank: number;
  readonly token: number;
  readonly k: number;
  readonly expert: number;
  /** Rank whose replica processes the copy, or DROPPED. */
  readonly dstRank: number;
}

/** The dispatch of one layer: who sends which token copies where, and the resulting loads. */
export interface DispatchPlan {
  /** Token copies each expert replica accepts. */
  readonly capacity: number;
  /** Every copy, dropped or not, in (srcRank, token, k) order. */
  readonly copies: readonly TokenCopy[];
  /** lists[src][dst]: accepted copies src sends to dst, in (token, k) order; src === dst stays local. */
  readonly lists: readonly (readonly (readonly TokenCopy[])[])[];
  /** Copies that chose each expert / were accepted by it (all replicas) / were dropped. */
  readonly expertDemand: Int32Array;
  readonly expertLoad: Int32Array;
  readonly droppedPerExpert: Int32Array;
  readonly droppedTotal: number;
  /** replicaLoad[e][i]: copies accepted by the replica on placement.replicasOf(e)[i]. */
  readonly replicaLoad: readonly (readonly number[])[];
  /** Copies each rank's experts process. */
  readonly rankLoad: Int32Array;
  /** Copies each rank sends to / receives from OTHER ranks, and keeps for its own experts. */
  readonly sendCopies: Int32Array;
  readonly recvCopies: Int32Array;
  readonly localCopies: Int32Array;
}

/**
 * Capacity of each expert replica: ⌈capacityFactor × tokensPerRank × ep × topK / experts⌉ copies
 * (the mean demand per expert, scaled). A hair is taken off before ⌈⌉ so float noise such as
 * 1.1 × 100 = 110.00000000000001 does not add a slot.
 */
export function expertCapacity(shape: MoeShape): number {
  const mean = (shape.tokensPerRank * shape.ep * shape.topK) / shape.experts;
  return Math.ceil(shape.capacityFactor * mean - 1e-9);
}

/**
 * Plans the dispatch. Copies are taken in (srcRank, token, k) order, first come first served. The
 * replica policy ranks the replicas of the copy's expert, and the copy goes to the first of them
 * with room; when every replica holds `capacity` copies it is DROPPED (never silently: counted per
 * expert). So expert e drops exactly max(0, demand_e − capacity × replicas_e), the latest arrivals.
 * - round-robin: the n-th copy of expert e (counting all its copies) starts at replica n mod R.
 * - least-loaded: replicas by their rank's accepted load so far (all experts), ties to the lower rank.
 * - same-node-first: the round-robin order, with replicas on the source's node moved to the front.
 */
export function planDispatch(shape: MoeShape, placement: Placement, choices: ExpertChoices, rankNode: RankNode = EACH_RANK_A_NODE): DispatchPlan {
  const { ep, experts: E, tokensPerRank: T, topK: K } = shape;
  const capacity = expertCapacity(shape);
  const st = {
    seen: new Int32Array(E),
    replicaLoad: Array.from({ length: E }, (_, e) => placement.replicasOf(e).map(() => 0)),
    rankLoad: new Int32Array(ep),
  };
  const order = policyOrder(shape, placement, rankNode, st);
  const copies: TokenCopy[] = [];
  const lists = Array.from({ length: ep }, () => Array.from({ length: ep }, (): TokenCopy[] => []));
  for (let src = 0; src < ep; src++) {
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < K; k++) {
        const expert = choices.experts[(src * T + t) * K + k]!;
        const loads = st.replicaLoad[expert]!;
        const i = loads.length === 1 ? (loads[0]! < capacity ? 0 : undefined) : order(src, expert).find((j) => loads[j]! < capacity);
        st.seen[expert]! += 1;
        const dstRank = i === undefined ? DROPPED : placement.replicasOf(expert)[i]!;
        const copy: TokenCopy = { srcRank: src, token: t, k, expert, dstRank };
        copies.push(copy);
        if (i === undefined) continue;
        loads[i]! += 1;
        st.rankLoad[dstRank]! += 1;
        lists[src]![dstRank]!.push(copy);
      }
    }
  }
  return summarize(shape, capacity, copies, lists, st.replicaLoad, st.rankLoad);
}

interface RouterState {
  readonly seen: Int32Array;
  readonly rankLoad: Int32Array;
}

/** Replica indices of `expert` in the policy's order of preference, for a copy from `src`. */
function policyOrder(shape: MoeShape, placement: Placement, rankNode: RankNode, st: RouterState): (src: number, expert: number) => number[] {
  return (src, expert) => {
    const reps = placement.replicasOf(expert);
    const R = reps.length;
    const rotation = Array.from({ length: R }, (_, j) => (st.seen[expert]! + j) % R);
    switch (shape.replicaPolicy) {
      case ReplicaPolicy.RoundRobin: return rotation;
      case ReplicaPolicy.LeastLoaded:
        return reps.map((_, j) => j).sort((a, b) => st.rankLoad[reps[a]!]! - st.rankLoad[reps[b]!]! || reps[a]! - reps[b]!);
      case ReplicaPolicy.SameNodeFirst: {
        const home = rankNode(src);
        const near = (j: number) => (rankNode(reps[j]!) === home ? 0 : 1);
        return rotation.sort((a, b) => near(a) - near(b)); // stable: keeps the rotation within each group
      }
      default: {
        const never: never = shape.replicaPolicy;
        throw new Error(`unknown replica policy ${String(never)}`);
      }
    }
  };
}

function summarize(
  shape: MoeShape, capacity: number, copies: readonly TokenCopy[], lists: readonly (readonly (readonly TokenCopy[])[])[],
  replicaLoad: readonly (readonly number[])[], rankLoad: Int32Array,
): DispatchPlan {
  const { ep, experts: E } = shape;
  const expertDemand = new Int32Array(E), expertLoad = new Int32Array(E), droppedPerExpert = new Int32Array(E);
  const sendCopies = new Int32Array(ep), recvCopies = new Int32Array(ep), localCopies = new Int32Array(ep);
  for (const c of copies) {
    expertDemand[c.expert]! += 1;
    if (c.dstRank === DROPPED) { droppedPerExpert[c.expert]! += 1; continue; }
    expertLoad[c.expert]! += 1;
    if (c.dstRank === c.srcRank) { localCopies[c.srcRank]! += 1; continue; }
    sendCopies[c.srcRank]! += 1;
    recvCopies[c.dstRank]! += 1;
  }
  const droppedTotal = droppedPerExpert.reduce((a, b) => a + b, 0);
  return { capacity, copies, lists, expertDemand, expertLoad, droppedPerExpert, droppedTotal, replicaLoad, rankLoad, sendCopies, recvCopies, localCopies };
}

/** max / mean of per-rank loads (token copies processed); 1 when there is no load at all. */
export function maxOverMeanLoad(loads: ArrayLike<number>): number {
  let max = 0, sum = 0;
  for (let i = 0; i < loads.length; i++) { max = Math.max(max, loads[i]!); sum += loads[i]!; }
  return sum === 0 ? 1 : max / (sum / loads.length);
}

import { checkTraining, type TrainingWorkload } from "../../shared/config/index.js";
import { isTiered, type OpSpec } from "../../shared/protocol/index.js";
import { groupByNode, type Topology } from "../../shared/topology/index.js";
import type { NpuId } from "../../shared/units/index.js";

/** A shrink as a run did it: from training step `step` on, without the NPUs `removed` (names). */
export interface ShrinkAt {
  readonly step: number;
  readonly removed: readonly string[];
}

/** The shrinks of a run, from its history: each shrink membership event, at the step its op committed. */
export function shrinksOf(history: readonly { type: string; index?: number; policy?: string; removed?: readonly string[]; step?: number }[]): ShrinkAt[] {
  return history.flatMap((e) => {
    if (e.type !== "membership" || e.policy !== "shrink") return [];
    const commit = history.find((c) => c.type === "commit" && c.index === e.index && c.step !== undefined);
    return commit ? [{ step: commit.step!, removed: e.removed ?? [] }] : [];
  });
}

/** The training plan a run is on: its parallel plan (dp may have shrunk) and the NPUs of its ranks. */
export interface TrainingPlan {
  readonly w: TrainingWorkload;
  readonly group: readonly NpuId[];
}

/**
 * Recovery policy shrink for training (docs/chaos.md §7.4), as elastic data-parallel training does it:
 * the model replicas that lost a member leave, the survivors go on at a lower DP degree with more
 * gradient-accumulation micro-steps, so a step still sees the whole global batch — every sample once
 * (TrainingSpec numerics.sampleDp) — and nothing of the model is lost. A replica here is one EP group
 * (ep DP ranks × tp: every routed expert once; with ep 1, one DP rank's TP group): its experts' other
 * copies are the expert-data-parallel peers in the surviving EP groups, which hold the same parameters.
 * The new DP degree is the largest multiple of ep, at most the survivors', that splits the global batch
 * into whole micro-steps and whose ranks' share of the model still fits their HBM; healthy NPUs beyond
 * it idle. Refused when no replica survives (EP spanning all of DP: the failed NPU's experts have no
 * copy) or no such degree exists.
 */
export function shrinkTraining(cur: TrainingPlan, failed: readonly number[], t: Topology): { plan: TrainingPlan; idle: NpuId[]; note: string } | { refused: string } {
  const { dp, tp, ep } = cur.w.parallel;
  const name = (id: number) => t.devices[id]!.name;
  const unit = ep * tp, replicas = dp / ep;
  const rankOf = new Map(cur.group.map((id, r) => [id as number, r]));
  const lost = new Set(failed.filter((id) => rankOf.has(id)).map((id) => Math.floor(rankOf.get(id)! / unit)));
  const alive = Array.from({ length: replicas }, (_, g) => g).filter((g) => !lost.has(g));
  const who = failed.map(name).join(", ");
  if (alive.length === 0) {
    return { refused: ep > 1 ? `EP ${ep} spans every DP rank, so the routed experts of ${who} have no copy on any survivor` : `no DP replica survives without ${who}` };
  }
  const batches = cur.w.globalBatch / cur.w.microBatch;
  let why = `no DP degree of whole EP groups up to ${alive.length * ep} splits the global batch's ${batches} micro-batches`;
  for (let r = alive.length; r >= 1; r--) {
    const dp2 = r * ep;
    if (batches % dp2 !== 0) continue;
    const w2: TrainingWorkload = { ...cur.w, parallel: { ...cur.w.parallel, dp: dp2 } };
    try {
      checkTraining(w2, "workload", t, true);
    } catch (e) {
      why = `DP ${dp2}: ${(e as Error).message}`; // a smaller DP holds more per rank: it fails too
      break;
    }
    const keep = alive.slice(0, r);
    const group = keep.flatMap((g) => cur.group.slice(g * unit, (g + 1) * unit));
    const inPlan = new Set<number>(group);
    const idle = cur.group.filter((id) => !inPlan.has(id) && !failed.includes(id));
    const micro = cur.w.globalBatch / (dp2 * cur.w.microBatch);
    const why2 = idle.length ? `; ${idle.map(name).join(", ")} idle (DP ${dp2} is the largest${ep > 1 ? " multiple of EP" : ""} that splits ${batches} micro-batches)` : "";
    return { plan: { w: w2, group }, idle, note: `DP ${dp} → ${dp2}, ${micro} micro-steps per rank (global batch ${cur.w.globalBatch} kept)${why2}` };
  }
  return { refused: why };
}

/**
 * Recovery policy shrink for a collective (docs/chaos.md §7.4), as ncclCommShrink does it: the
 * communicator again without the failed ranks, and the op retried on the survivors (its result is
 * theirs: the reference is computed for the ranks that ran it). Refused for a rooted op whose root
 * failed, below two ranks, and for hierarchical algorithms left with unequally filled nodes.
 */
export function shrinkCollective(cur: OpSpec, failed: readonly number[], t: Topology): { spec: OpSpec; idle: never[]; note: string } | { refused: string } {
  const out = new Set(failed);
  const group = cur.group.filter((id) => !out.has(id));
  const rootId = cur.group[cur.root]!;
  if (out.has(rootId)) return { refused: `the ${cur.collective}'s root (rank ${cur.root}, ${t.devices[rootId]!.name}) failed` };
  if (group.length < 2) return { refused: `${group.length} rank(s) would be left` };
  const nodeGroups = groupByNode(group, t);
  if (isTiered(cur.algorithm) && nodeGroups.some((g) => g.length !== nodeGroups[0]!.length)) {
    return { refused: `hierarchical needs every node equally filled; without ${failed.map((id) => t.devices[id]!.name).join(", ")} the nodes hold ${nodeGroups.map((g) => g.length).join(", ")} ranks` };
  }
  return { spec: { ...cur, group, nodeGroups, root: group.indexOf(rootId) }, idle: [], note: `communicator ${cur.group.length} → ${group.length} ranks (the result is the survivors')` };
}

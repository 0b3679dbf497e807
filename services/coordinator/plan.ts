import { epOf, DTYPE_BYTES, TARGET_REAL_ELEMENTS, type CollectiveWorkload, type MoeWorkload, type Scenario, type TrainingWorkload } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { chooseExperts, placeExperts, rankNodeOf, type MoeShape, type ReplicaSpec } from "../../shared/moe/index.js";
import { Algorithm, Collective, isTiered, type OpSpec } from "../../shared/protocol/index.js";
import { groupByNode, type Topology } from "../../shared/topology/index.js";
import type { NpuId } from "../../shared/units/index.js";

/** Real elements per rank the protocol accepts (see the op-start guard). */
export const MAX_REAL_ELEMENTS = 1_048_576;

/** The seed of the i-th operation of a run. */
const opSeed = (s: Scenario, i: number): number => s.seed * 1_000_003 + i;

/**
 * Every operation of the scenario, numbered from `firstOp`, workload after workload: one per size of
 * a collective (the first `ranks` endpoints form the communicator), one per MoE layer (the first `ep`).
 */
export function planOps(s: Scenario, t: Topology, firstOp = 1): OpSpec[] {
  return planWork(s, t, firstOp).flatMap((x) => ("spec" in x ? [x.spec] : []));
}

/** One item of a run: a planned op, or a training workload (its steps are planned as they run, from the last step's parameters). */
export type Work = { readonly spec: OpSpec } | { readonly training: TrainingWorkload; readonly at: string };

/**
 * The run's work in order. Op ids and seeds of planned ops do not depend on training workloads
 * between them (a training workload takes its op ids when it runs).
 */
export function planWork(s: Scenario, t: Topology, firstOp = 1): Work[] {
  const out: Work[] = [];
  let ops = 0;
  s.workloads.forEach((w, wi) => {
    const at = s.workloads.length > 1 ? `workload[${wi}]` : "workload";
    if (w.kind === "training") { out.push({ training: w, at }); return; }
    const next = (i: number) => ({ op: firstOp + ops + i, seed: opSeed(s, ops + i) });
    // An MoE layer's routing depends on its parameters and the scenario seed only, not on its place in
    // the list: a row of `sweep moe` is the same layer as a run of that EP degree alone.
    const specs = w.kind === "collective" ? collectiveOps(w, t, at, next) : [moeOp(w, t, { op: next(0).op, seed: s.seed })];
    ops += specs.length;
    out.push(...specs.map((spec) => ({ spec })));
  });
  return out;
}

type Next = (i: number) => { op: number; seed: number };

function collectiveOps(w: CollectiveWorkload, t: Topology, at: string, next: Next): OpSpec[] {
  const n = w.ranks === "all" ? t.endpoints.length : w.ranks;
  const group = t.endpoints.slice(0, n);
  const groups = groupByNode(group, t);
  if (isTiered(w.algorithm) && groups.some((g) => g.length !== groups[0]!.length)) {
    throw new ScenarioError(`${at}.ranks`, `hierarchical needs every node equally filled; ranks per node: ${groups.map((g) => g.length).join(",")}`);
  }
  const perChunk = w.realElementsPerChunk ?? Math.max(1, Math.ceil(TARGET_REAL_ELEMENTS / n));
  if (n * perChunk > MAX_REAL_ELEMENTS) {
    throw new ScenarioError(`${at}.realElementsPerChunk`, `${n} ranks × ${perChunk} = ${n * perChunk} real elements per rank, more than ${MAX_REAL_ELEMENTS}`);
  }
  return w.sizes.map((sizeBytes, i) => ({
    ...next(i),
    collective: w.collective,
    algorithm: w.algorithm,
    sizeBytes,
    elementBytes: DTYPE_BYTES[w.dtype],
    group,
    nodeGroups: groups,
    realElements: n * perChunk,
    root: w.root,
    chunkBytes: w.chunkBytes,
  }));
}

/** One MoE layer on the first `ep` endpoints; `sizeBytes` is a rank's nominal dispatch (tokens × topK × bytes). */
function moeOp(w: MoeWorkload, t: Topology, id: { op: number; seed: number }): OpSpec {
  // loadScenario has checked the layer (shared/config/check.ts) and fixed `ep`.
  const ep = epOf(w, t.endpoints.length);
  const group = t.endpoints.slice(0, ep);
  const groups = groupByNode(group, t);
  const base: MoeShape = { ...w.shape, ep };
  if (!("assignments" in w.gating) && w.gating.kind === "fixed") throw new Error("fixed gating without assignments: load the scenario with loadScenario");
  const gating = w.gating as Exclude<MoeWorkload["gating"], { file: string }>;
  const replicas: ReplicaSpec[] = w.replicas.kind === "list"
    ? [...w.replicas.list]
    : hottestExperts(base, gating, id.seed, groups, w.replicas.hottest).map((expert) => ({ expert, copies: (w.replicas as { copies: number }).copies }));
  return {
    ...id,
    collective: Collective.MoeLayer,
    algorithm: w.algorithm === "hierarchical" ? Algorithm.Hierarchical : Algorithm.Direct,
    sizeBytes: base.tokensPerRank * base.topK * base.dispatchBytesPerToken,
    elementBytes: 2,
    group,
    nodeGroups: groups,
    realElements: 1,
    root: 0,
    chunkBytes: 1,
    moe: { shape: { ...base, replicas }, gating, chunkTokens: w.chunkTokens },
  };
}

/**
 * The `n` experts most token copies choose (ties to the lower id), from the layer's own gating
 * without replicas: the load statistics DeepSeek's EPLB picks redundant experts from.
 */
export function hottestExperts(shape: MoeShape, gating: Parameters<typeof chooseExperts>[1], seed: number, groups: readonly (readonly number[])[], n: number): number[] {
  const placement = placeExperts({ ...shape, replicas: [] });
  const choices = chooseExperts({ ...shape, replicas: [] }, gating, seed, { placement, rankNode: rankNodeOf({ nodeGroups: groups }) });
  const demand = new Array<number>(shape.experts).fill(0);
  for (const e of choices.experts) demand[e]! += 1;
  return demand.map((d, e) => [d, e] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, n).map(([, e]) => e);
}

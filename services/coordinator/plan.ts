import { DTYPE_BYTES, TARGET_REAL_ELEMENTS, type Scenario } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { Algorithm, type OpSpec } from "../../shared/protocol/index.js";
import type { Topology } from "../../shared/topology/index.js";
import type { NpuId } from "../../shared/units/index.js";

/** Real elements per rank the protocol accepts (see the op-start guard). */
export const MAX_REAL_ELEMENTS = 1_048_576;

/** Ranks of the communicator grouped by the node their endpoint sits in, in rank order. */
function nodeGroups(group: readonly NpuId[], t: Topology): number[][] {
  const nodeOf = new Map<number, number>();
  t.nodes.forEach((ids, n) => ids.forEach((id) => nodeOf.set(id, n)));
  const groups = new Map<number, number[]>();
  group.forEach((id, r) => {
    const n = nodeOf.get(id) ?? -1;
    if (!groups.has(n)) groups.set(n, []);
    groups.get(n)!.push(r);
  });
  return [...groups.values()];
}

/** One operation per size, numbered from `firstOp`: the first `ranks` endpoints form the communicator. */
export function planOps(s: Scenario, t: Topology, firstOp = 1): OpSpec[] {
  const w = s.workload;
  const n = w.ranks === "all" ? t.endpoints.length : w.ranks;
  const group = t.endpoints.slice(0, n);
  const groups = nodeGroups(group, t);
  if (w.algorithm === Algorithm.Hierarchical && groups.some((g) => g.length !== groups[0]!.length)) {
    throw new ScenarioError("workload.ranks", `hierarchical needs every node equally filled; ranks per node: ${groups.map((g) => g.length).join(",")}`);
  }
  const perChunk = w.realElementsPerChunk ?? Math.max(1, Math.ceil(TARGET_REAL_ELEMENTS / n));
  if (n * perChunk > MAX_REAL_ELEMENTS) {
    throw new ScenarioError("workload.realElementsPerChunk", `${n} ranks × ${perChunk} = ${n * perChunk} real elements per rank, more than ${MAX_REAL_ELEMENTS}`);
  }
  return w.sizes.map((sizeBytes, i) => ({
    op: firstOp + i,
    collective: w.collective,
    algorithm: w.algorithm,
    sizeBytes,
    elementBytes: DTYPE_BYTES[w.dtype],
    group,
    nodeGroups: groups,
    realElements: n * perChunk,
    seed: s.seed * 1_000_003 + i,
    root: w.root,
    chunkBytes: w.chunkBytes,
  }));
}

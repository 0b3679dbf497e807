import type { Topology } from "./types.js";

/**
 * The positions of `ids` (a communicator: device ids in rank order) grouped by the node their device
 * sits in, in rank order: the ranks of each node together (hierarchical algorithms, MoE node maps).
 */
export function groupByNode(ids: readonly number[], t: Topology): number[][] {
  const nodeOf = new Map<number, number>();
  t.nodes.forEach((members, n) => members.forEach((id) => nodeOf.set(id, n)));
  const groups = new Map<number, number[]>();
  ids.forEach((id, r) => {
    const n = nodeOf.get(id) ?? -1;
    if (!groups.has(n)) groups.set(n, []);
    groups.get(n)!.push(r);
  });
  return [...groups.values()];
}

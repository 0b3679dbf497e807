import type { MoeLayer } from "./layer.js";

/**
 * Hierarchical dispatch, as routes (shared by the coordinator's plan and the ranks' programs): DeepEP's
 * inter-node scheme. Ranks are grouped by node (`nodeGroups`, equal sizes); local index = position in
 * the group. A copy whose expert is on the source's own node goes there directly. For a token of rank s
 * with copies on another node b:
 *   1. across nodes: s sends the token once to Q = the rank of node b with s's local index;
 *   2. within the node: Q sends each copy to the rank holding its expert.
 * Combine runs back: experts → Q, which sums the token's gate-weighted outputs into one partial, and
 * Q → s. So a token crosses to a node once per direction, however many of its experts live there.
 */
export class NodeMap {
  readonly nodeOf: Int32Array;
  readonly localOf: Int32Array;

  constructor(readonly groups: readonly (readonly number[])[], ep: number) {
    this.nodeOf = new Int32Array(ep).fill(-1);
    this.localOf = new Int32Array(ep).fill(-1);
    groups.forEach((g, n) => g.forEach((r, i) => { if (r < ep) { this.nodeOf[r] = n; this.localOf[r] = i; } }));
  }

  /** The rank of node b that receives rank s's tokens: the one with s's local index. */
  receiver(s: number, b: number): number { return this.groups[b]![this.localOf[s]!]!; }
}

/** Item counts a rank expects in each hierarchical phase, by sending rank (length ep). */
export interface HierCounts {
  /** Tokens remote sources send it as receiver (phase 1). */
  readonly cross: number[];
  /** Copies same-node receivers (itself included) send it as expert holder (phase 2). */
  readonly scatter: number[];
  /** Copies same-node sources send it directly. */
  readonly direct: number[];
}

/** One transfer of the layer: `items` records from rank a to rank b, `bytes` modelled. */
export interface Flow { readonly a: number; readonly b: number; readonly bytes: number }

/** Every rank's expected counts, and the dispatch and combine flows, of a hierarchical layer. */
export function hierRoutes(layer: MoeLayer, nodes: NodeMap): { counts: HierCounts[]; dispatch: Flow[]; combine: Flow[] } {
  const { shape, plan } = layer;
  const n = shape.ep, T = shape.tokensPerRank, K = shape.topK;
  const zeros = () => new Array<number>(n).fill(0);
  const counts: HierCounts[] = Array.from({ length: n }, () => ({ cross: zeros(), scatter: zeros(), direct: zeros() }));
  for (let s = 0; s < n; s++) {
    const a = nodes.nodeOf[s]!;
    for (let t = 0; t < T; t++) {
      const toNodes = new Set<number>();
      for (let k = 0; k < K; k++) {
        const dst = plan.copies[(s * T + t) * K + k]!.dstRank;
        if (dst < 0) continue;
        const b = nodes.nodeOf[dst]!;
        if (b === a) { counts[dst]!.direct[s]! += 1; continue; }
        toNodes.add(b);
        counts[dst]!.scatter[nodes.receiver(s, b)]! += 1;
      }
      for (const b of toNodes) counts[nodes.receiver(s, b)]!.cross[s]! += 1;
    }
  }
  const dispatch: Flow[] = [], combine: Flow[] = [];
  const add = (a: number, b: number, items: number) => {
    if (a === b || items === 0) return;
    dispatch.push({ a, b, bytes: items * shape.dispatchBytesPerToken });
    combine.push({ a: b, b: a, bytes: items * shape.combineBytesPerToken });
  };
  counts.forEach((c, me) => {
    for (let from = 0; from < n; from++) {
      add(from, me, c.cross[from]! + c.scatter[from]! + c.direct[from]!);
    }
  });
  return { counts, dispatch, combine };
}

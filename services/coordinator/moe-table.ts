import type { MoeRow } from "./moe-collect.js";

const COLUMNS = [
  ["ep", 4], ["tok/rank", 8], ["gating", 13], ["dispatch(us)", 12], ["bound(us)", 10], ["err(%)", 7], ["experts(us)", 11],
  ["combine(us)", 11], ["layer(us)", 10], ["disp GB/s/rk", 12], ["comb GB/s/rk", 12], ["max/mean", 8], ["dropped", 8], ["wall(ms)", 9], ["verified", 8],
] as const;

const us = (ns: number) => (ns / 1000).toFixed(2);

function cells(r: MoeRow): string[] {
  return [
    String(r.ep), String(r.tokensPerRank), r.gating, us(r.dispatchNs), us(r.dispatchBoundNs), r.dispatchErrorPct.toFixed(2), us(r.expertComputeNs),
    us(r.combineNs), us(r.layerNs), r.dispatchGBpsPerRank.toFixed(1), r.combineGBpsPerRank.toFixed(1), r.maxOverMeanLoad.toFixed(3),
    String(r.droppedTokens), r.wallMs.toFixed(0), r.verified ? "yes" : "NO",
  ];
}

/** The MoE layers of a run: phase times (virtual), the dispatch port bound beside them, load and drops. */
export function formatMoeTable(rows: readonly MoeRow[]): string[] {
  if (rows.length === 0) return [];
  const out = ["# moe-layer: times are virtual; bound = busiest link's serialization + α (docs/moe.md); max/mean = copies per rank",
    "# " + COLUMNS.map(([name, w]) => name.padStart(w)).join(" ")];
  for (const r of rows) out.push("  " + cells(r).map((c, i) => c.padStart(COLUMNS[i]![1])).join(" "));
  for (const r of rows) {
    const hot = r.hottestLinks.map((l) => `${l.link} ${(l.bytes / 1e6).toFixed(2)} MB`).join(", ");
    const drops = Object.entries(r.droppedPerExpert).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([e, c]) => `e${e}:${c}`).join(" ");
    out.push(`#   ep ${r.ep}: ${r.experts} experts top-${r.topK}, capacity ${r.capacity ?? "unlimited"}, ${r.replicaCopies} replica copies, ` +
      `expert max/mean ${r.expertMaxOverMeanLoad.toFixed(3)}; hottest links ${hot || "none"}${drops ? `; most dropped ${drops}` : ""}`);
  }
  return out;
}

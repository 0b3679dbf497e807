import type { FaultRow } from "./faults.js";

/** `step 2`, `op 1, 40000 ns in`, `step 3 at "EP dispatch"`, `wall 1500 ms`, `virtual 250000000 ns`. */
export function whenText(at: FaultRow["at"]): string {
  if ("wallMs" in at) return `wall ${at.wallMs} ms`;
  if ("virtualNs" in at) return `virtual ${at.virtualNs} ns`;
  const base = "step" in at ? `step ${at.step}` : "op" in at ? `op ${at.op}` : `${at.collective} ${at.index}`;
  return base + (at.afterNs !== undefined ? `, ${at.afterNs} ns in` : "") + (at.phase !== undefined ? ` at "${at.phase}"` : "");
}

const when = (r: FaultRow): string => whenText(r.at) +
  (r.duration ? ` for ${"steps" in r.duration ? `${r.duration.steps} step(s)` : `${r.duration.ops} op(s)`}` : "");

function params(r: FaultRow): string {
  const p = r.params;
  const parts = [
    p.bandwidthFactor !== undefined && p.bandwidthFactor !== 1 ? `bandwidth ×${p.bandwidthFactor}` : "",
    p.latencyNs ? `+${p.latencyNs} ns` : "",
    p.factor !== undefined ? `compute ×${p.factor}` : "",
    p.lossPct ? `${p.lossPct}% lost` : "",
    p.corruptPct ? `${p.corruptPct}% corrupted` : "",
    p.retryNs !== undefined ? `retry ${p.retryNs} ns` : "",
    p.periodNs !== undefined ? `down ${Math.round(p.duty! * 1e6) / 1e4}% of ${p.periodNs} ns${p.phaseNs ? ` from +${p.phaseNs} ns` : ""}` : "",
    p.pct !== undefined ? `${p.pct}% of data messages` : "",
  ].filter(Boolean);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** One summary line per fault under the table: what, where, when, what became of it, and what it cost. */
export function formatFaultLines(faults: readonly FaultRow[] | undefined): string[] {
  return (faults ?? []).map((r) => {
    const head = `# fault ${r.index}: ${r.kind} ${r.target}${params(r)} at ${when(r)}`;
    if (!r.injectedAt) return `${head} · ${r.recovery}`;
    const lost = r.lostVirtualNs === null ? "lost: no fault-free prediction" : `lost ${(r.lostVirtualNs / 1000).toFixed(3)} us virtual`;
    return `${head} · injected at ${(r.injectedAt.virtualNs / 1000).toFixed(3)} us virtual, ${r.injectedAt.wallMs.toFixed(0)} ms wall, to ${r.actors} actor(s) · ${r.recovery} · ${lost}`;
  });
}

import type { Report } from "./report.js";

/** Lines under the fault lines: a resume from JetStream, and what recovery did and what it cost. */
export function formatRecoveryLine(rep: Report): string[] {
  const resumed = rep.resumedFrom ? [`# resumed from JetStream: steps 0 … ${rep.resumedFrom.step} were committed by an earlier coordinator (${rep.resumedFrom.wallMs.toFixed(0)} ms wall before it stopped)`] : [];
  return [...resumed, ...faultSummary(rep)];
}

function faultSummary(rep: Report): string[] {
  if (!rep.faults?.length) return [];
  const recovered = rep.faults.filter((f) => f.recoveredAt);
  const aborts = (rep.history ?? []).filter((e) => e.type === "abort").length;
  if (aborts === 0) return [`# recovery: nothing to recover (no attempt failed) · goodput ${rep.goodput ?? 1}`];
  const lost = rep.lostVirtualNs ?? (rep.steps ?? []).reduce((s, x) => s + (x.lostVirtualNs ?? 0), 0);
  const policy = (rep.scenario as { recovery?: { policy?: string } }).recovery?.policy ?? "restart";
  const mttr = rep.mttrMs === null || rep.mttrMs === undefined ? "none recovered" : `${rep.mttrMs.toFixed(1)} ms wall (${((rep.mttrVirtualNs ?? 0) / 1e9).toFixed(3)} s virtual)`;
  return [`# recovery (${policy}): ${aborts} attempt(s) aborted, ${recovered.length} fault(s) recovered · lost ${(lost / 1e9).toFixed(3)} s virtual · goodput ${rep.goodput} · MTTR ${mttr}`];
}

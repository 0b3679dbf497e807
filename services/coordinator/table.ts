import { REJECT_REASONS } from "../../shared/protocol/index.js";
import { formatSize } from "../../shared/units/index.js";
import type { ResultRow } from "./collect.js";
import { formatMoeTable } from "./moe-table.js";
import { formatTrainingTable } from "./training-table.js";
import { formatFaultLines } from "./fault-table.js";
import { formatRecoveryLine } from "./recovery-table.js";
import type { Report } from "./report.js";

const COLUMNS = [
  ["collective", 14], ["algorithm", 16], ["ranks", 6], ["size", 8], ["time(us)", 12], ["algbw(GB/s)", 12],
  ["busbw(GB/s)", 12], ["closed(us)", 12], ["err(%)", 8], ["wall(ms)", 9], ["verified", 8],
] as const;

function cells(r: ResultRow): string[] {
  return [
    r.collective, r.algorithm, String(r.ranks), formatSize(r.sizeBytes), (r.virtualTimeNs / 1000).toFixed(2),
    r.algbwGBps.toFixed(2), r.busbwGBps.toFixed(2), (r.closedFormNs / 1000).toFixed(2), r.errorPct.toFixed(2),
    r.wallMs.toFixed(0), r.verified ? "yes" : "NO",
  ];
}

/** An NCCL-tests-style table: virtual time and bandwidths, the closed form beside them, wall time apart. */
export function formatTable(rep: Report): string {
  const t = rep.topology;
  const head = [
    `# supernode ${rep.engine} engine · ${t.preset} · ${t.npus} ${t.rankUnit === "die" ? "dies" : "NPUs"} on ${t.nodes} nodes · ` +
    `${t.switches} ${t.switchGranularity} switches · ${t.actorCount} actors · ${t.peakPflopsBf16} PF BF16 peak · ${t.injectionGBpsPerNpu} GB/s per NPU`,
    `# scenario ${rep.scenarioHash.slice(0, 12)} · times are virtual (modelled hardware); wall(ms) is this machine`,
  ];
  const rows = rep.results.length === 0 ? [] : ["# " + COLUMNS.map(([name, w]) => name.padStart(w)).join(" "),
    ...rep.results.map((r) => "  " + cells(r).map((c, i) => c.padStart(COLUMNS[i]![1])).join(" "))];
  rows.push(...formatMoeTable(rep.moe));
  rows.push(...formatTrainingTable(rep));
  rows.push(...formatFaultLines(rep.faults));
  rows.push(...formatRecoveryLine(rep));
  const failures = [
    ...rep.results.filter((r) => !r.verified && r.verifyError !== rep.stall).map((r) => `# FAILED ${r.collective} ${formatSize(r.sizeBytes)}: ${r.verifyError}`),
    ...rep.moe.filter((r) => !r.verified && r.verifyError !== rep.stall).map((r) => `# FAILED moe-layer ep ${r.ep}: ${r.verifyError}`),
  ];
  const stall = rep.stall ? [`# STALLED: ${rep.stall}`] : [];
  return [...head, ...rows, ...failures, ...stall, `# status ${rep.status} · ${rep.processes} process(es)${timingNote(rep)} · wall ${rep.wallMs.toFixed(0)} ms${rejectedNote(rep)}`].join("\n");
}

/** A run whose fabric refused messages says so, by reason: results stand, the traffic was not clean. */
function rejectedNote(rep: Report): string {
  const r = rep.rejected;
  if (r.total === 0) return "";
  const reasons = REJECT_REASONS.filter((k) => r[k] > 0).map((k) => `${k} ${r[k]}`).join(", ");
  return ` · REFUSED ${r.total} message(s): ${reasons} (report.json rejected.byActor)`;
}

/** NATS runs with deployment.timing: exact say so (their ports served in virtual order: docs/nats-engine.md §9.1). */
function timingNote(rep: Report): string {
  const dep = (rep.scenario as { deployment?: { timing?: string } } | undefined)?.deployment;
  return rep.engine === "nats" && dep?.timing === "exact" ? " · timing exact (conservative windows)" : "";
}

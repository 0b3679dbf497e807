import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Loaded } from "../../shared/config/index.js";
import { addRejectCounts, COORDINATOR, emptyRejectCounts, totalRejected, type RejectCounts } from "../../shared/protocol/index.js";
import { describeTopology, type TopologySummary } from "../../shared/topology/index.js";
import type { ResultRow } from "./collect.js";
import type { MoeRow } from "./moe-collect.js";
import type { TrainingReport, TrainingStepRow } from "./training-run.js";
import type { FaultRow } from "./faults.js";
import type { HistoryEvent } from "./history.js";

export const REPORT_SCHEMA_VERSION = 3;

/** Refused messages, by reason: in total, and per actor that refused any (the coordinator as `coord`). */
export interface RejectedSummary extends RejectCounts {
  readonly total: number;
  readonly byActor: Readonly<Record<string, RejectCounts & { readonly total: number }>>;
}

/** Sums per-actor counts (by device id; COORDINATOR for the coordinator) into the report's form. */
export function summarizeRejections(byId: ReadonlyMap<number, RejectCounts>, names: readonly string[]): RejectedSummary {
  const sum = emptyRejectCounts();
  const byActor: Record<string, RejectCounts & { total: number }> = {};
  for (const [id, c] of [...byId].sort((a, b) => a[0] - b[0])) {
    const total = totalRejected(c);
    if (total === 0) continue;
    addRejectCounts(sum, c);
    byActor[id === COORDINATOR ? "coord" : names[id] ?? String(id)] = { ...c, total };
  }
  return { ...sum, total: totalRejected(sum), byActor };
}

/** `report.json`: everything a run measured. Only fields named `wallMs` depend on the machine. */
export interface Report {
  readonly schemaVersion: number;
  readonly tool: "supernode";
  /**
   * ok: every result verified; recovered: so did they, after recovery retried a failed op (faults);
   * failed: some did not; stalled: the run could not go on (see `stall`).
   */
  readonly status: "ok" | "recovered" | "failed" | "stalled";
  readonly stall?: string;
  readonly engine: string;
  readonly scenarioHash: string;
  readonly scenario: unknown;
  /** With faults: the scenario as given (after --set), so `supernode check` can run it again without them. */
  readonly source?: unknown;
  readonly topology: TopologySummary;
  /** One row per collective op (size). */
  readonly results: readonly ResultRow[];
  /** One entry per MoE layer. */
  readonly moe: readonly MoeRow[];
  /** A training workload: the model, plan and totals (docs/training.md §3), and one row per step. */
  readonly training?: Omit<TrainingReport, "steps">;
  readonly steps?: readonly TrainingStepRow[];
  /** Declared faults: what was injected where and when, and what it cost (docs/chaos.md); absent without faults. */
  readonly faults?: readonly FaultRow[];
  /** With faults: useful virtual time / (useful + lost to failed attempts), 1 without failures. */
  readonly goodput?: number;
  /** With faults: mean wall ms from a process fault's injection to the start of the retried op (null: none recovered). */
  readonly mttrMs?: number | null;
  /** The same in virtual ns: the modelled detection + restart time. */
  readonly mttrVirtualNs?: number | null;
  /** With faults: virtual ns lost to failed attempts (detection + restart each), over every op of the run. */
  readonly lostVirtualNs?: number;
  /** With faults: every attempt, fault, abort, restart, epoch change and commit, in order (`supernode check` reads it). */
  readonly history?: readonly HistoryEvent[];
  /** A run a restarted coordinator resumed from JetStream: the last step committed before, and the wall ms spent until then. */
  readonly resumedFrom?: { readonly step: number; readonly wallMs: number };
  readonly processes: number;
  /** Messages the fabric and the coordinator refused during the run (replays, forgeries, floods…): none in a clean run. */
  readonly rejected: RejectedSummary;
  readonly wallMs: number;
}

export interface Rows {
  readonly results: ResultRow[];
  readonly moe: MoeRow[];
  training: TrainingReport | undefined;
  readonly faults?: readonly FaultRow[] | undefined;
  readonly history?: readonly HistoryEvent[];
  readonly losses?: readonly { readonly virtualNs: number; readonly wallMs: number }[];
  readonly resumedFrom?: { readonly step: number; readonly wallMs: number };
}

/** goodput, mttrMs and mttrVirtualNs of a run with faults. */
function recoveryFigures(rows: Rows): Pick<Report, "goodput" | "mttrMs" | "mttrVirtualNs" | "lostVirtualNs"> {
  const useful = rows.results.reduce((s, r) => s + r.virtualTimeNs, 0) + rows.moe.reduce((s, r) => s + r.layerNs, 0) + (rows.training?.totals.virtualTimeNs ?? 0);
  const lost = (rows.losses ?? []).reduce((s, l) => s + l.virtualNs, 0);
  const recovered = (rows.faults ?? []).filter((f) => f.recoveredAt && f.injectedAt);
  const mean = (xs: number[]) => (xs.length ? Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10 : null);
  return {
    goodput: useful + lost > 0 ? Math.round((useful / (useful + lost)) * 1e6) / 1e6 : 1,
    mttrMs: mean(recovered.map((f) => f.recoveredAt!.wallMs - f.injectedAt!.wallMs)),
    mttrVirtualNs: mean(recovered.map((f) => f.recoveredAt!.virtualNs - f.injectedAt!.virtualNs)),
    lostVirtualNs: lost,
  };
}

export function buildReport(loaded: Loaded, engine: string, processes: number, rows: Rows, rejected: RejectedSummary, wallMs: number, stall?: string): Report {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: "supernode",
    status: stall ? "stalled" : ![...rows.results, ...rows.moe].every((r) => r.verified) || !(rows.training?.totals.verified ?? true) ? "failed" : rows.losses?.length ? "recovered" : "ok",
    ...(stall ? { stall } : {}),
    engine,
    scenarioHash: loaded.hash,
    scenario: loaded.resolved,
    ...(rows.faults ? { source: loaded.raw } : {}),
    topology: describeTopology(loaded.topology),
    results: rows.results,
    moe: rows.moe,
    ...(rows.training ? { training: withoutSteps(rows.training), steps: rows.training.steps } : {}),
    ...(rows.faults ? { faults: rows.faults, ...recoveryFigures(rows) } : {}),
    ...(rows.history ? { history: rows.history } : {}),
    ...(rows.resumedFrom ? { resumedFrom: rows.resumedFrom } : {}),
    processes,
    rejected,
    wallMs: Math.round(wallMs * 10) / 10,
  };
}

function withoutSteps(t: TrainingReport): Omit<TrainingReport, "steps"> {
  const { steps: _s, ...rest } = t;
  return rest;
}

/** Writes DIR/report.json; returns its path. */
export function writeReport(dir: string, r: Report): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "report.json");
  writeFileSync(path, JSON.stringify(r, null, 2) + "\n");
  return path;
}

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Loaded } from "../../shared/config/index.js";
import { describeTopology, type TopologySummary } from "../../shared/topology/index.js";
import type { ResultRow } from "./collect.js";
import type { MoeRow } from "./moe-collect.js";

export const REPORT_SCHEMA_VERSION = 2;

/** `report.json`: everything a run measured. Only fields named `wallMs` depend on the machine. */
export interface Report {
  readonly schemaVersion: number;
  readonly tool: "supernode";
  /** ok: every result verified; failed: some did not; stalled: the watchdog ended the run (see `stall`). */
  readonly status: "ok" | "failed" | "stalled";
  readonly stall?: string;
  readonly engine: string;
  readonly scenarioHash: string;
  readonly scenario: unknown;
  readonly topology: TopologySummary;
  /** One row per collective op (size). */
  readonly results: readonly ResultRow[];
  /** One entry per MoE layer. */
  readonly moe: readonly MoeRow[];
  readonly processes: number;
  readonly wallMs: number;
}

export interface Rows {
  readonly results: readonly ResultRow[];
  readonly moe: readonly MoeRow[];
}

export function buildReport(loaded: Loaded, engine: string, processes: number, rows: Rows, wallMs: number, stall?: string): Report {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: "supernode",
    status: stall ? "stalled" : [...rows.results, ...rows.moe].every((r) => r.verified) ? "ok" : "failed",
    ...(stall ? { stall } : {}),
    engine,
    scenarioHash: loaded.hash,
    scenario: loaded.resolved,
    topology: describeTopology(loaded.topology),
    results: rows.results,
    moe: rows.moe,
    processes,
    wallMs: Math.round(wallMs * 10) / 10,
  };
}

/** Writes DIR/report.json; returns its path. */
export function writeReport(dir: string, r: Report): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "report.json");
  writeFileSync(path, JSON.stringify(r, null, 2) + "\n");
  return path;
}

import type { Report } from "../coordinator/index.js";
import type { TopologySummary } from "../../shared/topology/index.js";

/** What a preset brings, from its topology: the left half of a compare row. */
export interface Hardware {
  readonly accelerators: number;
  /** Dense BF16 peak of all accelerators, PFLOPS (the report's topology.peakPflopsBf16). */
  readonly peakPflopsBf16: number;
  /** HBM of all accelerators, TB (10^12 bytes). */
  readonly hbmTB: number;
  /** Scale-up (injection) bandwidth of one accelerator, GB/s, one direction. */
  readonly scaleUpGBpsPerAccelerator: number;
}

export function hardwareOf(t: TopologySummary, hbmGBPerAccelerator: number): Hardware {
  return { accelerators: t.npus, peakPflopsBf16: t.peakPflopsBf16, hbmTB: (hbmGBPerAccelerator * t.npus) / 1000, scaleUpGBpsPerAccelerator: t.injectionGBpsPerNpu };
}

/** Where a step's time went (means over the steps, ms): these add up to the step time. */
export interface Breakdown {
  readonly compute: number;
  readonly tp: number;
  readonly ep: number;
  readonly dp: number;
  readonly idle: number;
}

export const BREAKDOWN_KINDS = ["compute", "tp", "ep", "dp", "idle"] as const;

/** What one run measured: means over its steps, virtual time. */
export interface RunFigures {
  readonly stepMs: number;
  readonly tokensPerSec: number;
  readonly tokensPerSecPerAccelerator: number;
  readonly mfuPct: number;
  /** TP + EP + DP communication (overlapped or not) over the step time. */
  readonly commSharePct: number;
  /** Communication the main stream waited for. */
  readonly exposedCommMs: number;
  /** compute, exposed TP, exposed EP, exposed DP (its tail and ZeRO-1's gather), idle. */
  readonly breakdownMs: Breakdown;
}

/** One row of the table: a preset's hardware and, if its run went ahead, what it measured; else why not. */
export interface CompareRow extends Hardware, Partial<RunFigures> {
  readonly preset: string;
  readonly status: Report["status"] | "not run";
  readonly error?: string;
}

const MS = 1e6;

/** The figures of a training run, from its report alone (undefined when no step finished). */
export function runFigures(rep: Report): RunFigures | undefined {
  const t = rep.training, steps = rep.steps ?? [];
  if (!t || steps.length === 0) return undefined;
  const sum = (f: (s: (typeof steps)[number]) => number) => steps.reduce((acc, s) => acc + f(s), 0);
  const totalNs = sum((s) => s.virtualTimeNs), meanMs = (f: (s: (typeof steps)[number]) => number) => sum(f) / steps.length / MS;
  const stepSec = totalNs / steps.length / 1e9, n = rep.topology.npus;
  const tokensPerSec = t.tokensPerStep / stepSec;
  const tp = meanMs((s) => s.commNs.tp), ep = meanMs((s) => s.commNs.ep), exposed = meanMs((s) => s.exposedCommNs);
  return {
    stepMs: totalNs / steps.length / MS,
    tokensPerSec,
    tokensPerSecPerAccelerator: tokensPerSec / n,
    mfuPct: (100 * t.flopsPerStep) / stepSec / (rep.topology.peakPflopsBf16 * 1e15),
    commSharePct: (100 * sum((s) => s.commNs.tp + s.commNs.ep + s.commNs.dp)) / totalNs,
    exposedCommMs: exposed,
    breakdownMs: { compute: meanMs((s) => s.computeNs), tp, ep, dp: exposed - tp - ep, idle: meanMs((s) => s.idleNs) },
  };
}

const COLUMNS = [
  ["preset", 15], ["accel", 5], ["PF BF16", 8], ["HBM TB", 7], ["GB/s/acc", 8], ["step(ms)", 9], ["tokens/s", 10],
  ["tok/s/acc", 9], ["MFU(%)", 6], ["comm(%)", 7], ["exposed(ms)", 11], ["ok", 4],
] as const;

export const tableHeader = (): string => "# " + COLUMNS.map(([name, width], i) => name.padStart(width - (i === 0 ? 2 : 0))).join(" ");

/** A row as printed; a preset whose run did not go ahead shows its hardware and the reason. */
export function tableRow(r: CompareRow): string {
  const hw = [r.preset, String(r.accelerators), r.peakPflopsBf16.toFixed(1), r.hbmTB.toFixed(2), r.scaleUpGBpsPerAccelerator.toFixed(0)];
  const cells = (xs: string[]) => xs.map((c, i) => c.padStart(COLUMNS[i]![1])).join(" ");
  if (r.stepMs === undefined) return `  ${cells(hw)}  ${r.status}: ${r.error ?? "no step finished"}`;
  return "  " + cells([
    ...hw, r.stepMs.toFixed(1), r.tokensPerSec!.toFixed(0), r.tokensPerSecPerAccelerator!.toFixed(0), r.mfuPct!.toFixed(1),
    r.commSharePct!.toFixed(1), r.exposedCommMs!.toFixed(1), r.status === "ok" ? "yes" : "NO",
  ]);
}

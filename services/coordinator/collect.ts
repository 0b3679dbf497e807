import { busBwFactor, closedFormNs, Reference } from "../../shared/collectives/index.js";
import type { OpSpec } from "../../shared/protocol/index.js";
import type { OpOutcome } from "../../shared/runtime/index.js";
import type { Topology } from "../../shared/topology/index.js";

/** What every row of the report has: whether its results were verified, its span in virtual time, its cost. */
export interface CheckedRow {
  readonly verified: boolean;
  readonly verifyError?: string;
  readonly startNs: number;
  readonly endNs: number;
  /** Data messages delivered for the op (each message at each hop counts once). */
  readonly messages: number;
  readonly wallMs: number;
}

/** One row of the report: what NCCL-tests prints, plus the closed form and the virtual/wall split. */
export interface ResultRow extends CheckedRow {
  readonly collective: string;
  readonly algorithm: string;
  readonly ranks: number;
  readonly sizeBytes: number;
  /** Virtual time of the op: last rank's end − start. */
  readonly virtualTimeNs: number;
  readonly closedFormNs: number;
  /** (virtual − closed form) / closed form, in percent. */
  readonly errorPct: number;
  readonly algbwGBps: number;
  readonly busbwGBps: number;
  /** Data messages per wall second while the op ran (each message at each hop counts once). */
  readonly wallHopsPerSec: number;
}

export const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** Checks every rank's output against the independent reference and computes the row. */
export function summarize(spec: OpSpec, out: OpOutcome, t: Topology, startNs: number, wallMs: number): ResultRow {
  const n = spec.group.length;
  const ref = new Reference(spec);
  let problem: string | undefined = out.stalled ?? (out.failedActors.length ? `failed actors: ${out.failedActors.join(", ")}` : undefined);
  const seen = new Set<number>();
  let endNs = startNs;
  for (const d of out.done) {
    endNs = Math.max(endNs, d.endNs);
    if (d.error) problem ??= `rank ${d.rank}: ${d.error.message}`;
    else if (seen.has(d.rank)) problem ??= `rank ${d.rank} reported twice`;
    else problem ??= ref.check(d.rank, d.result);
    seen.add(d.rank);
  }
  if (seen.size !== n) problem ??= `${n - seen.size} ranks did not report`;
  const virtualTimeNs = endNs - startNs;
  const cf = closedFormNs(spec, t);
  const algbw = virtualTimeNs > 0 ? spec.sizeBytes / virtualTimeNs : 0; // bytes/ns = GB/s
  return {
    collective: spec.collective,
    algorithm: spec.algorithm,
    ranks: n,
    sizeBytes: spec.sizeBytes,
    virtualTimeNs,
    closedFormNs: round(cf, 1),
    errorPct: cf > 0 ? round(((virtualTimeNs - cf) / cf) * 100, 3) : 0,
    algbwGBps: round(algbw, 3),
    busbwGBps: round(algbw * busBwFactor(spec.collective, n), 3),
    verified: problem === undefined,
    ...(problem ? { verifyError: problem } : {}),
    startNs,
    endNs,
    messages: out.messages,
    wallMs: round(wallMs, 1),
    wallHopsPerSec: Math.round(out.messages / ((out.activeWallMs ?? wallMs) / 1000)),
  };
}

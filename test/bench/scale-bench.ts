// `npm run bench -- scale`: the sim engine on CloudMatrix-like two-tier fabrics beyond 384 NPUs
// (the cloudmatrix384 preset with more nodes; docs/fabric-model.md, "Engine cost"), each case in its
// own process. Rows that would blow the section's time budget are skipped with the arithmetic.
import { freemem } from "node:os";
import { collective, runCase, type CaseResult } from "./run-case.js";

const NPUS_PER_NODE = 8;
/** 384, 1,024 and 8,192 NPUs. */
export const SCALE_NODES = [48, 128, 1024] as const;
/** A case with more transfers than this is not run: the 8,192-NPU hierarchical all-reduce (16.9 M) is the largest that is. */
export const MAX_TRANSFERS = 20_000_000;
/**
 * Node's default heap limit here (about 4 GiB) is below what the 8,192-NPU case needs, and a case
 * that dies of it measures nothing: the limit is raised, and peak RSS says what was used.
 */
const SCALE_FLAGS = ["--max-old-space-size=16384"] as const;
const CASE_TIMEOUT_MS = 60 * 60_000;
/** The 8,192-NPU case peaked at 3.9 GB (14 GB before issue 11's scaling work): it runs only with this much memory free. */
const LARGE_NPUS = 8192, LARGE_FREE_MB = 6 * 1024;

interface ScaleWorkload {
  readonly label: string;
  readonly collective: string;
  readonly algorithm: string;
  readonly size: string;
  /** Transfers (sends) of one op over n ranks on `nodes` nodes, and the formula, for skip reasons. */
  readonly transfers: (n: number, nodes: number) => number;
  readonly formula: string;
}

export const SCALE_WORKLOADS: readonly ScaleWorkload[] = [
  { label: "ring all-reduce 1GiB", collective: "all-reduce", algorithm: "ring", size: "1GiB", transfers: (n) => 2 * (n - 1) * n, formula: "2(n−1)·n" },
  {
    label: "hierarchical all-reduce 1GiB", collective: "all-reduce", algorithm: "hierarchical", size: "1GiB",
    transfers: (n, nodes) => n * (2 * (NPUS_PER_NODE - 1) + 2 * (nodes - 1)), formula: "n·(2·7 + 2(nodes−1))",
  },
  {
    label: "hierarchical-hd all-reduce 1GiB", collective: "all-reduce", algorithm: "hierarchical-hd", size: "1GiB",
    transfers: (n, nodes) => n * (2 * (NPUS_PER_NODE - 1) + 2 * Math.floor(Math.log2(nodes))) + 2 * NPUS_PER_NODE * (nodes - 2 ** Math.floor(Math.log2(nodes))),
    formula: "n·(2·7 + 2·⌊log2 nodes⌋) + the fold's 2·8·(nodes − 2^⌊log2 nodes⌋)",
  },
  { label: "direct all-to-all 64MiB", collective: "all-to-all", algorithm: "direct", size: "64MiB", transfers: (n) => n * (n - 1), formula: "n(n−1)" },
];

export interface ScaleRow {
  readonly npus: number;
  readonly nodes: number;
  readonly workload: string;
  readonly result?: CaseResult;
  readonly skipped?: string;
}

const fmtM = (x: number) => `${(x / 1e6).toFixed(1)} M`;

/** Why a case is not run, from the same workload's largest run row (its messages per transfer and messages/s). */
function skipReason(w: ScaleWorkload, n: number, nodes: number, done: readonly ScaleRow[]): string | undefined {
  const transfers = w.transfers(n, nodes);
  const freeMB = freemem() / 2 ** 20;
  if (transfers <= MAX_TRANSFERS && n >= LARGE_NPUS && freeMB < LARGE_FREE_MB) {
    return `not run: needs about ${LARGE_FREE_MB / 1024} GB of memory, ${(freeMB / 1024).toFixed(1)} GB free`;
  }
  if (transfers <= MAX_TRANSFERS) return undefined;
  const ref = done.findLast((r) => r.workload === w.label && r.result);
  let estimate = "";
  if (ref?.result) {
    const perTransfer = ref.result.messages / w.transfers(ref.npus, ref.nodes);
    const messages = transfers * perTransfer, rate = ref.result.messages / (ref.result.wallMs / 1000);
    estimate = `; at the ${ref.npus}-NPU row's ${perTransfer.toFixed(2)} messages per transfer and ${Math.round(rate)} messages/s: ~${fmtM(messages)} messages, ~${Math.round(messages / rate / 60)} min`;
  }
  return `not run: ${w.formula} = ${fmtM(transfers)} transfers, over this section's ${fmtM(MAX_TRANSFERS)} per case${estimate}`;
}

/** Runs every (NPU count, workload) that fits, smallest fabric first, logging progress. */
export async function runScale(log: (line: string) => void, signal?: AbortSignal): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const nodes of SCALE_NODES) {
    const npus = nodes * NPUS_PER_NODE;
    for (const w of SCALE_WORKLOADS) {
      const skipped = skipReason(w, npus, nodes, rows);
      if (skipped) { rows.push({ npus, nodes, workload: w.label, skipped }); continue; }
      log(`scale: ${npus} NPUs · ${w.label} …`);
      const raw = collective({ preset: "cloudmatrix384", nodes, switches: "aggregated" }, w.collective, w.algorithm, [w.size]);
      try {
        const { result } = await runCase(raw, { extraFlags: SCALE_FLAGS, timeoutMs: CASE_TIMEOUT_MS, ...(signal ? { signal } : {}) });
        rows.push({ npus, nodes, workload: w.label, result });
        log(`scale: ${npus} NPUs · ${w.label}: ${(result.wallMs / 1000).toFixed(1)} s, ${result.messages} messages, ${result.maxRssMB.toFixed(0)} MB`);
      } catch (err) {
        if (signal?.aborted) throw err;
        rows.push({ npus, nodes, workload: w.label, skipped: `failed: ${(err as Error).message.split("\n")[0]}` });
      }
    }
  }
  return rows;
}

/**
 * Issue 11's target, an 8,192-NPU hierarchical all-reduce in ≤ 60 s and ≤ 8 GB, checked on both
 * inter-node phases: the ring (2(M−1) steps over M = 1,024 nodes) and halving-doubling (2·log2 M).
 */
const TARGETS = ["hierarchical all-reduce 1GiB", "hierarchical-hd all-reduce 1GiB"].map((workload) => ({ npus: 8192, workload, wallS: 60, rssMB: 8 * 1024 }));

export function printScale(rows: readonly ScaleRow[]): void {
  console.log("## Scale: cloudmatrix384 preset with more nodes (8 NPUs each), aggregated switches, sim engine, each case its own process");
  console.log("| NPUs (nodes × 8) | workload | actors | wall s | messages | messages/s | peak RSS MB | virtual µs | verified |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const name = `${r.npus} (${r.nodes} × 8)`;
    if (!r.result) { console.log(`| ${name} | ${r.workload} | | | | | | | ${r.skipped} |`); continue; }
    const x = r.result, ok = x.status === "ok" && x.results.every((v) => v.verified);
    console.log(`| ${name} | ${r.workload} | ${x.actors} | ${(x.wallMs / 1000).toFixed(2)} | ${x.messages} | ${Math.round(x.messages / (x.wallMs / 1000))} | ${x.maxRssMB.toFixed(0)} | ${x.results.map((v) => v.virtualUs.toFixed(1)).join(", ")} | ${ok ? "yes" : "NO"} |`);
  }
  for (const target of TARGETS) {
    const t = rows.find((r) => r.npus === target.npus && r.workload === target.workload)?.result;
    const what = `Target (${target.npus} NPUs, ${target.workload}: ≤ ${target.wallS} s, ≤ ${target.rssMB / 1024} GB)`;
    if (!t) { console.log(`${what}: not measured.`); continue; }
    const wallS = t.wallMs / 1000, met = wallS <= target.wallS && t.maxRssMB <= target.rssMB;
    console.log(`${what}: measured ${wallS.toFixed(1)} s and ${(t.maxRssMB / 1024).toFixed(2)} GB: ${met ? "met" : "NOT met"}.`);
  }
}

// `npm run bench -- --baseline <rev> [--repeat N] [sim] [moe]`: every sim case on another revision and
// on this tree, alternately, N times each; min-of-N wall and CPU time side by side, and whether the
// virtual times agree. On a shared, noisy machine only figures taken this way compare.
import { BaselineTree } from "./baseline-tree.js";
import { runCase, type CaseResult, type CaseRun } from "./run-case.js";

export const DEFAULT_REPEAT = 3;
/** One case may take this long on either side before the comparison gives up. */
const CASE_TIMEOUT_MS = 15 * 60_000;

type Log = (line: string) => void;

/** Both sides of one case: every run, in the order they ran. */
export interface Comparison {
  readonly name: string;
  readonly baseline: readonly CaseRun[];
  readonly current: readonly CaseRun[];
}

/**
 * Runs each case `repeat` times on each side, alternating, in ABBA order (round i runs the baseline
 * first when i is even, the current tree first when odd), so a drift of the machine's load within a
 * round falls on both sides alike. Every run goes through measure.js, which reports the whole
 * process's CPU even for a baseline whose case.js does not.
 */
export async function compare(tree: BaselineTree, cases: readonly (readonly [string, unknown])[], repeat: number, signal: AbortSignal, log: Log): Promise<Comparison[]> {
  const out: Comparison[] = [];
  for (const [ci, [name, raw]] of cases.entries()) {
    const baseline: CaseRun[] = [], current: CaseRun[] = [];
    for (let i = 0; i < repeat; i++) {
      const order = i % 2 === 0 ? (["baseline", "current"] as const) : (["current", "baseline"] as const);
      for (const side of order) {
        const run = await runCase(raw, { script: side === "baseline" ? tree.caseScript : undefined, measure: true, signal, timeoutMs: CASE_TIMEOUT_MS });
        (side === "baseline" ? baseline : current).push(run);
        log(`[${ci + 1}/${cases.length}] ${name} · round ${i + 1}/${repeat} · ${side}: ${(run.result.wallMs / 1000).toFixed(2)} s`);
      }
    }
    out.push({ name, baseline, current });
  }
  return out;
}

/** The figures a case's virtual behaviour is judged by: every op's virtual time, every MoE phase. */
function virtualFigures(r: CaseResult): number[] {
  return [...r.results.map((x) => x.virtualUs), ...r.moe.flatMap((m) => [m.dispatchUs, m.combineUs, m.layerUs])];
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** `same`, or each figure that differs as `baseline → current µs (Δ ns)`; also flags runs of one side that disagree. */
export function virtualVerdict(c: Comparison): string {
  const b = virtualFigures(c.baseline[0]!.result), k = virtualFigures(c.current[0]!.result);
  const notes: string[] = [];
  for (const [side, runs] of [["baseline", c.baseline], ["current", c.current]] as const) {
    const first = virtualFigures(runs[0]!.result);
    if (runs.some((r) => !same(virtualFigures(r.result), first))) notes.push(`${side} runs disagree with each other`);
    if (runs.some((r) => r.result.status !== "ok" || !r.result.results.every((x) => x.verified) || !r.result.moe.every((x) => x.verified))) notes.push(`${side} NOT verified`);
  }
  let verdict: string;
  if (same(b, k)) verdict = "same";
  else if (b.length !== k.length) verdict = `differ: ${b.length} figures vs ${k.length}`;
  else {
    verdict = b.map((x, i) => (x === k[i] ? undefined : `${x.toFixed(3)} → ${k[i]!.toFixed(3)} µs (${((k[i]! - x) * 1000 >= 0 ? "+" : "")}${((k[i]! - x) * 1000).toFixed(3)} ns)`))
      .filter((s) => s !== undefined).join("; ");
  }
  return [verdict, ...notes].join("; ");
}

/** CPU of a run: case.js's own figure (same span as its wall time) when both sides print it, else measure.js's whole-process figure. */
function cpuOf(run: CaseRun, caseCpu: boolean): number {
  return caseCpu ? run.result.cpuMs! : run.measure!.cpuMs;
}

/** Prints the comparison as a markdown table, with a note saying how CPU was measured and any message-count change. */
export function printComparison(rows: readonly Comparison[], rev: string, sha: string, repeat: number): void {
  const caseCpu = rows.every((c) => [...c.baseline, ...c.current].every((r) => r.result.cpuMs !== undefined));
  const min = (xs: readonly number[]) => Math.min(...xs);
  console.log(`## Side by side: baseline ${rev} (${sha.slice(0, 12)}) vs this tree, each case ${repeat}× per side, alternating (ABBA)`);
  console.log(`| case | baseline wall ms (min of ${repeat}) | current wall ms | ratio | baseline CPU ms | current CPU ms | ratio | virtual times |`);
  console.log("|---|---|---|---|---|---|---|---|");
  const notes: string[] = [];
  for (const c of rows) {
    const bw = min(c.baseline.map((r) => r.result.wallMs)), cw = min(c.current.map((r) => r.result.wallMs));
    const bc = min(c.baseline.map((r) => cpuOf(r, caseCpu))), cc = min(c.current.map((r) => cpuOf(r, caseCpu)));
    console.log(`| ${c.name} | ${bw.toFixed(0)} | ${cw.toFixed(0)} | ${(cw / bw).toFixed(2)} | ${bc.toFixed(0)} | ${cc.toFixed(0)} | ${(cc / bc).toFixed(2)} | ${virtualVerdict(c)} |`);
    const bm = c.baseline[0]!.result.messages, cm = c.current[0]!.result.messages;
    if (bm !== cm) notes.push(`${c.name}: ${bm} messages on the baseline, ${cm} now (${(((cm - bm) / bm) * 100).toFixed(1)}%)`);
  }
  console.log(caseCpu
    ? "CPU: user + system of the case process over the span of its wall time (case.js, process.cpuUsage), min of N."
    : "CPU: user + system of the whole case process, Node start-up and module loading included (measure.js, process.resourceUsage at exit), min of N: the baseline's case.js does not time its CPU, so neither side's own figure is used.");
  console.log("wall: the case's own figure (scenario load to report), min of N. ratio: current / baseline.");
  for (const n of notes) console.log(`messages: ${n}`);
}

/** Opens the baseline tree, compares, prints, and removes the tree whatever happens. */
export async function runBaseline(rev: string, cases: readonly (readonly [string, unknown])[], repeat: number, signal: AbortSignal, log: Log): Promise<void> {
  using tree = await BaselineTree.open(rev, signal, log);
  const rows = await compare(tree, cases, repeat, signal, log);
  printComparison(rows, rev, tree.sha, repeat);
}

// Runs one bench case (case.ts) in a child process and parses its JSON line; the sim cases of
// `npm run bench -- sim`, shared with the side-by-side comparison (baseline.ts).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What case.ts prints. `cpuMs` is missing in revisions before it was added. */
export interface CaseResult {
  status: string; actors: number; wallMs: number; cpuMs?: number; messages: number; maxRssMB: number;
  results: { size: number; virtualUs: number; errorPct: number; verified: boolean }[];
  moe: { ep: number; dispatchUs: number; combineUs: number; layerUs: number; errorPct: number; verified: boolean }[];
}

/** What measure.ts adds: the whole child process's CPU time (user + system) and peak RSS. */
export interface ProcessMeasure { cpuMs: number; maxRssMB: number }

export const CASE_SCRIPT = fileURLToPath(new URL("./case.js", import.meta.url));
export const MEASURE_SCRIPT = fileURLToPath(new URL("./measure.js", import.meta.url));
/** Node flags of every case process (as `npm run bench` and `npm run supernode` use). */
export const NODE_FLAGS = ["--max-semi-space-size=64"] as const;

export interface RunCaseOptions {
  /** The case script to run; default this tree's case.js. */
  readonly script?: string;
  /** Run it through measure.js, which adds {@link ProcessMeasure}. */
  readonly measure?: boolean;
  /** Node flags beyond {@link NODE_FLAGS}. */
  readonly extraFlags?: readonly string[];
  readonly timeoutMs?: number;
  /** Aborting kills the child. */
  readonly signal?: AbortSignal;
}

export interface CaseRun { readonly result: CaseResult; readonly measure?: ProcessMeasure }

/** Runs `raw` (a scenario object) in its own process; rejects if the child fails or prints no result. */
export async function runCase(raw: unknown, opts: RunCaseOptions = {}): Promise<CaseRun> {
  const script = opts.script ?? CASE_SCRIPT;
  const args = [...NODE_FLAGS, ...(opts.extraFlags ?? []), ...(opts.measure ? [MEASURE_SCRIPT] : []), script, JSON.stringify(raw)];
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(process.execPath, args, { encoding: "utf8", maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 0, signal: opts.signal },
      (err, out) => {
        if (!err) resolve(out);
        else if (opts.signal?.aborted) reject(opts.signal.reason);
        else reject(new Error(`${script} failed: ${err.signal ? `killed by ${err.signal}` : `exit code ${err.code}`}`, { cause: err }));
      });
    child.stderr?.pipe(process.stderr); // the case's warnings and errors, as they come
  });
  // JSON lines only: anything else a case prints (a revision's stray log line) is not ours to parse.
  const lines = stdout.split("\n").flatMap((l): Record<string, unknown>[] => {
    try { return l.startsWith("{") ? [JSON.parse(l) as Record<string, unknown>] : []; } catch { return []; }
  });
  const result = lines.findLast((l) => "status" in l) as CaseResult | undefined;
  if (!result) throw new Error(`${script} printed no result line`);
  const m = lines.findLast((l) => "measure" in l)?.measure as ProcessMeasure | undefined;
  return m ? { result, measure: m } : { result };
}

export const collective = (topology: object, collective: string, algorithm: string, sizes: string[]) =>
  ({ topology, workload: { kind: "collective", collective, algorithm, sizes, ranks: "all" }, engine: "sim", seed: 1 });

/** The sim-engine cases of `npm run bench -- sim`: [name, scenario]. */
export const SIM_CASES: readonly (readonly [string, unknown])[] = [
  ["sim · CM384 physical (832 actors) · ring all-reduce 1GiB", collective({ preset: "cloudmatrix384", switches: "physical" }, "all-reduce", "ring", ["1GiB"])],
  ["sim · CM384 aggregated (448 actors) · ring all-reduce 1GiB", collective({ preset: "cloudmatrix384", switches: "aggregated" }, "all-reduce", "ring", ["1GiB"])],
  ["sim · CM384 aggregated · hierarchical all-reduce 1GiB", collective({ preset: "cloudmatrix384", switches: "aggregated" }, "all-reduce", "hierarchical", ["1GiB"])],
  ["sim · CM384 aggregated · direct all-to-all 64MiB", collective({ preset: "cloudmatrix384", switches: "aggregated" }, "all-to-all", "direct", ["64MiB"])],
  ["sim · NVL72 physical (90 actors) · ring all-reduce 1GiB", collective({ preset: "nvl72", switches: "physical" }, "all-reduce", "ring", ["1GiB"])],
];

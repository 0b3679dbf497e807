import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { pino } from "pino";
import type { Loaded } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import type { Logger } from "../../shared/runtime/index.js";
import { runScenario, writeReport, type Progress, type Report } from "../coordinator/index.js";
import { makeEngine } from "./engines.js";
import type { Mapping } from "./compare-map.js";
import { loadSource, preparePreset, type Prepared, type Source, type SourceOptions } from "./compare-prepare.js";
import { hardwareOf, runFigures, tableHeader, tableRow, type CompareRow } from "./compare-rows.js";
import { renderCompareHtml } from "./compare-html.js";
import { createProgress } from "./progress.js";

export { COMPARE_DEFAULT_SCENARIO } from "./compare-prepare.js";

export interface CompareOptions extends SourceOptions {
  readonly presets: readonly string[];
  readonly engine: string;
  readonly out: string;
  readonly log: Logger;
  /** Wall-clock progress of each preset's run (stderr); none by default. */
  readonly progress?: Progress;
}

/** compare.json: what the table and the page show, with each preset's report summary beside it. */
export interface CompareResult {
  readonly tool: "supernode";
  readonly command: "compare";
  readonly engine: string;
  readonly scenario: { readonly name: string; readonly hash: string; readonly model: string; readonly seqLen: number; readonly microBatch: number; readonly note?: string };
  readonly mappings: readonly Mapping[];
  readonly rows: readonly CompareRow[];
  /** By preset: the run's status, topology (without the actor list), training summary and steps, and where its report.json is. */
  readonly reports: Readonly<Record<string, unknown>>;
}

function reportSummary(rep: Report, path: string): unknown {
  const { actors: _a, ...topology } = rep.topology;
  return { status: rep.status, ...(rep.stall ? { stall: rep.stall } : {}), engine: rep.engine, scenarioHash: rep.scenarioHash, topology, training: rep.training, steps: rep.steps, wallMs: rep.wallMs, report: path };
}

async function runPreset(p: Prepared & { loaded: Loaded }, o: CompareOptions): Promise<{ row: CompareRow; summary: unknown }> {
  await using engine = await makeEngine(p.loaded, o.log);
  const rep = await runScenario(p.loaded, engine, undefined, o.progress); // awaited inside the `using` scope, or the engine is disposed first
  writeReport(join(o.out, p.preset), rep);
  const failed = rep.steps?.find((s) => !s.verified)?.verifyError;
  const error = rep.stall ?? failed;
  const row: CompareRow = {
    preset: p.preset, ...hardwareOf(rep.topology, p.loaded.topology.endpoint.hbmGB), ...runFigures(rep), status: rep.status, ...(error ? { error } : {}),
  };
  return { row, summary: reportSummary(rep, join(p.preset, "report.json")) };
}

/** `seqLen 1024 · microBatch 1 · 2 steps · sim engine · …`: the run's terms after the model's name. */
function terms(src: Source, engine: string): string {
  const w = src.workload;
  return `seqLen ${w.seqLen} · microBatch ${w.microBatch} · ${w.steps} steps · ${engine} engine · times are virtual (means over the steps)`;
}

/**
 * Runs one training workload on each preset at full size, the plan mapped to it (compare-map.ts), and
 * writes DIR/<preset>/report.json, DIR/compare.json and DIR/compare.html. Every preset is mapped and
 * loaded before any runs; `print` gets the header, the mapping lines and each row as its run ends.
 */
export async function runCompare(o: CompareOptions, print: (line: string) => void): Promise<CompareResult> {
  if (o.presets.length === 0) throw new ScenarioError("--presets", "name at least one preset");
  const twice = o.presets.find((p, i) => o.presets.indexOf(p) !== i);
  if (twice) throw new ScenarioError("--presets", `${twice} is named twice`);
  const src = loadSource(o);
  const prepared = o.presets.map((p) => preparePreset(src, p, o.engine));
  print(`# supernode compare · ${src.workload.model.name} · ${terms(src, o.engine)}`);
  if (src.note) print(`# scenario: ${src.note}`);
  for (const p of prepared) print(`# map ${p.mapping.line}`);
  print(tableHeader());
  const rows: CompareRow[] = [], reports: Record<string, unknown> = {};
  for (const p of prepared) {
    if ("error" in p) {
      rows.push({ preset: p.preset, ...p.hardware, status: "not run", error: p.error });
      reports[p.preset] = { status: "not run", error: p.error };
    } else {
      const r = await runPreset(p, o);
      rows.push(r.row);
      reports[p.preset] = r.summary;
    }
    print(tableRow(rows[rows.length - 1]!));
  }
  const w = src.workload;
  const result: CompareResult = {
    tool: "supernode", command: "compare", engine: o.engine,
    scenario: { name: src.loaded.scenario.name, hash: src.loaded.hash, model: w.model.name, seqLen: w.seqLen, microBatch: w.microBatch, ...(src.note ? { note: src.note } : {}) },
    mappings: prepared.map((p) => p.mapping), rows, reports,
  };
  writeOutputs(o.out, result, terms(src, o.engine));
  return result;
}

function writeOutputs(dir: string, r: CompareResult, subtitle: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "compare.json"), JSON.stringify(r, null, 2) + "\n");
  const page = renderCompareHtml({
    title: `supernode compare · ${r.scenario.model} on ${r.rows.map((x) => x.preset).join(" vs ")}`, subtitle, mappings: r.mappings.map((m) => m.line), rows: r.rows,
    footer: `scenario ${r.scenario.name} · hash ${r.scenario.hash.slice(0, 12)} · reports: <preset>/report.json beside this page`,
  });
  writeFileSync(join(dir, "compare.html"), page);
}

interface CompareFlags { presets: string; engine: string; set: string[]; out: string; quiet?: boolean; logLevel: string }

export function registerCompareCommand(program: Command, setExit: (code: number) => void): void {
  program.command("compare")
    .description("run one training workload on each preset at full size, the plan mapped to it, and print a row per preset")
    .argument("[scenario]", "scenario YAML file with a kind: training workload (default: Llama 3 8B, DP over every accelerator)")
    .option("--presets <names>", "comma-separated presets, each at full size", "cloudmatrix384,nvl72")
    .option("--engine <name>", "sim (default: in-process, deterministic) or nats", "sim")
    .option("--set <key=value>", "override a field of the scenario before it is mapped (repeatable)", (v: string, acc: string[]) => [...acc, v], [])
    .option("--out <dir>", "directory for compare.json, compare.html and <preset>/report.json", "out/compare")
    .option("--quiet", "no progress on stderr")
    .option("--log-level <level>", "pino log level on stderr", "warn")
    .action(async (file: string | undefined, flags: CompareFlags) => {
      const log = pino({ level: flags.logLevel, base: { svc: "compare" } }, pino.destination(2));
      const presets = flags.presets.split(",").map((s) => s.trim()).filter(Boolean);
      const w = (s: string) => process.stdout.write(s + "\n");
      const r = await runCompare({ file, sets: flags.set, presets, engine: flags.engine, out: flags.out, log, progress: createProgress({ quiet: flags.quiet }) }, w);
      const ran = r.rows.filter((x) => x.status !== "not run");
      const ok = ran.length > 0 && ran.every((x) => x.status === "ok");
      w(`# ${ok ? "all runs verified" : ran.length ? "NOT all runs verified" : "no preset could run the plan"} · ${flags.out}/compare.json, ${flags.out}/compare.html, ${flags.out}/<preset>/report.json`);
      setExit(ok ? 0 : 1);
    });
}

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { pino } from "pino";
import { loadScenario, type Loaded } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { runScenario, writeReport, type MoeRow, type Report } from "../coordinator/index.js";
import { makeEngine } from "./engines.js";

interface SweepFlags { preset: string; ep: string; engine: string; set: string[]; out: string; json?: boolean; logLevel: string }

/** A moe-layer with the DeepSeek-V3 defaults (shared/config/moe-resolve.ts) when no scenario file is given. */
const BASE_MOE = { kind: "moe-layer", gating: { kind: "uniform" } };

/** One preset's sweep: the scenario with one moe-layer per valid EP degree; skipped degrees say why. */
function planSweep(file: string | undefined, preset: string, eps: readonly number[], flags: SweepFlags): { loaded?: Loaded; skipped: string[] } {
  // Loaded at EP 1 (valid for any expert count) only to apply the file, preset and --set; each point then sets its own.
  const sets = [...(file ? [] : [`workload=${JSON.stringify(BASE_MOE)}`]), ...flags.set, "workload.ep=1"];
  const base = loadScenario({ file, preset, engine: flags.engine, sets });
  const layer = base.raw as { workload: unknown };
  if (Array.isArray(layer.workload) || (layer.workload as { kind?: string }).kind !== "moe-layer") {
    throw new ScenarioError("workload", "sweep moe needs one moe-layer workload (or no scenario file)");
  }
  const skipped: string[] = [], workloads: unknown[] = [];
  for (const ep of eps) {
    const w = { ...(layer.workload as object), ep };
    try {
      loadScenario({ raw: { ...(base.raw as object), workload: w } });
      workloads.push(w);
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err;
      skipped.push(`# ${preset}: ep ${ep} skipped: ${err.message}`);
    }
  }
  if (workloads.length === 0) return { skipped };
  return { loaded: loadScenario({ raw: { ...(base.raw as object), workload: workloads } }), skipped };
}

const COLUMNS = [
  ["preset", 15], ["ep", 4], ["dispatch(us)", 12], ["combine(us)", 11], ["experts(us)", 11], ["layer(us)", 10],
  ["disp GB/s/rk", 12], ["comb GB/s/rk", 12], ["max/mean", 8], ["dropped", 8], ["bound err(%)", 12], ["verified", 8],
] as const;

function row(preset: string, r: MoeRow): string {
  const us = (ns: number) => (ns / 1000).toFixed(2);
  return "  " + [
    preset, String(r.ep), us(r.dispatchNs), us(r.combineNs), us(r.expertComputeNs), us(r.layerNs), r.dispatchGBpsPerRank.toFixed(1),
    r.combineGBpsPerRank.toFixed(1), r.maxOverMeanLoad.toFixed(3), String(r.droppedTokens), r.dispatchErrorPct.toFixed(2), r.verified ? "yes" : "NO",
  ].map((c, i) => c.padStart(COLUMNS[i]![1])).join(" ");
}

/** `supernode sweep moe`: one MoE layer per EP degree and preset, one row each. Exit 0 only if all verified. */
async function sweepMoe(file: string | undefined, flags: SweepFlags): Promise<number> {
  const log = pino({ level: flags.logLevel, base: { svc: "sweep" } }, pino.destination(2));
  const eps = flags.ep.split(",").map((s, i) => {
    const v = Number(s.trim());
    if (!Number.isInteger(v) || v < 1) throw new ScenarioError(`--ep[${i}]`, `a whole number ≥ 1, got "${s}"`);
    return v;
  });
  const presets = flags.preset.split(",").map((s) => s.trim());
  const plans = presets.map((p) => ({ preset: p, ...planSweep(file, p, eps, flags) })); // every preset checked before any runs
  const w = (s: string) => process.stdout.write(s + "\n");
  if (!flags.json) {
    w(`# supernode sweep moe · ${flags.engine} engine · times are virtual; bound err = dispatch vs the busiest-link bound (docs/moe.md)`);
    w("# " + COLUMNS.map(([name, width]) => name.padStart(width)).join(" "));
  }
  const reports: Record<string, Report> = {};
  let ok = true;
  for (const p of plans) {
    if (!flags.json) p.skipped.forEach(w);
    if (!p.loaded) continue;
    await using engine = await makeEngine(p.loaded, log);
    const rep = await runScenario(p.loaded, engine);
    reports[p.preset] = rep;
    writeReport(join(flags.out, p.preset), rep);
    ok &&= rep.status === "ok";
    if (!flags.json) for (const r of rep.moe) w(row(p.preset, r));
  }
  mkdirSync(flags.out, { recursive: true });
  const summary = Object.fromEntries(Object.entries(reports).map(([p, r]) => [p, { status: r.status, wallMs: r.wallMs, moe: r.moe }]));
  writeFileSync(join(flags.out, "sweep.json"), JSON.stringify(summary, null, 2) + "\n");
  if (flags.json) w(JSON.stringify(summary, null, 2));
  else w(`# ${ok ? "all verified" : "NOT all verified"} · reports: ${flags.out}/<preset>/report.json, ${flags.out}/sweep.json`);
  return ok ? 0 : 1;
}

export function registerSweepCommand(program: Command, setExit: (code: number) => void): void {
  const sweep = program.command("sweep").description("run one workload over a range of parameters and print a row per point");
  sweep.command("moe")
    .description("one MoE layer per EP degree on each preset (DeepSeek-V3 shape, uniform gating, unless a scenario says otherwise)")
    .argument("[scenario]", "scenario YAML file with one moe-layer workload (its topology is replaced by each preset)")
    .option("--preset <names>", "comma-separated presets, each at full size", "cloudmatrix384,nvl72")
    .option("--ep <list>", "comma-separated EP degrees; degrees a preset cannot take are skipped with the reason", "8,16,32,64,128,256")
    .option("--engine <name>", "sim (default: in-process, deterministic) or nats", "sim")
    .option("--set <key=value>", "override a scenario field, e.g. 'workload.gating={kind: zipf, exponent: 1.2}' (repeatable)", (v: string, acc: string[]) => [...acc, v], [])
    .option("--out <dir>", "directory for the reports", "out/sweep-moe")
    .option("--json", "print the sweep as JSON instead of the table")
    .option("--log-level <level>", "pino log level on stderr", "warn")
    .action(async (file: string | undefined, flags: SweepFlags) => { setExit(await sweepMoe(file, flags)); });
}

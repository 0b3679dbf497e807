import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { loadScenario } from "../../shared/config/index.js";
import { checkRun, runScenario, type Finding, type Report } from "../coordinator/index.js";
import { shrinksOf } from "../coordinator/shrink.js";
import { makeEngine } from "./engines.js";
import { pino } from "pino";

/**
 * The same scenario without its faults, on the sim engine: what the faulted run must equal. Its
 * recovery block stays (with no faults it does nothing, but policy spare lets a plan leave NPUs over).
 */
async function faultFree(r: Report): Promise<Report> {
  const { faults: _f, ...rest } = r.source as Record<string, unknown>;
  const loaded = loadScenario({ raw: { ...rest, engine: "sim" } });
  await using engine = await makeEngine(loaded, pino({ level: "warn" }, pino.destination(2)));
  // A run that shrank (recovery policy shrink) is compared with one that switches to its shrunk plans at the same steps.
  return await runScenario(loaded, engine, undefined, undefined, { shrinks: shrinksOf(r.history ?? []) }); // awaited here: the engine is disposed when this returns
}

export function formatFindings(findings: readonly Finding[]): string {
  const w = Math.max(...findings.map((f) => f.check.length));
  const lines = findings.map((f) => `${f.ok ? "ok  " : "FAIL"}  ${f.check.padEnd(w)}  ${f.detail}`);
  const bad = findings.filter((f) => !f.ok).length;
  return [...lines, `# ${bad ? `${bad} of ${findings.length} checks failed` : `all ${findings.length} checks hold`}`].join("\n");
}

/** `supernode check report.json`: the history checker over a saved run (docs/chaos.md §8). */
export function registerCheckCommand(program: Command, exit: (code: number) => void): void {
  program.command("check")
    .description("check a saved run's history: explicit status, each step committed once, aborted epochs fenced, faults detected and recovered, results verified, and (re-running the scenario without faults on the sim engine) the same parameters")
    .argument("<report>", "report.json of a run")
    .option("--no-rerun", "do not re-run the fault-free scenario (skips the parameter comparison)")
    .option("--json", "print the findings as JSON")
    .action(async (file: string, flags: { rerun: boolean; json?: boolean }) => {
      const r = JSON.parse(readFileSync(file, "utf8")) as Report;
      const reference = flags.rerun && r.source && r.faults?.length ? await faultFree(r) : undefined;
      const findings = checkRun(r, reference);
      process.stdout.write(flags.json ? JSON.stringify(findings, null, 2) + "\n" : formatFindings(findings) + "\n");
      exit(findings.every((f) => f.ok) ? 0 : 1);
    });
}

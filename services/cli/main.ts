#!/usr/bin/env node
import { Command } from "commander";
import { pino } from "pino";
import { loadScenario, type Loaded } from "../../shared/config/index.js";
import { ScenarioError, SupernodeError } from "../../shared/errors/index.js";
import type { Engine } from "../../shared/runtime/index.js";
import { ChaosPort, formatTable, KvCommitStore, NatsEngine, runScenario, writeReport } from "../coordinator/index.js";
import { makeEngine } from "./engines.js";
import { finishTrace, traceFor } from "./trace-out.js";
import { serve, withControlService } from "./serve.js";
import { registerComposeCommand } from "./compose-cmd.js";
import { registerSweepCommand } from "./sweep.js";
import { registerCompareCommand } from "./compare.js";
import { registerCheckCommand } from "./check-cmd.js";
import { registerChaosCommand } from "./chaos-cmd.js";
import { createProgress } from "./progress.js";

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_STALLED = 3;
const EXIT_INTERRUPTED = 130;

/** Ctrl-C or SIGTERM: everything was stopped on the way out (engine disposal). */
class Interrupted extends Error {
  constructor(readonly signal: string, readonly started: Started) { super(`interrupted by ${signal}`); }
}

/**
 * What this process started, for the line it prints when interrupted: never a nats-server it did not
 * start (`--nats`). `hosts` is unknown until the engine is up (a start cut short stops what it spawned).
 */
interface Started { hosts: number | undefined; embeddedServer: boolean; embeddedServers: number }

function startedFor(loaded: Loaded): Started {
  const nats = loaded.scenario.engine === "nats";
  return { hosts: nats && loaded.scenario.deployment.placement !== "external" ? undefined : 0, embeddedServer: nats && !loaded.scenario.deployment.nats, embeddedServers: loaded.scenario.deployment.natsServers };
}

function noteHosts(started: Started, engine: Engine): void {
  started.hosts = engine instanceof NatsEngine ? engine.hostPids.length : 0;
}

/** `26 actor processes and the embedded nats-server stopped`, naming only what this process started. */
function stoppedLine(s: Started): string {
  const hosts = s.hosts === undefined ? "the actor processes it started" : s.hosts ? `${s.hosts} actor process${s.hosts === 1 ? "" : "es"}` : "";
  const what = [hosts, s.embeddedServer ? (s.embeddedServers > 1 ? `the embedded ${s.embeddedServers}-server NATS cluster` : "the embedded nats-server") : ""].filter(Boolean);
  return what.length ? `; ${what.join(" and ")} stopped` : "";
}

interface RunFlags { preset?: string; engine?: string; nats?: string; placement?: string; set: string[]; out?: string; json?: boolean; quiet?: boolean; trace?: boolean; logLevel: string }

/** `--nats` and `--placement` are shorthands for `--set deployment.…`; explicit `--set`s come last and win. */
function withDeploymentFlags(flags: RunFlags): string[] {
  return [
    ...(flags.nats ? [`deployment.nats=${flags.nats}`] : []),
    ...(flags.placement ? [`deployment.placement=${flags.placement}`] : []),
    ...flags.set,
  ];
}

async function run(file: string | undefined, flags: RunFlags): Promise<number> {
  const log = pino({ level: flags.logLevel, base: { svc: "supernode" } }, pino.destination(2));
  const loaded = loadScenario({ file, sets: withDeploymentFlags(flags), preset: flags.preset, engine: flags.engine });
  const ac = new AbortController();
  const started = startedFor(loaded);
  const stop = (sig: string) => () => ac.abort(new Interrupted(sig, started));
  process.once("SIGINT", stop("SIGINT"));
  process.once("SIGTERM", stop("SIGTERM"));
  const trace = traceFor(loaded, flags.trace);
  await using engine = await makeEngine(loaded, log, ac.signal, trace);
  noteHosts(started, engine);
  // A named run on an external NATS server keeps its committed steps in JetStream: run the same command
  // again after the coordinator died and it resumes (docs/chaos.md §7).
  const dep = loaded.scenario.deployment;
  const store = engine instanceof NatsEngine && dep.run && dep.nats
    ? await KvCommitStore.open(engine.connection, dep.run).catch((err: Error) => { log.warn({ err: err.message }, "no committed state: this run cannot resume if its coordinator dies"); return undefined; })
    : undefined;
  const chaos = new ChaosPort();
  const report = await withControlService(engine, (why) => ac.abort(new Interrupted(why, started)), () => runScenario(loaded, engine, ac.signal, createProgress({ quiet: flags.quiet }), { store, chaos }), chaos);
  const path = writeReport(flags.out ?? loaded.scenario.outputs.dir, report);
  process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + "\n" : formatTable(report) + `\n# report: ${path}\n`);
  if (trace) (flags.json ? process.stderr : process.stdout).write(finishTrace(flags.out ?? loaded.scenario.outputs.dir, trace, loaded, report) + "\n");
  return report.status === "ok" || report.status === "recovered" ? 0 : report.status === "stalled" ? EXIT_STALLED : EXIT_FAILED;
}

const program = new Command("supernode")
  .description("Emulate AI supernodes (CloudMatrix384, NVL72) in virtual time, with real data.")
  .showHelpAfterError();

program.command("run")
  .description("run a scenario (default: ring all-reduce on a small CloudMatrix384) and print an NCCL-tests-style table")
  .argument("[scenario]", "scenario YAML file")
  .option("--preset <name>", "use this preset at full size (cloudmatrix384, nvl72) instead of the scenario's topology")
  .option("--engine <name>", "nats (actors as processes on NATS; the default) or sim (in-process, deterministic)")
  .option("--nats <urls>", "use this NATS server or cluster (comma-separated URLs) instead of a private nats-server")
  .option("--placement <mode>", "auto | per-actor | grouped (which actors share a host process; grouped: deployment.nodesPerHost nodes a process, auto about two processes per core)")
  .option("--set <key=value>", "override a scenario field by dotted path (repeatable)", (v: string, acc: string[]) => [...acc, v], [])
  .option("--out <dir>", "directory for report.json (default: the scenario's outputs.dir, else ./out)")
  .option("--json", "print report.json instead of the table")
  .option("--trace", "also write trace.json (Chrome trace-event JSON: Perfetto UI, chrome://tracing, speedscope) beside report.json; sim engine only; detail: --set outputs.trace.detail=steps|phases|flows|full")
  .option("--quiet", "no progress on stderr (a bar on a terminal, else a line every 10 s, for runs over 2 s)")
  .option("--log-level <level>", "pino log level on stderr", "warn")
  .action(async (file: string | undefined, flags: RunFlags) => {
    process.exitCode = await run(file, flags);
  });

program.command("coordinator")
  .description("start a supernode's actors (or await external ones) and serve runs over NATS until stopped")
  .argument("[scenario]", "scenario YAML file")
  .option("--preset <name>", "use this preset at full size")
  .option("--nats <urls>", "NATS server or cluster (comma-separated URLs); default: a private nats-server")
  .option("--placement <mode>", "auto | per-actor | grouped | external")
  .option("--set <key=value>", "override a scenario field (repeatable)", (v: string, acc: string[]) => [...acc, v], [])
  .option("--log-level <level>", "pino log level on stderr", "warn")
  .action(async (file: string | undefined, flags: RunFlags) => {
    const log = pino({ level: flags.logLevel, base: { svc: "coordinator" } }, pino.destination(2));
    const loaded = loadScenario({ file, sets: withDeploymentFlags(flags), preset: flags.preset, engine: "nats" });
    const ac = new AbortController();
    const started = startedFor(loaded);
    process.once("SIGINT", () => ac.abort(new Interrupted("SIGINT", started)));
    process.once("SIGTERM", () => ac.abort(new Interrupted("SIGTERM", started)));
    await using engine = await makeEngine(loaded, log, ac.signal);
    noteHosts(started, engine);
    await serve(loaded, engine, ac.signal, (why) => ac.abort(new Interrupted(why, started)), (s) => process.stdout.write(s + "\n"));
  });

registerComposeCommand(program);
registerSweepCommand(program, (code) => { process.exitCode = code; });
registerCompareCommand(program, (code) => { process.exitCode = code; });
registerCheckCommand(program, (code) => { process.exitCode = code; });
registerChaosCommand(program, (code) => { process.exitCode = code; });

/** How the process ends on an error: a line and an exit code for ours, a crash with its stack for the rest. */
function exitOn(err: unknown): void {
  if (err instanceof ScenarioError) {
    process.stderr.write(`supernode: scenario error: ${err.message}\n`);
    process.exitCode = EXIT_USAGE;
  } else if (err instanceof Interrupted) {
    process.stderr.write(`supernode: ${err.message}${stoppedLine(err.started)}\n`);
    process.exitCode = EXIT_INTERRUPTED;
  } else if (err instanceof SupernodeError) {
    process.stderr.write(`supernode: ${err.message}\n`);
    process.exitCode = EXIT_FAILED;
  } else {
    throw err;
  }
}

// No top-level await: the bundle is CommonJS, for V8's code cache (scripts/bundle.mjs).
program.parseAsync(process.argv).catch(exitOn);

import { readFileSync } from "node:fs";
import { loadScenario, type Loaded } from "../../shared/config/index.js";
import { silentLogger, type Engine } from "../../shared/runtime/index.js";
import { hostGroups, NatsEngine, runScenario, type Report } from "../../services/coordinator/index.js";
import { simEngine } from "../helpers/run.js";

/**
 * What the adversarial tests need from the project to run the emulator: scenarios, engines, host
 * pids. Only this file (and the test files' assertions on reports) touch project code; the clients
 * that spy, replay, forge and decode are test/adversarial/client/*, which import nothing of it.
 */

// Host processes inherit this: they log every refusal at warn (first per sender and reason, then every
// 1000th), hundreds of lines for a replay of a whole run. Set SUPERNODE_LOG_LEVEL=warn to see them.
process.env.SUPERNODE_LOG_LEVEL ??= "error";

/** The default scenario's fabric: 2 nodes × 4 NPUs, CloudMatrix384, aggregated switches (26 actors). */
export const SMALL_CM384 = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" } as const;

export const ringAllReduce = (...sizes: string[]) => ({ kind: "collective", collective: "all-reduce", algorithm: "ring", ranks: "all", sizes });

/** A scenario for the NATS engine on `url` under a fixed run id (the clients subscribe before it starts). */
export function natsScenario(workload: unknown, url: string, run: string, deployment: Record<string, unknown> = {}, seed = 1): Loaded {
  return loadScenario({ raw: { topology: SMALL_CM384, workload, seed, engine: "nats", deployment: { nats: url, run, placement: "grouped", ...deployment } } });
}

/** The same scenario on the sim engine (in this process): the oracle for uncontended virtual times. */
export function simScenario(workload: unknown, seed = 1): Loaded {
  return loadScenario({ raw: { topology: SMALL_CM384, workload, seed, engine: "sim" } });
}

/** Runs `loaded` on a fresh NATS engine; `during` runs beside the scenario (it may await events of the run). */
export async function runNats(loaded: Loaded, during?: (engine: NatsEngine) => Promise<void>): Promise<Report> {
  await using engine = await NatsEngine.start(loaded, silentLogger);
  const [report] = await Promise.all([runScenario(loaded, engine), during?.(engine)]);
  return report;
}

/** Runs on one engine: the scenario, then `between` (the actors idle), then the scenario again (later op ids, later start). */
export async function runTwice(loaded: Loaded, engine: Engine, between: () => Promise<void>): Promise<[Report, Report]> {
  const first = await runScenario(loaded, engine);
  await between();
  return [first, await runScenario(loaded, engine)];
}

export async function simTwice(loaded: Loaded): Promise<[Report, Report]> {
  await using engine = simEngine(loaded);
  return await runTwice(loaded, engine, async () => {});
}

/** Every virtual time and verification of a report: what a replay or a forgery must not change. */
export function virtualTimes(r: Report) {
  return {
    results: r.results.map((x) => ({ size: x.sizeBytes, virtualTimeNs: x.virtualTimeNs, verified: x.verified, messages: x.messages })),
    moe: r.moe.map((m) => ({ layerNs: m.layerNs, dispatchNs: m.dispatchNs, expertComputeNs: m.expertComputeNs, combineNs: m.combineNs, droppedTokens: m.droppedTokens, verified: m.verified })),
  };
}

/** The host process of a device (NatsEngine starts hosts in hostGroups' order). */
export function hostPidOf(engine: NatsEngine, loaded: Loaded, device: number): number {
  if (loaded.scenario.deployment.placement === "external") throw new Error("external placement: no host of ours");
  const groups = hostGroups(loaded.topology, loaded.scenario.deployment);
  const i = groups.findIndex((g) => g.includes(device as never));
  const pid = engine.hostPids[i];
  if (pid === undefined || pid < 0) throw new Error(`no host for device ${device}`);
  return pid;
}

/** Resident set size of a process, bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

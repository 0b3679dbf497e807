import { performance } from "node:perf_hooks";
import { loadScenario, type Loaded } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import type { Engine } from "../../shared/runtime/index.js";
import { ChaosPort, controlSubject, NatsEngine, runScenario, startControlService, type ControlHandlers } from "../coordinator/index.js";

/**
 * Roots of the keys an `api.run` request may set on a serving coordinator. Its actors already run on
 * the scenario's topology (and its deployment and engine are in use), so only what a run plans may
 * change: the workload (`workload…`, `workload[i]…`, or `workload={…}` whole) and the seed of its data
 * and routing.
 */
export const SETTABLE_WHEN_SERVING = ["workload", "seed"] as const;
const FIXED_WHEN_SERVING = "a serving coordinator's topology and deployment are fixed (its actors already run on them): only workload… and seed may be set";
const STOPPING = "stopping: the coordinator is shutting down";

/** `api.status`'s phase: `idle` while waiting for a run request, `running` while a workload runs, `stopping` after a stop. */
type Phase = "idle" | "running" | "stopping";

interface ControlOptions {
  readonly abort: (why: string) => void;
  /** Serve mode: the run a request's overrides ask for. Absent: the coordinator runs one workload, from the start. */
  readonly prepare?: (sets: readonly string[]) => () => Promise<unknown>;
  /** Serve mode: the process's stop signal (the phase is `stopping` once it aborts). */
  readonly signal?: AbortSignal;
  /** Where `chaos` requests reach the run in progress. */
  readonly chaos?: ChaosPort;
}

/** Serves the control API while `work` runs; on the way out lets a run in progress end, then stops the service. */
async function controlled<T>(engine: NatsEngine, o: ControlOptions, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  let running = !o.prepare, stopping = false;
  let inflight: Promise<unknown> | undefined;
  const phase = (): Phase => (stopping || o.signal?.aborted ? "stopping" : running ? "running" : "idle");
  const prepare = o.prepare;
  const handlers: ControlHandlers = {
    status: () => ({ phase: phase(), uptimeMs: Math.round(performance.now() - started), ...engine.summary() }),
    refusal: () => (phase() === "stopping" ? STOPPING : undefined),
    stop: () => { stopping = true; o.abort("stop request"); },
    ...(o.chaos && { chaos: (body: unknown) => o.chaos!.inject(body) }),
    ...(prepare && {
      prepareRun: (request) => {
        const run = prepare(request.sets);
        return () => {
          running = true;
          inflight = run().finally(() => { running = false; });
          return inflight;
        };
      },
    }),
  };
  const svc = await startControlService(engine.connection, engine.run, handlers);
  try {
    return await work();
  } finally {
    await inflight?.catch(() => undefined);
    await svc.stop();
  }
}

/**
 * Exposes a NATS engine's coordinator as a service while `work` (its one workload) runs: status
 * answers at once, run requests are refused (409), stop aborts. Returns what `work` returns.
 */
export async function withControlService<T>(engine: Engine, abort: (why: string) => void, work: () => Promise<T>, chaos?: ChaosPort): Promise<T> {
  return engine instanceof NatsEngine ? controlled(engine, { abort, ...(chaos ? { chaos } : {}) }, work) : work();
}

/** Refuses a `set` that would change what the running actors were built for (see SETTABLE_WHEN_SERVING). */
function checkSettable(assignment: string): void {
  const key = assignment.slice(0, Math.max(assignment.indexOf("="), 0)).trim();
  const root = /^[^.[]*/.exec(key)?.[0] ?? "";
  // No key at all: loadScenario names that mistake, in the CLI's words.
  if (key && !(SETTABLE_WHEN_SERVING as readonly string[]).includes(root)) throw new ScenarioError(key, FIXED_WHEN_SERVING);
}

/** The scenario a run request asks for: the served one with `sets` applied as the CLI applies `--set`. */
function withRunSets(loaded: Loaded, sets: readonly string[]): Loaded {
  for (const s of sets) checkSettable(s);
  return sets.length ? loadScenario({ raw: loaded.raw, sets }) : loaded;
}

/**
 * `supernode coordinator`: start the actors once, then run the workload whenever asked, until stopped;
 * then rejects with the stop's reason (as `supernode run` does when interrupted). The serving line is
 * printed once the control service answers.
 */
export async function serve(loaded: Loaded, engine: Engine, signal: AbortSignal, abort: (why: string) => void, print: (s: string) => void): Promise<void> {
  if (!(engine instanceof NatsEngine)) throw new ScenarioError("engine", "`supernode coordinator` serves the nats engine");
  const stopped = new Promise<never>((_, reject) => {
    const end = () => reject(signal.reason);
    if (signal.aborted) end();
    else signal.addEventListener("abort", end, { once: true });
  });
  const chaos = new ChaosPort();
  const prepare = (sets: readonly string[]) => {
    const again = withRunSets(loaded, sets);
    return () => runScenario({ ...again, topology: loaded.topology }, engine, signal, undefined, { chaos });
  };
  await controlled(engine, { abort, prepare, signal, chaos }, () => {
    print(`# coordinator serving run ${engine.run} on ${engine.url}: request ${controlSubject(engine.run, "run")} (body: optional {"set": ["workload.sizes=[1MiB]"]}; only workload… and seed may be set), ${controlSubject(engine.run, "status")}, ${controlSubject(engine.run, "stop")}`);
    return stopped;
  });
}

import { performance } from "node:perf_hooks";
import { loadScenario, type Loaded } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import type { Engine } from "../../shared/runtime/index.js";
import { controlSubject, NatsEngine, runScenario, startControlService, type Report } from "../coordinator/index.js";

/**
 * Exposes a NATS engine's coordinator as a service while `work` runs: status answers at once; run
 * answers 409 when a workload is already running; stop aborts. Returns what `work` returns.
 */
export async function withControlService<T>(engine: Engine, abort: (why: string) => void, work: () => Promise<T>, runRequest?: (body: unknown) => Promise<unknown>): Promise<T> {
  if (!(engine instanceof NatsEngine)) return work();
  const started = performance.now();
  let phase = "running";
  const svc = await startControlService(engine.connection, engine.run, {
    status: () => ({ phase, uptimeMs: Math.round(performance.now() - started), ...engine.summary() }),
    run: runRequest ?? (() => Promise.reject(new Error("busy: this coordinator runs one workload (use `supernode coordinator` to serve runs)"))),
    stop: () => { phase = "stopping"; abort("stop request"); },
  });
  try {
    return await work();
  } finally {
    phase = "stopped";
    await svc.stop();
  }
}

/** `supernode coordinator`: start the actors once, then run the workload whenever asked, until stopped. */
export async function serve(loaded: Loaded, engine: Engine, signal: AbortSignal, abort: (why: string) => void, print: (s: string) => void): Promise<void> {
  if (!(engine instanceof NatsEngine)) throw new ScenarioError("engine", "`supernode coordinator` serves the nats engine");
  print(`# coordinator serving run ${engine.run} on ${engine.url}: request ${controlSubject(engine.run, "run")} (body: optional {"set": ["workload.sizes=[1MiB]"]}), ${controlSubject(engine.run, "status")}, ${controlSubject(engine.run, "stop")}`);
  const stopped = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  await withControlService(engine, abort, () => stopped, async (body) => {
    const sets = (body as { set?: unknown })?.set;
    const workloadOnly = Array.isArray(sets) ? sets.filter((x): x is string => typeof x === "string" && x.startsWith("workload.")) : [];
    const again = workloadOnly.length ? loadScenario({ raw: loaded.raw, sets: workloadOnly }) : loaded;
    const report: Report = await runScenario({ ...again, topology: loaded.topology }, engine, signal);
    return report;
  });
}

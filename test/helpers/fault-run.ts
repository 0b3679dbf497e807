import { loadScenario } from "../../shared/config/index.js";
import type { FaultTally } from "../../shared/faults/index.js";
import { runScenario, type Report } from "../../services/coordinator/index.js";
import { simEngine } from "./run.js";

/** A sim run, and what each actor's faults did to the data it sent (its `tally`), by actor name. */
export async function runTallied(raw: unknown): Promise<{ rep: Report; tally: Map<string, FaultTally>; sum: (k: keyof FaultTally) => number }> {
  const loaded = loadScenario({ raw });
  await using engine = simEngine(loaded);
  const rep = await runScenario(loaded, engine);
  const tally = new Map(loaded.topology.devices.map((d) => [d.name, (engine.stateOf(d.id) as { tally: FaultTally }).tally] as const));
  const sum = (k: keyof FaultTally) => [...tally.values()].reduce((s, x) => s + x[k], 0);
  return { rep, tally, sum };
}

/** Every actor's name, in the topology's order. */
export function actorNames(raw: unknown): string[] {
  return loadScenario({ raw }).topology.devices.map((d) => d.name);
}

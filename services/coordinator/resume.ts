import type { Loaded } from "../../shared/config/index.js";
import type { Engine } from "../../shared/runtime/index.js";
import type { CommitStore, Committed } from "./commit-store.js";
import type { FaultInjector } from "./faults.js";
import { History } from "./history.js";
import type { TrainingState } from "./training-run.js";

/** What a run resumes from, and how each committed step is written (docs/chaos.md §7). */
export interface Resumption {
  readonly history: History;
  /** The committed state found for this run name and scenario, if any. */
  readonly from: Committed | undefined;
  state(injector: FaultInjector | undefined, engine: Engine, wallMs: () => number): TrainingState | undefined;
}

/**
 * Reads the run's committed state (a store is given only for a named run on NATS with JetStream): a
 * state of this same scenario is resumed after its last committed step; one of another scenario is
 * refused (a run name is not reused across scenarios by accident).
 */
export async function resumption(loaded: Loaded, store: CommitStore | undefined, trainingOnly: boolean): Promise<Resumption> {
  const found = store && trainingOnly ? await store.load() : undefined;
  if (found && found.scenarioHash !== loaded.hash) {
    throw new Error(`run ${loaded.scenario.deployment.run}: JetStream holds the committed state of another scenario (${found.scenarioHash.slice(0, 12)}, this one is ${loaded.hash.slice(0, 12)}); use another deployment.run name`);
  }
  const history = new History(undefined, found?.history ?? []);
  if (found) history.add({ type: "resume", fromStep: found.step + 1, epoch: found.epoch, virtualNs: found.clockNs });
  return {
    history, from: found,
    state(injector, engine, wallMs) {
      if (!store) return undefined;
      if (found) {
        injector?.resumeAt(found.nextIndex, found.epoch, found.faults, found.losses);
        engine.cursor.nextOp = Math.max(engine.cursor.nextOp, found.nextOp);
        engine.cursor.clockNs = found.clockNs;
      }
      return {
        ...(found ? { resume: { params: found.params, rows: found.rows } } : {}),
        commit: (step, params, endNs, rows) => store.save({
          scenarioHash: loaded.hash, step, params, clockNs: endNs, nextOp: engine.cursor.nextOp,
          nextIndex: injector?.nextIndex ?? step + 1, epoch: injector?.epoch ?? 1, rows: [...rows],
          history: history.events, faults: injector?.rows() ?? [], losses: injector?.losses ?? [], wallMs: wallMs() + (found?.wallMs ?? 0),
        }),
      };
    },
  };
}

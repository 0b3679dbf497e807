import { performance } from "node:perf_hooks";
import { DEFAULT_RECOVERY, runOps, type Loaded } from "../../shared/config/index.js";
import type { Engine, RankParts, Replan } from "../../shared/runtime/index.js";
import { formatSize, simNs } from "../../shared/units/index.js";
import { hierRoutes, layerOf, NodeMap, rankPart } from "../../shared/moe/index.js";
import { Algorithm, Collective, type OpSpec } from "../../shared/protocol/index.js";
import { round, summarize, type CheckedRow } from "./collect.js";
import { summarizeMoe } from "./moe-collect.js";
import { planWork, type Work } from "./plan.js";
import { NO_PROGRESS, offsetProgress, type Progress, type ProgressUnit } from "./progress.js";
import { runTraining } from "./training-run.js";
import { FIRST_EPOCH } from "./epoch.js";
import { buildReport, summarizeRejections, type Report, type Rows } from "./report.js";
import { withFaults } from "./faults.js";
import type { ChaosPort } from "./chaos-port.js";
import type { CommitStore } from "./commit-store.js";
import { resumption } from "./resume.js";
import { shrinkCollective, shrinksOf, type ShrinkAt } from "./shrink.js";

export { FIRST_EPOCH };

/**
 * moe-layer: the layer is planned once, here; each EP rank gets its part with its op-start, and the
 * spec on the wire leaves the gating out (ranks do not need it; fixed gating holds every token's row).
 */
function moeWire(spec: OpSpec): { wire: OpSpec; parts?: RankParts } {
  if (spec.collective !== Collective.MoeLayer || !spec.moe) return { wire: spec };
  const layer = layerOf(spec);
  const counts = spec.algorithm === Algorithm.Hierarchical ? hierRoutes(layer, new NodeMap(spec.nodeGroups, layer.shape.ep)).counts : undefined;
  const { gating: _g, ...moe } = spec.moe;
  return { wire: { ...spec, moe }, parts: (r) => rankPart(layer, r, counts?.[r]) };
}

const rejectedOf = (engine: Engine, loaded: Loaded) => summarizeRejections(engine.rejections(), loaded.topology.devices.map((d) => d.name));

function append<T>(list: T[], item: T): T {
  list.push(item);
  return item;
}

/** The run's units for its progress: training steps when it only trains, else ops (one per training step too). */
function unitsOf(plan: readonly Work[]): { total: number; unit: ProgressUnit; label: string } {
  const total = plan.reduce((n, w) => n + ("training" in w ? w.training.steps : 1), 0);
  const names = plan.map((w) => ("training" in w ? `training ${w.training.model.name}` : w.spec.collective));
  return { total, unit: plan.length > 0 && plan.every((w) => "training" in w) ? "step" : "op", label: [...new Set(names)].join(" + ") };
}

/**
 * Runs a scenario's operations one after another in virtual time (op k starts when op k-1 ended, like
 * NCCL-tests' size sweep) and checks each one. A stalled op ends the run (status `stalled`). `progress`
 * hears of each unit as it starts and ends, in wall time, and is stopped however the run ends.
 */
/** What a run may be given besides its scenario and engine: JetStream state to resume from, and the control API's chaos port. */
export interface RunOptions {
  readonly store?: CommitStore | undefined;
  readonly chaos?: ChaosPort | undefined;
  /**
   * Training only: leave these NPUs out from these steps on, as recovery policy shrink does — the
   * fault-free run that switches to a shrunk plan at the same steps, which `supernode check` compares
   * a shrunk run with bit for bit (docs/chaos.md §8).
   */
  readonly shrinks?: readonly ShrinkAt[] | undefined;
}

export async function runScenario(loaded: Loaded, real: Engine, signal?: AbortSignal, progress: Progress = NO_PROGRESS, opts: RunOptions = {}): Promise<Report> {
  const store = opts.store;
  const t0 = performance.now();
  // A named run on JetStream goes on from its last committed step if a coordinator before this one died.
  const plan = planWork(loaded.scenario, loaded.topology, real.cursor.nextOp);
  const resumed = await resumption(loaded, store, plan.length === 1 && "training" in plan[0]!);
  const history = resumed.history;
  // Declared faults: sent before the ops they start at, accounted in report.json faults[] (docs/chaos.md).
  // A stored run keeps its history (and the checker's view of it) even without faults.
  const plan0 = loaded.faultPlan ?? (store ? { faults: [], recovery: DEFAULT_RECOVERY, recoveryDeclared: false, ops: runOps(loaded.scenario.workloads).total } : undefined);
  const { engine, injector } = withFaults(real, plan0, loaded.topology, history);
  const state = resumed.state(injector, engine, () => performance.now() - t0);
  opts.chaos?.attach(injector);
  const fabricOf = (op: number) => injector?.viewFor(op) ?? loaded.topology;
  const rows: Rows = { results: [], moe: [], training: undefined };
  const resumedFrom = resumed.from ? { step: resumed.from.step, wallMs: round(resumed.from.wallMs, 1) } : undefined;
  const report = (stall?: string) => buildReport(loaded, engine.name, engine.processes, { ...rows, faults: injector?.rows(), ...(injector ? { history: history.events, losses: injector.losses } : {}), ...(resumedFrom ? { resumedFrom } : {}) }, rejectedOf(engine, loaded), performance.now() - t0, stall);
  let startNs = engine.cursor.clockNs, done = resumed.from ? resumed.from.step + 1 : 0;
  const { total, unit, label } = unitsOf(plan);
  progress.start(total, unit, label);
  try {
    for (const work of plan) {
      signal?.throwIfAborted(); // a stop request ends a sweep between ops, not only inside a slow one
      if ("training" in work) {
        // A resumed run goes on with the membership its committed steps had (shrinks in its history).
        const shrinks = opts.shrinks ?? (resumed.from ? shrinksOf(history.events) : undefined);
        const r = await runTraining(work.training, loaded.topology, engine, loaded.scenario.seed, startNs, signal, offsetProgress(progress, 0), injector ? history : undefined, state, shrinks);
        done = work.training.steps;
        rows.training = r.report;
        startNs = engine.cursor.clockNs = r.endNs;
        if (r.stalled) return report(r.stalled);
        await store?.clear(); // the run is over: nothing to resume
        continue;
      }
      // Ops are planned ahead; a training workload before this one took op ids as it ran.
      const spec = { ...work.spec, op: Math.max(work.spec.op, engine.cursor.nextOp) };
      engine.cursor.nextOp = spec.op + 1;
      progress.update(done, `op ${done + 1}/${total} ${spec.collective} ${formatSize(spec.sizeBytes)}`);
      const w0 = performance.now();
      const { wire, parts } = moeWire(spec);
      // Recovery policy shrink re-forms a collective's communicator without its failed ranks (an MoE layer is not re-planned).
      let used = spec;
      const replan: Replan | undefined = spec.collective === Collective.MoeLayer ? undefined : (failed, cur) => {
        const r = shrinkCollective(cur, failed, loaded.topology);
        if ("spec" in r) used = { ...r.spec, op: spec.op };
        return r;
      };
      const out = await engine.runOp(wire, simNs(startNs), FIRST_EPOCH, signal, parts, [], replan);
      const wall = performance.now() - w0;
      // A retried op (recovery) began later, after the failed attempts' lost time, under a later op id.
      const began = out.startedNs ?? startNs;
      const row: CheckedRow = spec.collective === Collective.MoeLayer
        ? append(rows.moe, summarizeMoe(spec, out, fabricOf(spec.op), began, wall))
        : append(rows.results, summarize(used, out, fabricOf(spec.op), began, wall));
      startNs = row.endNs;
      engine.cursor.clockNs = startNs;
      const attempt = injector ? history.lastBegin() : undefined;
      if (attempt && row.verified && !out.stalled) history.add({ type: "commit", index: attempt.index, op: attempt.op, epoch: attempt.epoch, virtualNs: row.endNs });
      done += 1;
      progress.update(done, `op ${done}/${total} checked`);
      if (out.stalled) return report(out.stalled);
    }
    progress.update(done, "building report");
    return report();
  } finally {
    await injector?.close();
    opts.chaos?.detach();
    progress.stop();
  }
}

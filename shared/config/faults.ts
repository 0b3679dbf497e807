import { ScenarioError } from "../errors/index.js";
import type { Topology } from "../topology/index.js";
import { faultTargets, opRange, runOps, type FaultPlan, type PlannedFault } from "./fault-plan.js";
import { resolveFaultDecl } from "./fault-resolve.js";
import { checkRoutes } from "./fault-routes.js";
import { describeFlaps } from "./fault-flaps.js";
import { expandRandom } from "./fault-random.js";
import { epOf } from "./check.js";
import { DEFAULT_RECOVERY, isProcessFault, type RecoveryDecl, type RecoveryPolicy } from "./process-faults.js";
import type { Workload } from "./resolve.js";

/**
 * `faults:` and `recovery:` of a scenario, validated against its topology and its run (docs/chaos.md):
 * every error names its field (`faults[2].target: no link l1.n0->l2.k9 in this topology …`).
 */
export function compileFaults(raw: readonly Record<string, unknown>[], recovery: RecoveryDecl | undefined, t: Topology, workloads: readonly Workload[]): FaultPlan {
  const names = new Map(t.devices.map((d) => [d.name, d] as const));
  const ops = runOps(workloads);
  const expanded = expandRandom(raw, t, ops.steps.length);
  if (expanded.faults.length > 4096) throw new ScenarioError("faults", `${expanded.faults.length} faults after drawing the random ones; at most 4096`);
  const planned: PlannedFault[] = expanded.faults.map((f, i) => {
    const at = expanded.from[i]!;
    const decl = resolveFaultDecl(f, at);
    const targets = faultTargets(t, names, decl, `${at}.target`);
    const [fromIndex, untilIndex] = opRange(decl, ops, at);
    return { index: i, decl, targets, fromIndex, untilIndex };
  });
  const policy: RecoveryPolicy = { ...DEFAULT_RECOVERY, ...recovery, spares: sparesOf(recovery, t, workloads) };
  return { faults: describeFlaps(t, checkRoutes(t, planned)), recovery: policy, recoveryDeclared: recovery !== undefined, ops: ops.total };
}

/** How many NPUs (the first ones) a workload's ops use. */
function ranksOf(w: Workload, t: Topology): number {
  if (w.kind === "training") return w.parallel.dp * w.parallel.tp;
  if (w.kind === "collective") return w.ranks === "all" ? t.endpoints.length : w.ranks;
  return epOf(w, t.endpoints.length);
}

/**
 * policy spare: the standby NPUs by name (docs/chaos.md §7.4). Declared by name, each must be an NPU no
 * workload of the run uses; by count, the last that many of those; undeclared, all of them.
 */
function sparesOf(r: RecoveryDecl | undefined, t: Topology, workloads: readonly Workload[]): string[] {
  if (r?.policy !== "spare") {
    if (r?.spares !== undefined) throw new ScenarioError("recovery.spares", `only for policy spare (this policy is ${r.policy ?? "restart"})`);
    return [];
  }
  const used = Math.max(0, ...workloads.map((w) => ranksOf(w, t)));
  const names = t.endpoints.map((id) => t.devices[id]!.name);
  const idle = names.slice(used);
  const what = `the run's workloads use the first ${used} of the ${names.length} NPUs (${names[0]} … ${names[used - 1]})`;
  if (idle.length === 0) throw new ScenarioError("recovery.spares", `policy spare needs an NPU no workload uses, and ${what}: none is left to stand by`);
  if (r.spares === undefined) return idle;
  if (typeof r.spares === "number") {
    if (r.spares > idle.length) throw new ScenarioError("recovery.spares", `${r.spares} spares, but ${what}: ${idle.length} left (${idle.join(", ")})`);
    return idle.slice(idle.length - r.spares);
  }
  const seen = new Set<string>();
  r.spares.forEach((n, i) => {
    const at = `recovery.spares[${i}]`;
    if (seen.has(n)) throw new ScenarioError(at, `${n} is listed twice`);
    seen.add(n);
    const k = names.indexOf(n);
    if (k < 0) throw new ScenarioError(at, `${n} is not an NPU of this topology (NPUs: ${names[0]} … ${names[names.length - 1]})`);
    if (k < used) throw new ScenarioError(at, `${n} is rank ${k} of the run's ops; a spare must be an NPU no workload uses (${what})`);
  });
  return [...r.spares];
}

import { ScenarioError } from "../errors/index.js";
import type { Topology } from "../topology/index.js";
import { faultTargets, opRange, runOps, type FaultPlan, type PlannedFault } from "./fault-plan.js";
import { resolveFaultDecl } from "./fault-resolve.js";
import { checkRoutes } from "./fault-routes.js";
import { describeFlaps } from "./fault-flaps.js";
import { expandRandom } from "./fault-random.js";
import { DEFAULT_RECOVERY, isProcessFault, type RecoveryPolicy } from "./process-faults.js";
import type { Workload } from "./resolve.js";

/**
 * `faults:` and `recovery:` of a scenario, validated against its topology and its run (docs/chaos.md):
 * every error names its field (`faults[2].target: no link l1.n0->l2.k9 in this topology …`).
 */
export function compileFaults(raw: readonly Record<string, unknown>[], recovery: Partial<RecoveryPolicy> | undefined, t: Topology, workloads: readonly Workload[]): FaultPlan {
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
  const policy: RecoveryPolicy = { ...DEFAULT_RECOVERY, ...recovery };
  planned.forEach((f, i) => {
    if (!isProcessFault(f.decl.kind)) return; // at a step or at an op (a collective or MoE layer is retried like a step)
    if (policy.policy !== "restart") throw new ScenarioError("recovery.policy", `${policy.policy} is not implemented yet (implemented: restart; faults[${i}] is a ${f.decl.kind})`);
  });
  return { faults: describeFlaps(t, checkRoutes(t, planned)), recovery: policy, recoveryDeclared: recovery !== undefined, ops: ops.total };
}

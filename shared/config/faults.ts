import type { Topology } from "../topology/index.js";
import { faultTargets, opRange, runOps, type FaultPlan, type PlannedFault } from "./fault-plan.js";
import { resolveFaultDecl } from "./fault-resolve.js";
import { checkRoutes } from "./fault-routes.js";
import type { Workload } from "./resolve.js";

/**
 * `faults:` and `recovery:` of a scenario, validated against its topology and its run (docs/chaos.md):
 * every error names its field (`faults[2].target: no link l1.n0->l2.k9 in this topology …`).
 */
export function compileFaults(raw: readonly Record<string, unknown>[], recovery: FaultPlan["recovery"] | undefined, t: Topology, workloads: readonly Workload[]): FaultPlan {
  const names = new Map(t.devices.map((d) => [d.name, d] as const));
  const ops = runOps(workloads);
  const planned: PlannedFault[] = raw.map((f, i) => {
    const at = `faults[${i}]`;
    const decl = resolveFaultDecl(f, at);
    const targets = faultTargets(t, names, decl, `${at}.target`);
    const [fromIndex, untilIndex] = opRange(decl, ops, at);
    return { index: i, decl, targets, fromIndex, untilIndex };
  });
  return { faults: checkRoutes(t, planned), recovery: recovery ?? { policy: "restart" }, ops: ops.total };
}

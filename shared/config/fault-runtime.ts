import { ScenarioError } from "../errors/index.js";
import type { Topology } from "../topology/index.js";
import { faultTargets, type PlannedFault } from "./fault-plan.js";
import { resolveFaultDecl } from "./fault-resolve.js";
import { checkRoutes } from "./fault-routes.js";
import { describeFlaps } from "./fault-flaps.js";
import { isProcessFault } from "./process-faults.js";

/**
 * A fault injected into a running run (`supernode chaos`, the control API's `chaos`): the same
 * declaration as in `faults:`, without `at` — it starts at the run's next op (`fromIndex`) — and with
 * `duration: { ops: n }` (or `{ steps: n }`: a training run's ops are its steps). Checked like a
 * declared fault; every error names its field. `index` is its place in report.json `faults[]`.
 */
export function compileRuntimeFault(raw: Record<string, unknown>, t: Topology, index: number, fromIndex: number, runOps: number): PlannedFault {
  if ("at" in raw) throw new ScenarioError("at", "a fault injected at run time starts at the next op: leave at out");
  if (fromIndex >= runOps) throw new ScenarioError("", `the run has no op left to inject into (it has ${runOps})`);
  const d = raw.duration as Record<string, unknown> | undefined;
  const n = d === undefined ? undefined : (d.ops ?? d.steps);
  const decl = resolveFaultDecl({ ...raw, at: { op: fromIndex }, ...(n !== undefined ? { duration: { ops: n } } : {}) }, "fault");
  const names = new Map(t.devices.map((x) => [x.name, x] as const));
  const targets = faultTargets(t, names, decl, "target");
  const until = decl.duration && "ops" in decl.duration ? fromIndex + decl.duration.ops : undefined;
  const f: PlannedFault = { index, decl, targets, fromIndex, untilIndex: until !== undefined && until < runOps ? until : undefined };
  if (isProcessFault(decl.kind)) return f;
  return describeFlaps(t, checkRoutes(t, [f]))[0]!;
}

import { FaultedFabric } from "../faults/index.js";
import { FaultKind } from "../protocol/index.js";
import type { Topology } from "../topology/index.js";
import type { PlannedFault } from "./fault-plan.js";
import { ROUTE_CHECK_MAX_ENDPOINTS } from "./fault-routes.js";

/**
 * What a link-flap does while its link is down, as its `reroute` text: the pairs whose transfers then
 * keep fewer stripes, and those left none, which wait for the link to come up (never refused: a flap
 * ends each down window). Counted up to ROUTE_CHECK_MAX_ENDPOINTS endpoints, like the route check.
 */
export function describeFlaps(t: Topology, faults: readonly PlannedFault[]): PlannedFault[] {
  return faults.map((f) => {
    if (f.decl.kind !== FaultKind.LinkFlap) return f;
    if (t.endpoints.length > ROUTE_CHECK_MAX_ENDPOINTS) return { ...f, reroute: "use the stripes that avoid it (pairs are not enumerated); a transfer with none waits for it to come up" };
    const down = new FaultedFabric(t, [{ fault: f.index, kind: FaultKind.LinkDown, targets: f.targets, fromOp: 0 }]);
    let pairs = 0, waits = 0;
    const kept = new Set<string>();
    for (const src of t.endpoints) {
      for (const dst of t.endpoints) {
        if (src === dst) continue;
        const whole = t.route(src, dst), r = down.route(src, dst);
        if (r === whole) continue;
        if (r.stripes.length === 0) { waits++; continue; }
        pairs++;
        kept.add(`${r.stripes.length} of ${whole.stripes.length}`);
      }
    }
    const keep = pairs ? `${pairs} endpoint pairs keep ${kept.size === 1 ? [...kept][0] : "some"} stripes` : "";
    const wait = waits ? `${waits} endpoint pairs wait for it to come up` : "";
    return { ...f, reroute: [keep, wait].filter(Boolean).join("; ") || "change nothing: no route crosses it" };
  });
}

import { ScenarioError } from "../errors/index.js";
import { activeAt, FaultedFabric, type FaultEntry } from "../faults/index.js";
import { isRouteFault, type FaultKind } from "../protocol/index.js";
import type { Route, Topology } from "../topology/index.js";
import type { NpuId } from "../units/index.js";
import type { PlannedFault } from "./fault-plan.js";

/**
 * Up to this many endpoints, loading checks every ordered pair's route under the route faults (128²
 * pairs, a fraction of a second); beyond, a pair the faults cut fails its op with an error naming it.
 */
export const ROUTE_CHECK_MAX_ENDPOINTS = 128;

const entryOf = (f: PlannedFault): FaultEntry => ({
  fault: f.index, kind: f.decl.kind as FaultKind, targets: f.targets, fromOp: f.fromIndex, ...(f.untilIndex !== undefined ? { untilOp: f.untilIndex } : {}),
});

/** Distinct first switches of a route's stripes: the planes it spreads over (CM384: 7, NVL72: 18). */
const planes = (t: Topology, r: Route): number => new Set(r.stripes.map((p) => t.links[p[0]!]!.to)).size;

interface Effect { pairs: number; kept: Set<string>; planes: Set<string> }

/** Every ordered pair of endpoints under `fab`: throws for the first pair it cuts, else what it rerouted. */
function walk(t: Topology, fab: FaultedFabric, cut: (src: NpuId, dst: NpuId, stripes: number) => never): Effect {
  const e: Effect = { pairs: 0, kept: new Set(), planes: new Set() };
  for (const src of t.endpoints) {
    for (const dst of t.endpoints) {
      if (src === dst) continue;
      const whole = t.route(src, dst), r = fab.route(src, dst);
      if (r === whole) continue;
      if (r.stripes.length === 0) cut(src, dst, whole.stripes.length);
      e.pairs++;
      e.kept.add(`${r.stripes.length} of ${whole.stripes.length}`);
      e.planes.add(`${planes(t, r)} of ${planes(t, whole)}`);
    }
  }
  return e;
}

function describe(e: Effect): string {
  if (e.pairs === 0) return "nothing rerouted: no route crosses it";
  const kept = e.kept.size === 1 ? [...e.kept][0]! : "some";
  const pl = e.planes.size === 1 ? [...e.planes][0]! : undefined;
  const over = pl && pl.split(" of ")[0] !== pl.split(" of ")[1] ? ` over ${pl} planes` : "";
  return `rerouted${over}: ${e.pairs} endpoint pairs keep ${kept} stripes`;
}

const pairName = (t: Topology, src: NpuId, dst: NpuId) => `${t.devices[src]!.name} to ${t.devices[dst]!.name}`;

/**
 * Checks that link-down and switch-crash faults leave every pair of endpoints a route (each fault on
 * its own, and every set of them active at once), naming the fault that cuts one, and says what each
 * reroutes. Returns the faults with `reroute` filled in.
 */
export function checkRoutes(t: Topology, faults: readonly PlannedFault[]): PlannedFault[] {
  const route = faults.filter((f) => isRouteFault(f.decl.kind));
  if (route.length === 0) return [...faults];
  if (t.endpoints.length > ROUTE_CHECK_MAX_ENDPOINTS) {
    const note = `rerouted: routes avoid it (pairs are not enumerated beyond ${ROUTE_CHECK_MAX_ENDPOINTS} endpoints; a pair it cuts fails its op)`;
    return faults.map((f) => (isRouteFault(f.decl.kind) ? { ...f, reroute: note } : f));
  }
  const aggregatedHint = t.switchGranularity === "aggregated" ? "; with switches: aggregated one switch actor stands for all planes (switches: physical loses one)" : "";
  const reroutes = new Map<number, string>();
  for (const f of route) {
    const at = `faults[${f.index}].target`;
    const e = walk(t, new FaultedFabric(t, [entryOf(f)]), (s, d, n) => {
      throw new ScenarioError(at, `${f.decl.kind} of ${f.decl.target} leaves no route from ${pairName(t, s, d)} (all ${n} of its stripes cross it)${aggregatedHint}`);
    });
    reroutes.set(f.index, describe(e));
  }
  // Faults active together: at every op where the set of active route faults changes.
  const starts = [...new Set(route.flatMap((f) => [f.fromIndex, ...(f.untilIndex !== undefined ? [f.untilIndex] : [])]))].sort((a, b) => a - b);
  const seen = new Set<string>();
  for (const op of starts) {
    const active = route.filter((f) => activeAt(entryOf(f), op));
    const key = active.map((f) => f.index).join(",");
    if (active.length < 2 || seen.has(key)) continue;
    seen.add(key);
    const last = active[active.length - 1]!;
    walk(t, new FaultedFabric(t, active.map(entryOf)), (s, d) => {
      const others = active.slice(0, -1).map((f) => `faults[${f.index}]`).join(", ");
      throw new ScenarioError(`faults[${last.index}].target`, `together with ${others}, ${last.decl.kind} of ${last.decl.target} leaves no route from ${pairName(t, s, d)}`);
    });
  }
  return faults.map((f) => (reroutes.has(f.index) ? { ...f, reroute: reroutes.get(f.index)! } : f));
}

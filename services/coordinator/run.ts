import { performance } from "node:perf_hooks";
import type { Loaded } from "../../shared/config/index.js";
import type { Engine, RankParts } from "../../shared/runtime/index.js";
import { simNs } from "../../shared/units/index.js";
import { hierRoutes, layerOf, NodeMap, rankPart } from "../../shared/moe/index.js";
import { Algorithm, Collective, type OpSpec } from "../../shared/protocol/index.js";
import { summarize, type CheckedRow, type ResultRow } from "./collect.js";
import { summarizeMoe, type MoeRow } from "./moe-collect.js";
import { planOps } from "./plan.js";
import { buildReport, summarizeRejections, type Report } from "./report.js";

/** The epoch of a fresh run; recovery (chaos issue) will bump it. */
export const FIRST_EPOCH = 1;

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

/**
 * Runs a scenario's operations one after another in virtual time (op k starts when op k-1 ended, like
 * NCCL-tests' size sweep) and checks each one. A stalled op ends the run (status `stalled`).
 */
export async function runScenario(loaded: Loaded, engine: Engine, signal?: AbortSignal): Promise<Report> {
  const t0 = performance.now();
  const rows: ResultRow[] = [];
  const moeRows: MoeRow[] = [];
  let startNs = engine.cursor.clockNs;
  for (const spec of planOps(loaded.scenario, loaded.topology, engine.cursor.nextOp)) {
    signal?.throwIfAborted(); // a stop request ends a sweep between ops, not only inside a slow one
    engine.cursor.nextOp = spec.op + 1;
    const w0 = performance.now();
    const { wire, parts } = moeWire(spec);
    const out = await engine.runOp(wire, simNs(startNs), FIRST_EPOCH, signal, parts);
    const wall = performance.now() - w0;
    const row: CheckedRow = spec.collective === Collective.MoeLayer
      ? append(moeRows, summarizeMoe(spec, out, loaded.topology, startNs, wall))
      : append(rows, summarize(spec, out, loaded.topology, startNs, wall));
    startNs = row.endNs;
    engine.cursor.clockNs = startNs;
    if (out.stalled) return buildReport(loaded, engine.name, engine.processes, { results: rows, moe: moeRows }, rejectedOf(engine, loaded), performance.now() - t0, out.stalled);
  }
  return buildReport(loaded, engine.name, engine.processes, { results: rows, moe: moeRows }, rejectedOf(engine, loaded), performance.now() - t0);
}

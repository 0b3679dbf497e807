import { routeAlphaBeta } from "../../shared/linkmodel/index.js";
import {
  checkCombined, droppedKs, layerFlows, expectedCombined, expertComputeBoundNs, layerOf, maxOverMeanLoad,
  MoeTally, TOKEN_ELEMENTS, type MoeLayer,
} from "../../shared/moe/index.js";
import type { OpSpec } from "../../shared/protocol/index.js";
import type { OpOutcome } from "../../shared/runtime/index.js";
import type { Topology } from "../../shared/topology/index.js";
import { round, type CheckedRow } from "./collect.js";
import { busiestLinkNs, hottestLinks, linkBytes, type LinkLoad } from "./moe-links.js";

/** One MoE layer in the report: the fields, the closed forms beside them, and what was checked. */
export interface MoeRow extends CheckedRow {
  readonly ep: number;
  readonly experts: number;
  readonly topK: number;
  readonly tokensPerRank: number;
  readonly gating: string;
  readonly algorithm: string;
  /** Token copies each expert replica accepts, or null when capacity is unlimited. */
  readonly capacity: number | null;
  readonly replicaCopies: number;
  /**
   * The layer's critical path, split where its phases hand over: dispatch = last rank's dispatch
   * received − start; expert compute = last rank's experts done − that; combine = layer end − that.
   * The three add up to layerNs.
   */
  readonly dispatchNs: number;
  readonly expertComputeNs: number;
  readonly combineNs: number;
  readonly layerNs: number;
  /**
   * Lower bounds (docs/moe.md): the busiest link's serialization of the phase's bytes + α_min — on a
   * non-blocking fabric that link is an injection or ejection port, max_r max(send_r, recv_r) × B / β —
   * and the busiest rank's expert roofline.
   */
  readonly dispatchBoundNs: number;
  readonly combineBoundNs: number;
  readonly expertComputeBoundNs: number;
  /** (dispatch − bound) / bound, percent. */
  readonly dispatchErrorPct: number;
  /** Mean bytes a rank sends to other ranks, per ns of the phase (GB/s). */
  readonly dispatchGBpsPerRank: number;
  readonly combineGBpsPerRank: number;
  /** Token copies processed per rank (measured by the ranks): max / mean. */
  readonly maxOverMeanLoad: number;
  /** Token copies per expert (all replicas): max / mean. */
  readonly expertMaxOverMeanLoad: number;
  /** Token copies each rank's experts processed, by rank (as the ranks counted them). */
  readonly rankLoads: readonly number[];
  /** The most demanded experts: copies that chose them, copies they processed (all replicas), copies dropped. */
  readonly hottestExperts: readonly { readonly expert: number; readonly demand: number; readonly processed: number; readonly dropped: number }[];
  /** Token copies that never came back to their origin, as the origins counted them. */
  readonly droppedTokens: number;
  readonly droppedPerExpert: Readonly<Record<string, number>>;
  readonly hottestLinks: readonly LinkLoad[];
}

/** The smallest one-way α (endpoint overhead + link and switch latencies), from the routes of rank 0. */
function alphaMinNs(spec: OpSpec, t: Topology): number {
  let alpha = Infinity;
  for (let r = 1; r < spec.group.length; r++) alpha = Math.min(alpha, routeAlphaBeta(t, t.route(spec.group[0]!, spec.group[r]!)).alphaNs);
  return Number.isFinite(alpha) ? alpha : 0;
}

/** What the ranks reported, gathered: phase marks, per-rank tallies, and the first problem found. */
interface Gathered {
  problem: string | undefined;
  endNs: number;
  dispatchEnd: number;
  computeEnd: number;
  readonly processed: number[];
  returned: number;
  dropped: number;
  readonly droppedPerExpert: Record<string, number>;
}

function gatherReports(layer: MoeLayer, spec: OpSpec, out: OpOutcome, startNs: number): Gathered {
  const n = layer.shape.ep;
  const g: Gathered = {
    problem: out.stalled ?? (out.failedActors.length ? `failed actors: ${out.failedActors.join(", ")}` : undefined),
    endNs: startNs, dispatchEnd: startNs, computeEnd: startNs, processed: new Array<number>(n).fill(0), returned: 0, dropped: 0, droppedPerExpert: {},
  };
  const seen = new Set<number>();
  for (const d of out.done) {
    g.endNs = Math.max(g.endNs, d.endNs);
    if (d.error) { g.problem ??= `rank ${d.rank}: ${d.error.message}`; continue; }
    if (seen.has(d.rank)) { g.problem ??= `rank ${d.rank} reported twice`; continue; }
    seen.add(d.rank);
    if (d.rank >= n) continue;
    g.dispatchEnd = Math.max(g.dispatchEnd, d.marks?.[0] ?? d.endNs);
    g.computeEnd = Math.max(g.computeEnd, d.marks?.[1] ?? d.endNs);
    const tl = d.tally ?? [];
    g.processed[d.rank] = tl[MoeTally.Processed] ?? 0;
    g.returned += tl[MoeTally.Returned] ?? 0;
    g.dropped += tl[MoeTally.Dropped] ?? 0;
    for (let i = MoeTally.PerExpert; i + 1 < tl.length; i += 2) g.droppedPerExpert[tl[i]!] = (g.droppedPerExpert[tl[i]!] ?? 0) + tl[i + 1]!;
    g.problem ??= checkRank(layer, d.rank, d.result);
  }
  if (seen.size !== spec.group.length) g.problem ??= `${spec.group.length - seen.size} ranks did not report`;
  g.problem ??= checkCounts(layer, g);
  return g;
}

/** The ranks' counts against the plan: copies each rank's experts processed, parts back, drops per expert. */
function checkCounts(layer: MoeLayer, g: Gathered): string | undefined {
  const { plan } = layer;
  const accepted = plan.copies.length - plan.droppedTotal;
  const r = g.processed.findIndex((c, rank) => c !== plan.rankLoad[rank]);
  if (r >= 0) return `rank ${r}'s experts processed ${g.processed[r]} copies, the plan gave it ${plan.rankLoad[r]}`;
  if (g.returned !== accepted) return `${g.returned} parts came back, the plan accepted ${accepted}`;
  if (g.dropped !== plan.droppedTotal) return `origins counted ${g.dropped} dropped copies, the plan dropped ${plan.droppedTotal}`;
  const e = Array.from(plan.droppedPerExpert.keys()).find((x) => (g.droppedPerExpert[x] ?? 0) !== plan.droppedPerExpert[x]);
  if (e !== undefined) return `origins counted ${g.droppedPerExpert[e] ?? 0} dropped copies of expert ${e}, the plan dropped ${plan.droppedPerExpert[e]}`;
  return undefined;
}

/** Checks every rank's combined tokens and counts against the reference and the plan, and computes the row. */
export function summarizeMoe(spec: OpSpec, out: OpOutcome, t: Topology, startNs: number, wallMs: number): MoeRow {
  const layer = layerOf(spec);
  const { shape, plan } = layer;
  const n = shape.ep;
  const { problem, endNs, dispatchEnd, computeEnd, processed, dropped, droppedPerExpert } = gatherReports(layer, spec, out, startNs);
  const sum = (a: readonly number[]) => a.reduce((x, y) => x + y, 0);

  const alpha = alphaMinNs(spec, t);
  const dispatchNs = dispatchEnd - startNs, expertComputeNs = computeEnd - dispatchEnd, combineNs = endNs - computeEnd;
  const flows = layerFlows(layer, spec);
  const dLinks = linkBytes(flows.dispatch, spec, t), cLinks = linkBytes(flows.combine, spec, t);
  const bound = (bytes: Float64Array) => { const ns = busiestLinkNs(bytes, t); return ns > 0 ? ns + alpha : 0; };
  const dBound = bound(dLinks), cBound = bound(cLinks);
  const remote = sum(Array.from(plan.sendCopies));
  const perRank = (bytesPerCopy: number, ns: number) => (ns > 0 ? round((remote * bytesPerCopy) / n / ns, 3) : 0);
  const capacityUnlimited = plan.capacity >= shape.tokensPerRank * shape.ep;
  return {
    ep: n, experts: shape.experts, topK: shape.topK, tokensPerRank: shape.tokensPerRank,
    gating: describeGating(spec), algorithm: spec.algorithm,
    capacity: capacityUnlimited ? null : plan.capacity,
    replicaCopies: (shape.replicas ?? []).reduce((s, r) => s + r.copies, 0),
    dispatchNs, expertComputeNs, combineNs, layerNs: endNs - startNs,
    dispatchBoundNs: round(dBound, 1), combineBoundNs: round(cBound, 1),
    expertComputeBoundNs: round(expertComputeBoundNs(shape, plan, { peakTflops: t.endpoint.peakTflops, efficiency: t.endpoint.computeEfficiency }), 1),
    dispatchErrorPct: dBound > 0 ? round(((dispatchNs - dBound) / dBound) * 100, 3) : 0,
    dispatchGBpsPerRank: perRank(shape.dispatchBytesPerToken, dispatchNs),
    combineGBpsPerRank: perRank(shape.combineBytesPerToken, combineNs),
    maxOverMeanLoad: round(maxOverMeanLoad(processed), 4),
    expertMaxOverMeanLoad: round(maxOverMeanLoad(plan.expertLoad), 4),
    rankLoads: processed,
    hottestExperts: Array.from(plan.expertDemand.keys()).sort((a, b) => plan.expertDemand[b]! - plan.expertDemand[a]! || a - b).slice(0, 5)
      .map((e) => ({ expert: e, demand: plan.expertDemand[e]!, processed: plan.expertLoad[e]!, dropped: droppedPerExpert[e] ?? 0 })),
    droppedTokens: dropped,
    droppedPerExpert,
    hottestLinks: hottestLinks([dLinks, cLinks], t, 3),
    verified: problem === undefined,
    ...(problem ? { verifyError: problem } : {}),
    startNs, endNs,
    messages: out.messages,
    wallMs: round(wallMs, 1),
  };
}

/** A rank's combined tokens against expectedCombined (the affine fold of its choices, not the message path). */
function checkRank(layer: MoeLayer, rank: number, got: Float64Array): string | undefined {
  const T = layer.shape.tokensPerRank;
  if (got.length !== T * TOKEN_ELEMENTS) return `rank ${rank}: ${got.length} elements, expected ${T * TOKEN_ELEMENTS}`;
  for (let t = 0; t < T; t++) {
    const g = rank * T + t;
    const want = expectedCombined(layer.seed, layer.shape, layer.choices, g, droppedKs(layer, g));
    const p = checkCombined(g, got.subarray(t * TOKEN_ELEMENTS, (t + 1) * TOKEN_ELEMENTS), want);
    if (p) return `rank ${rank}: ${p}`;
  }
  return undefined;
}

function describeGating(spec: OpSpec): string {
  const g = spec.moe?.gating;
  switch (g?.kind) {
    case undefined: return "?";
    case "zipf": return `zipf(${g.exponent})`;
    case "hot": return `hot(${g.hotFraction},${g.hotShare})`;
    default: return g?.kind ?? "?";
  }
}

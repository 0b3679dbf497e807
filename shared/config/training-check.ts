import { GB, memoryPerRank, moeLayers } from "../compute/index.js";
import { ScenarioError } from "../errors/index.js";
import type { Topology } from "../topology/index.js";
import { groupByNode } from "../topology/index.js";
import { MESSAGE_BUDGET_BYTES } from "./check.js";
import type { TrainingWorkload } from "./training-resolve.js";

const fmt = (bytes: number) => (bytes / GB).toFixed(1);

/**
 * Checks a training plan against the topology before any actor starts, naming the field: the plan
 * fills the endpoints (dp × tp × pp = ranks), TP stays inside a node, EP divides DP and the experts,
 * the batch splits into whole micro-steps, the tiny widths split over TP, and a rank's share of the
 * model fits its HBM (weights, gradients, optimizer state, activations: shared/compute memory.ts).
 */
export function checkTraining(w: TrainingWorkload, at: string, t: Topology, standby = false): TrainingWorkload {
  const { dp, tp, pp, ep } = w.parallel, m = w.model;
  const p = `${at}.parallel`;
  if (pp > 1) throw new ScenarioError(`${p}.pp`, "pipeline parallelism is not emulated (no 1F1B schedule yet): use pp: 1");
  const ranks = t.endpoints.length;
  // With recovery policy spare the NPUs left over stand by (docs/chaos.md §7.4); else the plan fills the topology.
  if (standby ? dp * tp * pp >= ranks : dp * tp * pp !== ranks) {
    const unit = t.rankUnit === "die" ? "dies" : "NPUs";
    throw new ScenarioError(p, standby
      ? `dp × tp × pp = ${dp} × ${tp} × ${pp} = ${dp * tp * pp}, but the topology has ${ranks} ${unit}: recovery policy spare needs some left over to stand by`
      : `dp × tp × pp = ${dp} × ${tp} × ${pp} = ${dp * tp * pp}, but the topology has ${ranks} ${unit} (Megatron-LM's rule: they must be equal; with recovery: { policy: spare } the rest stand by)`);
  }
  const perNode = groupByNode(t.endpoints, t).map((g) => g.length);
  if (perNode.some((n) => n % tp !== 0)) throw new ScenarioError(`${p}.tp`, `TP stays inside a node: tp ${tp} must divide the ${perNode[0]} endpoints of every node`);
  if (m.experts === 0 && ep !== 1) throw new ScenarioError(`${p}.ep`, `${m.name} has no experts: ep must be 1`);
  if (dp % ep !== 0) throw new ScenarioError(`${p}.ep`, `ep ${ep} must divide dp ${dp}`);
  if (m.experts > 0 && m.experts % ep !== 0) throw new ScenarioError(`${p}.ep`, `ep ${ep} must divide the ${m.experts} experts`);
  if (moeLayers(m) > 0 && tp > 1) throw new ScenarioError(`${p}.tp`, "MoE layers with tp > 1 need expert tensor parallelism, which is not emulated: use tp: 1 (DP × EP) for MoE models");
  if (m.topK > m.experts) throw new ScenarioError(`${at}.model.topK`, `top-${m.topK} of ${m.experts} experts`);
  if (w.globalBatch % (dp * w.microBatch) !== 0) {
    throw new ScenarioError(`${at}.globalBatch`, `${w.globalBatch} sequences do not split into micro-steps of dp × microBatch = ${dp * w.microBatch}`);
  }
  for (const k of ["hidden", "expertHidden"] as const) {
    if (w.numerics[k] % tp !== 0) throw new ScenarioError(`${at}.numerics.${k}`, `${w.numerics[k]} must divide by tp ${tp}`);
  }
  if (m.ffnIntermediate % tp !== 0 || m.heads % tp !== 0) throw new ScenarioError(`${p}.tp`, `tp ${tp} must divide the model's heads (${m.heads}) and FFN width (${m.ffnIntermediate})`);
  checkMemory(w, t, p);
  checkWire(w, at);
  return { ...w, dpAlgorithm: w.dpAlgorithm === "default" ? defaultDpAlgorithm(t) : w.dpAlgorithm };
}

/**
 * The gradient sync's default algorithm per preset: node-aware on CloudMatrix384 (a ring inside each
 * node, then one across nodes: 7 + 47 steps instead of 383 at full size, the inter-node traffic of the
 * ring at a 48th of the step count), the flat ring on single-tier NVL72 and on custom fabrics.
 */
function defaultDpAlgorithm(t: Topology): "ring" | "hierarchical" {
  return t.preset === "cloudmatrix384" && t.nodes.length > 1 ? "hierarchical" : "ring";
}

function checkMemory(w: TrainingWorkload, t: Topology, at: string): void {
  const mem = memoryPerRank(w.model, { ...w.parallel, zero: w.zero, recompute: w.recompute, microBatch: w.microBatch, seqLen: w.seqLen, gradBytes: w.gradBytes });
  const hbm = t.endpoint.hbmGB * GB;
  if (mem.total > hbm) {
    throw new ScenarioError(at, `needs ${fmt(mem.total)} GB per ${t.rankUnit === "die" ? "die" : "NPU"}, ${t.preset} has ${fmt(hbm)} GB ` +
      `(weights ${fmt(mem.weights)}, gradients ${fmt(mem.gradients)}, optimizer ${fmt(mem.optimizer)}, activations ${fmt(mem.activations)} GB; ` +
      "try zero: 1, recompute: full, gradBytes: 2, a larger ep or tp)");
  }
}

/** A rank's tiny parameters travel in its op-start and op-done: they must fit a NATS message. */
function checkWire(w: TrainingWorkload, at: string): void {
  const { hidden: h, expertHidden: f } = w.numerics;
  const m = w.model, layers = w.repeatLayers ? (m.denseLayers > 0 ? 1 : 0) + (moeLayers(m) > 0 ? 1 : 0) : m.layers;
  const perLayer = h * h + 2 * f * h + m.experts * h + ((m.experts / w.parallel.ep) + m.sharedExperts) * 2 * f * h;
  const bytes = 8 * layers * perLayer;
  if (bytes > MESSAGE_BUDGET_BYTES) throw new ScenarioError(`${at}.numerics.hidden`, `a rank's tiny parameters take ${bytes} bytes, more than a message carries (${MESSAGE_BUDGET_BYTES}): use smaller numerics widths or repeatLayers`);
}

import type { TrainingWorkload } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { PRESET_NAMES, PRESETS, type PresetName } from "../../shared/topology/index.js";

/** A preset at full size, as the mapping sees it: its accelerators, and how many share a node (TP's limit). */
export interface PresetSize {
  readonly name: PresetName;
  readonly accelerators: number;
  readonly nodeSize: number;
}

export function presetSize(name: string): PresetSize {
  if (!PRESET_NAMES.includes(name as PresetName)) throw new ScenarioError("--presets", `unknown preset "${name}" (presets: ${PRESET_NAMES.join(", ")})`);
  const p = PRESETS[name as PresetName];
  return { name: name as PresetName, accelerators: p.nodes * p.npusPerNode, nodeSize: p.npusPerNode };
}

/** The parts of a training plan the mapping reads or rewrites (pp is always 1: the loader refuses more). */
export interface Plan {
  readonly dp: number;
  readonly tp: number;
  readonly ep: number;
  readonly globalBatch: number;
  readonly microBatch: number;
  readonly seqLen: number;
  /** Routed experts of the model (0: dense). */
  readonly experts: number;
}

export const planOf = (w: TrainingWorkload): Plan => ({
  dp: w.parallel.dp, tp: w.parallel.tp, ep: w.parallel.ep, globalBatch: w.globalBatch, microBatch: w.microBatch, seqLen: w.seqLen, experts: w.model.experts,
});

/** The scenario's plan carried to one preset, and the line that says what changed (printed for every preset). */
export interface Mapping {
  readonly preset: PresetName;
  readonly from: Plan & { readonly accelerators: number };
  readonly to: Plan & { readonly accelerators: number };
  /** globalBatch / accelerators before and after: equal unless whole micro-steps forced a larger batch. */
  readonly sequencesPerAccelerator: { readonly from: number; readonly to: number };
  readonly line: string;
}

/** The largest d ≤ limit with ok(d); 1 always qualifies. */
function largest(limit: number, ok: (d: number) => boolean): number {
  for (let d = limit; d > 1; d--) if (ok(d)) return d;
  return 1;
}

/**
 * docs/training.md §5: keep the model, seqLen, microBatch and the sequences per accelerator; keep tp if
 * it divides a node of the preset, else the largest divisor of the node below it; dp = accelerators / tp;
 * ep = the largest divisor of both dp and the experts that is ≤ the scenario's ep (1 for dense models).
 * globalBatch scales with the accelerators, rounded up to whole micro-steps (dp × microBatch) if it must be.
 */
export function mapPlan(from: Plan, preset: PresetSize): Mapping {
  const n = from.dp * from.tp, n2 = preset.accelerators;
  const tp = largest(Math.min(from.tp, preset.nodeSize), (d) => preset.nodeSize % d === 0);
  const dp = n2 / tp;
  const ep = from.experts === 0 ? 1 : largest(Math.min(from.ep, dp), (d) => dp % d === 0 && from.experts % d === 0);
  const perMicroStep = dp * from.microBatch;
  const globalBatch = Math.ceil((from.globalBatch * n2) / n / perMicroStep) * perMicroStep;
  const to = { ...from, dp, tp, ep, globalBatch, accelerators: n2 };
  const spa = { from: from.globalBatch / n, to: globalBatch / n2 };
  return { preset: preset.name, from: { ...from, accelerators: n }, to, sequencesPerAccelerator: spa, line: mappingLine(preset, { ...from, accelerators: n }, to, spa) };
}

const num = (x: number): string => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(3))));
const sequences = (x: number): string => `${num(x)} sequence${x === 1 ? "" : "s"}`;

function mappingLine(preset: PresetSize, a: Mapping["from"], b: Mapping["to"], spa: Mapping["sequencesPerAccelerator"]): string {
  const changes: string[] = [];
  if (a.tp !== b.tp) changes.push(`tp ${a.tp}→${b.tp} (TP stays inside a node: ${preset.nodeSize} per node)`);
  for (const k of ["dp", "ep", "globalBatch"] as const) if (a[k] !== b[k]) changes.push(`${k} ${a[k]}→${b[k]}`);
  const batch = spa.from === spa.to
    ? `same ${sequences(spa.to)} per accelerator`
    : `sequences per accelerator ${num(spa.from)}→${num(spa.to)}: globalBatch must be a multiple of dp × microBatch = ${b.dp * b.microBatch}`;
  const what = changes.length ? changes.join(", ") : `unchanged: dp ${b.dp} × tp ${b.tp} × ep ${b.ep}, globalBatch ${b.globalBatch}`;
  return `${preset.name}: ${what} (${batch})`;
}

/** The scenario's raw training workload with the mapped plan written in (its model and other fields as they were). */
export function mappedWorkload(raw: Record<string, unknown>, m: Mapping): Record<string, unknown> {
  const { dp, tp, ep, globalBatch, microBatch, seqLen } = m.to;
  return { ...raw, parallel: { dp, tp, pp: 1, ep }, globalBatch, microBatch, seqLen };
}

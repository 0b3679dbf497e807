import { loadScenario, type Loaded, type TrainingWorkload, type Workload } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { describeTopology, PRESETS } from "../../shared/topology/index.js";
import { mappedWorkload, mapPlan, planOf, presetSize, type Mapping } from "./compare-map.js";
import { hardwareOf, type Hardware } from "./compare-rows.js";

const CM384 = PRESETS.cloudmatrix384;
const CM384_NPUS = CM384.nodes * CM384.npusPerNode;

/**
 * The workload `supernode compare` runs with no scenario file: Llama 3 8B, data parallel over all of
 * CloudMatrix384 (mapped to every other preset), one 1024-token sequence per accelerator, 2 steps.
 * Buckets of 8 layers (default 4) halve the DP collectives a step runs and with them the sim's wall
 * time at 384 ranks (measured on 2 busy cores: 33.8 s → 16.5 s of CPU for the CM384 run; NVL72 ~4 s);
 * 4 buckets still overlap the backward.
 */
export const COMPARE_DEFAULT_SCENARIO = {
  name: "compare default: Llama 3 8B, DP over every accelerator, one 1024-token sequence each",
  topology: { preset: "cloudmatrix384" },
  workload: {
    kind: "training", model: "llama3-8b", parallel: { dp: CM384_NPUS, tp: 1, pp: 1, ep: 1 },
    seqLen: 1024, microBatch: 1, globalBatch: CM384_NPUS, steps: 2, zero: 1, repeatLayers: true, bucketLayers: 8,
  },
  seed: 1,
} as const;

/** The scenario as given (validated on its own topology) and its training workload, raw and resolved. */
export interface Source {
  readonly loaded: Loaded;
  readonly workload: TrainingWorkload;
  readonly rawWorkload: Record<string, unknown>;
  /** Which workload of a list was taken, when the scenario has several. */
  readonly note?: string;
}

export interface SourceOptions {
  readonly file?: string | undefined;
  /** A scenario object (tests); wins over `file`. */
  readonly raw?: unknown;
  readonly sets?: readonly string[];
  /** Checked here, with the scenario, so that a bad engine name fails the command rather than one preset. */
  readonly engine?: string;
}

export function loadSource(o: SourceOptions): Source {
  const loaded = loadScenario({ file: o.file, raw: o.raw ?? (o.file ? undefined : COMPARE_DEFAULT_SCENARIO), sets: o.sets ?? [], engine: o.engine });
  const all = loaded.scenario.workloads;
  const i = all.findIndex((w) => w.kind === "training");
  if (i < 0) throw new ScenarioError("workload", `compare runs a kind: training workload; this scenario has ${all.map((w: Workload) => w.kind).join(", ")}`);
  const raw = (loaded.raw as { workload: unknown }).workload;
  return {
    loaded, workload: all[i] as TrainingWorkload, rawWorkload: (Array.isArray(raw) ? raw[i] : raw) as Record<string, unknown>,
    ...(all.length > 1 ? { note: `workload[${i}], the first training workload of ${all.length}; the others are not run` } : {}),
  };
}

/** A preset with the plan mapped to it: loaded and ready to run, or the loader's reason why not (HBM fit…). */
export type Prepared =
  | { readonly preset: string; readonly mapping: Mapping; readonly loaded: Loaded }
  | { readonly preset: string; readonly mapping: Mapping; readonly error: string; readonly hardware: Hardware };

export function preparePreset(src: Source, name: string, engine: string): Prepared {
  const mapping = mapPlan(planOf(src.workload), presetSize(name));
  const raw = { ...(src.loaded.raw as object), workload: mappedWorkload(src.rawWorkload, mapping) };
  try {
    const loaded = loadScenario({ raw, preset: name, engine });
    if (loaded.topology.endpoints.length !== mapping.to.accelerators) {
      throw new Error(`${name}: mapped for ${mapping.to.accelerators} accelerators, the preset has ${loaded.topology.endpoints.length}`);
    }
    return { preset: name, mapping, loaded };
  } catch (err) {
    if (!(err instanceof ScenarioError)) throw err;
    return { preset: name, mapping, error: err.message, hardware: presetHardware(name) };
  }
}

/** A preset's hardware without a run: its full-size topology under the default scenario. */
function presetHardware(name: string): Hardware {
  const t = loadScenario({ preset: name }).topology;
  return hardwareOf(describeTopology(t), t.endpoint.hbmGB);
}

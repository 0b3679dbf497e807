import { ScenarioError } from "../errors/index.js";
import { algorithmsOf } from "../workload/index.js";
import type { Algorithm, Collective } from "../protocol/index.js";
import {
  PRESETS, PRESET_NAMES,
  type CustomSpec, type PresetName, type SingleTierParams, type TopologySpec, type TwoTierParams,
} from "../topology/index.js";
import { parseSize } from "../units/index.js";
import { checkHardwareValue, HW_KEYS } from "./hardware-keys.js";
import { resolveMoeWorkload, type MoeWorkload } from "./moe-resolve.js";
import { resolveTrainingWorkload, type TrainingWorkload } from "./training-resolve.js";
import type { RawScenario } from "./schema.js";
import { DEFAULT_LIMITS, type ActorLimits } from "../runtime/index.js";
import { DEFAULT_TRACE_DETAIL, DEFAULT_TRACE_MAX_EVENTS, type TraceDetail } from "../trace/index.js";
import type { FaultDecl } from "./fault-resolve.js";
import type { RecoveryPolicy } from "./process-faults.js";

export const DTYPE_BYTES = { bf16: 2, fp16: 2, fp32: 4, int8: 1 } as const;
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** Real elements moved per rank are about this many, so payloads stay small while data is real. */
export const TARGET_REAL_ELEMENTS = 64;

export interface CollectiveWorkload {
  readonly kind: "collective";
  readonly collective: Collective;
  readonly algorithm: Algorithm;
  readonly sizes: readonly number[];
  /** "all" until the topology is known; then a number. */
  readonly ranks: number | "all";
  readonly dtype: keyof typeof DTYPE_BYTES;
  readonly root: number;
  readonly chunkBytes: number;
  readonly realElementsPerChunk: number | undefined;
}

export type Workload = CollectiveWorkload | MoeWorkload | TrainingWorkload;

/** Which actor runs where, and the wall-time guards of the NATS engine (never part of the model). */
export interface Deployment {
  /**
   * auto: one process per actor up to MAX_PER_ACTOR_PROCESSES actors, else grouped by node;
   * external: actors are started by someone else (containers, other machines) and only awaited.
   */
  readonly placement: "auto" | "per-actor" | "grouped" | "external";
  /** NATS server URL(s), comma-separated; empty: start a private nats-server. */
  readonly nats: string;
  /**
   * How many private nats-servers to start when `nats` is empty: 1, or 3 clustered (every connection
   * gets all three URLs and reconnects to a survivor when one is lost). Default 1.
   */
  readonly natsServers: 1 | 3;
  /** Subject namespace of the run; empty: a fresh random one (external actors need it fixed). */
  readonly run: string;
  readonly heartbeatMs: number;
  readonly heartbeatTimeoutMs: number;
  /** No progress for this long ends the run as stalled. */
  readonly watchdogMs: number;
  readonly startTimeoutMs: number;
  /**
   * Actors that share a host process hand each other their messages directly instead of through the
   * server (the same edge checks, the same FIFO order per sender). Default true; it matters only
   * when several actors share a process (grouped placement): one actor per process is pure NATS.
   */
  readonly localDelivery: boolean;
  /**
   * NATS engine: how switch ports meet virtual time. wall (default): each actor handles its messages as
   * they arrive, so ports serve in wall order and a contended step may differ from the sim by a few
   * percent; exact: the coordinator advances every actor in conservative windows of virtual time
   * (docs/nats-engine.md §9.1), so ports serve in virtual order as in the sim — slower (a round of
   * control messages per window).
   */
  readonly timing: "wall" | "exact";
  /**
   * Grouped placement: how many nodes (each with its endpoints and node-local switches) share one host
   * process. auto: the local NATS engine packs the nodes into about two host processes per CPU core
   * (one node per host where there are cores enough); compose files get one container per node.
   */
  readonly nodesPerHost: "auto" | number;
  /**
   * How often an actor's NATS client pings its server; two pings unanswered and it reconnects. The
   * NATS default (2 min) keeps a busy host from reconnecting needlessly; a network partition of
   * containers is noticed only this way (their TCP connections hang without a reset), so chaos
   * scenarios set a few seconds.
   */
  readonly pingIntervalMs: number;
  /** What each actor may buffer and remember (shared/runtime limits.ts): bounds against floods and replays. */
  readonly limits: ActorLimits;
}

export const DEFAULT_DEPLOYMENT: Deployment = {
  placement: "auto", nats: "", natsServers: 1, run: "", heartbeatMs: 500, heartbeatTimeoutMs: 3_000, watchdogMs: 10_000, startTimeoutMs: 120_000, localDelivery: true, timing: "wall", nodesPerHost: "auto", pingIntervalMs: 120_000,
  limits: DEFAULT_LIMITS,
};

/** A validated scenario with every default filled in and every unit resolved. */
export interface Scenario {
  readonly name: string;
  readonly topology: TopologySpec;
  /** Run one after another in virtual time (`workload:` may be one workload or a list). */
  readonly workloads: readonly Workload[];
  readonly engine: "sim" | "nats";
  readonly deployment: Deployment;
  readonly seed: number;
  readonly outputs: { readonly dir: string; readonly trace: { readonly detail: TraceDetail; readonly maxEvents: number } };
  /** Declared faults and recovery policy (docs/chaos.md): present only when the scenario declares them. */
  readonly faults?: readonly FaultDecl[];
  readonly recovery?: RecoveryPolicy;
}

function sizeAt(path: string, v: string | number): number {
  const s = parseSize(v);
  if (typeof s === "string") throw new ScenarioError(path, s);
  if (s <= 0) throw new ScenarioError(path, "must be > 0 bytes");
  return s;
}

type RawWorkload = Exclude<RawScenario["workload"], readonly unknown[]>;
type RawCollective = Extract<RawWorkload, { kind: "collective" }>;

function resolveSizes(raw: RawCollective["sizes"], at: string): number[] {
  if (Array.isArray(raw)) return raw.map((v, i) => sizeAt(`${at}.sizes[${i}]`, v));
  const from = sizeAt(`${at}.sizes.from`, raw.from), to = sizeAt(`${at}.sizes.to`, raw.to);
  if (to < from) throw new ScenarioError(`${at}.sizes.to`, "must be ≥ from");
  const out: number[] = [];
  for (let s = from; s <= to; s *= raw.factor) out.push(s);
  return out;
}

function resolveTopology(raw: RawScenario["topology"]): TopologySpec {
  const { preset, switches, rankUnit, custom, ...hw } = raw;
  if (preset !== "custom" && !PRESET_NAMES.includes(preset as PresetName)) {
    throw new ScenarioError("topology.preset", `unknown preset "${preset}" (one of: ${[...PRESET_NAMES, "custom"].join(", ")})`);
  }
  const base: Record<string, number> = preset === "custom"
    ? { switchLatencyNs: 150, endpointOverheadNs: 400, npuPeakTflopsBf16: 752, hbmBandwidthGBps: 3200, hbmGB: 128, computeEfficiency: 1, hbmEfficiency: 1, linkEfficiency: 1 }
    : Object.fromEntries(Object.entries(PRESETS[preset as PresetName]).filter(([k]) => k !== "kind")) as Record<string, number>;
  const allowed = new Set(Object.keys(base));
  if (preset === "cloudmatrix384") allowed.add("linkLatencyNs");
  const params: Record<string, number> = { ...base };
  for (const [k, v] of Object.entries(hw)) {
    const kind = HW_KEYS[k];
    if (!kind) throw new ScenarioError(`topology.${k}`, `unknown key (hardware parameters: ${Object.keys(HW_KEYS).join(", ")})`);
    if (!allowed.has(k)) throw new ScenarioError(`topology.${k}`, `not a parameter of preset ${preset} (it has: ${[...allowed].join(", ")})`);
    params[k] = checkHardwareValue(`topology.${k}`, kind, v);
  }
  if (preset === "cloudmatrix384" && "linkLatencyNs" in hw) {
    // One knob for both link kinds, unless each is given on its own.
    if (!("intraNodeLinkLatencyNs" in hw)) params.intraNodeLinkLatencyNs = params.linkLatencyNs!;
    if (!("interNodeLinkLatencyNs" in hw)) params.interNodeLinkLatencyNs = params.linkLatencyNs!;
    delete params.linkLatencyNs;
  }
  const common = { preset, switches: switches ?? "aggregated", rankUnit: rankUnit ?? "npu" } as const;
  if (preset === "custom") {
    if (!custom) throw new ScenarioError("topology.custom", "preset custom needs a custom: { devices, links } section");
    return { kind: "custom", spec: { ...params, devices: custom.devices, links: custom.links } as unknown as CustomSpec };
  }
  if (custom) throw new ScenarioError("topology.custom", `only allowed with preset custom, not ${preset}`);
  if (preset === "cloudmatrix384") {
    if (common.rankUnit === "die" && params.diesPerNpu !== 2) {
      throw new ScenarioError("topology.diesPerNpu", "rankUnit die models two dies joined by the on-package link: diesPerNpu must be 2");
    }
    if (common.rankUnit === "die" && params.linksPerNpuPerL1! % params.diesPerNpu! !== 0) {
      throw new ScenarioError("topology.linksPerNpuPerL1", `must be a multiple of diesPerNpu (${params.diesPerNpu}) with rankUnit die`);
    }
    return { kind: "two-tier", params: { ...params, ...common } as unknown as TwoTierParams };
  }
  if (common.rankUnit === "die") throw new ScenarioError("topology.rankUnit", `${preset} exposes each GPU as one device; use npu`);
  return { kind: "single-tier", params: { ...params, ...common } as unknown as SingleTierParams };
}

function resolveWorkload(w: RawWorkload, at: string): Workload {
  if (w.kind === "moe-layer") return resolveMoeWorkload(w, at);
  if (w.kind === "training") return resolveTrainingWorkload(w, at);
  const algos = algorithmsOf(w.collective);
  const algorithm = w.algorithm ?? algos[0]!;
  if (!algos.includes(algorithm)) {
    throw new ScenarioError(`${at}.algorithm`, `${w.collective} has no ${algorithm} algorithm (one of: ${algos.join(", ")})`);
  }
  return {
    kind: "collective",
    collective: w.collective,
    algorithm,
    sizes: resolveSizes(w.sizes, at),
    ranks: w.ranks ?? "all",
    dtype: w.dtype ?? "bf16",
    root: w.root ?? 0,
    chunkBytes: w.chunkBytes === undefined ? DEFAULT_CHUNK_BYTES : sizeAt(`${at}.chunkBytes`, w.chunkBytes),
    realElementsPerChunk: w.realElementsPerChunk,
  };
}

/** Raw (schema-checked) scenario → resolved scenario; throws ScenarioError naming the field. */
export function resolveScenario(raw: RawScenario): Scenario {
  return {
    name: raw.name ?? "",
    topology: resolveTopology(raw.topology),
    workloads: Array.isArray(raw.workload)
      ? raw.workload.map((w, i) => resolveWorkload(w, `workload[${i}]`))
      : [resolveWorkload(raw.workload, "workload")],
    engine: raw.engine ?? "nats",
    deployment: resolveDeployment(raw.deployment, raw.faults !== undefined && raw.faults.length > 0),
    seed: raw.seed ?? 1,
    outputs: {
      dir: raw.outputs?.dir ?? "out",
      trace: { detail: raw.outputs?.trace?.detail ?? DEFAULT_TRACE_DETAIL, maxEvents: raw.outputs?.trace?.maxEvents ?? DEFAULT_TRACE_MAX_EVENTS },
    },
  };
}

/** The deployment section with its defaults; an embedded cluster only where the servers are embedded. */
function resolveDeployment(raw: RawScenario["deployment"], faults: boolean): Deployment {
  if (raw?.nats && raw.natsServers === 3) {
    throw new ScenarioError("deployment.natsServers", "3 starts an embedded cluster, but deployment.nats names servers to use; drop one of the two");
  }
  if (raw?.timing === "exact" && faults) {
    // Its windows count every data message sent against every one received; lost messages and
    // restarted actors (fresh counts) would hold a window open for ever (docs/nats-engine.md §9.1).
    throw new ScenarioError("deployment.timing", "exact does not take faults yet: run the faults with timing: wall (the default)");
  }
  return { ...DEFAULT_DEPLOYMENT, ...raw, limits: { ...DEFAULT_LIMITS, ...raw?.limits } };
}

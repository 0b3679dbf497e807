import { ScenarioError } from "../errors/index.js";
import { FAULT_KINDS, FAULT_LIMITS, FaultKind } from "../protocol/index.js";
import { onGrid } from "../units/index.js";
import { isProcessFault, PROCESS_FAULT_KINDS, type ProcessFaultKind } from "./process-faults.js";
import { flapParams, lossParams, pickParams, type DrawParams } from "./fault-params.js";

/** Kinds of the issue's catalogue that this slice does not inject yet: refused at load, never ignored. */
export const NOT_YET_KINDS: readonly string[] = [];

const AT_HELP = "at: { step: k }, { op: k } or { collective: name, index: k }; with npu-crash or npu-hang also afterNs: x or phase: text; or at: { wallMs: x } or { virtualNs: x }";
/** at: { wallMs } at most a day after the run started (the bounds of afterNs and phase are the wire's, FAULT_LIMITS). */
const WALL_MS_LIMIT = 86_400_000;
/** link-degrade keys of the issue that this slice does not support yet. */
const NOT_YET_DEGRADE = [] as const;

/**
 * When a fault starts: the k-th training step of the run, or its k-th op (every op counts, steps too);
 * 0-based. A crash or hang may strike inside it (docs/chaos.md §3): `afterNs` of virtual time after
 * the op's start, or where the NPU's program opens a span whose name contains `phase`. `wallMs`: that
 * long after the run started, on the coordinator's clock, into whatever op is running (as `supernode
 * chaos` would; a wire fault then starts at the next op). `virtualNs`: at that virtual time of the run
 * — a crash or hang strikes there, inside whatever op runs then; a wire fault starts with the first op
 * that begins at or after it.
 */
export type FaultAt =
  | { readonly step: number; readonly afterNs?: number; readonly phase?: string }
  | { readonly op: number; readonly afterNs?: number; readonly phase?: string }
  | { readonly collective: string; readonly index: number; readonly afterNs?: number; readonly phase?: string }
  | { readonly wallMs: number }
  | { readonly virtualNs: number };

/** A trigger inside its op (a halt on the wire), not at its start. */
export const isMidOp = (at: FaultAt): boolean => "afterNs" in at || "phase" in at || "virtualNs" in at;
/** For how long (absent: to the end of the run), in the trigger's unit. */
export type FaultDuration = { readonly steps: number } | { readonly ops: number };

/**
 * One declared fault, validated and with its defaults: what the resolved scenario (and its hash) holds.
 * The parameters of link-flap, message-* and link-degrade loss are DrawParams (fault-params.ts).
 */
export interface FaultDecl extends DrawParams {
  /** A wire fault (sent to the actors that apply it) or a process fault (the engine stops the actor). */
  readonly kind: FaultKind | ProcessFaultKind;
  /** An actor name, or a link `from->to` (one direction) / `a<->b` (both). */
  readonly target: string;
  readonly at: FaultAt;
  readonly duration?: FaultDuration;
  readonly bandwidthFactor?: number;
  readonly latencyNs?: number;
  readonly factor?: number;
  /** partition: how many attempts of its op it cuts (the retries after them run healed); default 1. */
  readonly attempts?: number;
}
const KEYS: Readonly<Record<FaultKind | ProcessFaultKind, readonly string[]>> = {
  "npu-crash": [],
  "npu-hang": [],
  "nats-server-loss": [],
  partition: ["attempts"],
  [FaultKind.LinkDegrade]: ["bandwidthFactor", "latencyNs", "lossPct", "corruptPct", "retryNs", "seed", ...NOT_YET_DEGRADE],
  [FaultKind.LinkFlap]: ["periodNs", "duty", "phaseNs"],
  [FaultKind.MessageDuplicate]: ["pct", "seed"],
  [FaultKind.MessageReorder]: ["pct", "seed"],
  [FaultKind.LinkDown]: [],
  [FaultKind.SwitchCrash]: [],
  [FaultKind.Straggler]: ["factor"],
  [FaultKind.Halt]: [], // not declared: a mid-op npu-crash or npu-hang goes on the wire as a halt
};
const COMMON = ["kind", "target", "at", "duration"];

type Raw = Record<string, unknown>;

function isMap(x: unknown): x is Raw {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function count(x: unknown, path: string, min: number): number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < min) throw new ScenarioError(path, `must be an integer ≥ ${min}, got ${JSON.stringify(x)}`);
  return x;
}

const IMPLEMENTED: readonly string[] = [...FAULT_KINDS.filter((k) => k !== FaultKind.Halt), ...PROCESS_FAULT_KINDS];

function kindOf(x: unknown, path: string): FaultKind | ProcessFaultKind {
  if (IMPLEMENTED.includes(x as string)) return x as FaultKind | ProcessFaultKind;
  if ((NOT_YET_KINDS as readonly unknown[]).includes(x)) {
    throw new ScenarioError(path, `${String(x)} is not implemented yet (implemented: ${IMPLEMENTED.join(", ")}; docs/chaos.md)`);
  }
  throw new ScenarioError(path, `unknown fault kind ${JSON.stringify(x)} (implemented: ${IMPLEMENTED.join(", ")}${NOT_YET_KINDS.length ? `; not yet: ${NOT_YET_KINDS.join(", ")}` : ""})`);
}

function atOf(x: unknown, path: string, kind: FaultKind | ProcessFaultKind): FaultAt {
  if (x === undefined) throw new ScenarioError(path, "required: { step: k } (training) or { op: k } (the run's k-th op), 0-based, or { wallMs: x }");
  if (!isMap(x)) throw new ScenarioError(path, `must be a map (${AT_HELP})`);
  for (const k of Object.keys(x)) {
    if (!["step", "op", "collective", "index", "afterNs", "phase", "wallMs", "virtualNs"].includes(k)) throw new ScenarioError(`${path}.${k}`, `unknown key (${AT_HELP})`);
  }
  if ("wallMs" in x) {
    const other = Object.keys(x).find((k) => k !== "wallMs");
    if (other) throw new ScenarioError(`${path}.${other}`, "at: { wallMs: x } stands alone: it strikes whatever op runs then");
    const ms = x.wallMs;
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0 || ms > WALL_MS_LIMIT) throw new ScenarioError(`${path}.wallMs`, `ms after the run started, in [0, ${WALL_MS_LIMIT}], got ${JSON.stringify(ms)}`);
    return { wallMs: ms };
  }
  if ("virtualNs" in x) {
    const other = Object.keys(x).find((k) => k !== "virtualNs");
    if (other) throw new ScenarioError(`${path}.${other}`, "at: { virtualNs: x } stands alone: it strikes whatever op runs at that virtual time");
    if (kind === "nats-server-loss") throw new ScenarioError(`${path}.virtualNs`, "a server loss is the coordinator's, in wall time: use at: { step | op: k } or { wallMs: x }");
    const ns = x.virtualNs;
    if (typeof ns !== "number" || !Number.isFinite(ns) || ns < 0 || ns > FAULT_LIMITS.afterNs) throw new ScenarioError(`${path}.virtualNs`, `virtual ns of the run, in [0, ${FAULT_LIMITS.afterNs}], got ${JSON.stringify(ns)}`);
    return { virtualNs: ns };
  }
  const named = ["step", "op", "collective"].filter((k) => k in x);
  if (named.length > 1) throw new ScenarioError(path, `give one of step, op and collective (got ${named.join(", ")})`);
  if ("index" in x && !("collective" in x)) throw new ScenarioError(`${path}.index`, "counts the ops of one collective: give collective: name with it");
  if (named.length === 0) throw new ScenarioError(path, `must name a step, an op or a collective (${AT_HELP})`);
  const base = "step" in x ? { step: count(x.step, `${path}.step`, 0) } : "op" in x ? { op: count(x.op, `${path}.op`, 0) } : collectiveAt(x, path);
  if (!("afterNs" in x) && !("phase" in x)) return base;
  if ("afterNs" in x && "phase" in x) throw new ScenarioError(path, "give one of afterNs and phase");
  if (kind !== "npu-crash" && kind !== "npu-hang") throw new ScenarioError(`${path}.${"afterNs" in x ? "afterNs" : "phase"}`, `only npu-crash and npu-hang strike inside an op; ${kind} starts at its op or step`);
  if ("afterNs" in x) {
    const ns = x.afterNs;
    if (typeof ns !== "number" || !Number.isFinite(ns) || ns < 0 || ns > FAULT_LIMITS.afterNs) throw new ScenarioError(`${path}.afterNs`, `virtual ns after the op's start, in [0, ${FAULT_LIMITS.afterNs}], got ${JSON.stringify(ns)}`);
    return { ...base, afterNs: ns };
  }
  const p = x.phase;
  if (typeof p !== "string" || p.trim() === "" || p.length > FAULT_LIMITS.phaseChars) throw new ScenarioError(`${path}.phase`, `a text of ≤ ${FAULT_LIMITS.phaseChars} characters that a span of the NPU's program contains (e.g. "backward", "EP dispatch", "optimizer"; docs/training.md lists them), got ${JSON.stringify(p)}`);
  return { ...base, phase: p };
}

/** at: { collective: "all-to-all", index: k }: the k-th op (0-based, default 0) of the run that is that collective. */
function collectiveAt(x: Record<string, unknown>, path: string): { collective: string; index: number } {
  const c = x.collective;
  if (typeof c !== "string" || c.trim() === "") throw new ScenarioError(`${path}.collective`, `the name of a collective of the run (all-reduce, all-to-all, moe-layer, training-step, …), got ${JSON.stringify(c)}`);
  return { collective: c, index: x.index === undefined ? 0 : count(x.index, `${path}.index`, 0) };
}

function durationOf(x: unknown, path: string, at: FaultAt): FaultDuration | undefined {
  if (x === undefined) return undefined;
  if (!isMap(x)) throw new ScenarioError(path, "must be { steps: n } or { ops: n }");
  const want = "step" in at ? "steps" : "ops";
  for (const k of Object.keys(x)) {
    if (k !== "steps" && k !== "ops") throw new ScenarioError(`${path}.${k}`, "unknown key (duration: { steps: n } or { ops: n })");
    if (k !== want) throw new ScenarioError(`${path}.${k}`, `at: { ${"step" in at ? "step" : "wallMs" in at ? "wallMs" : "virtualNs" in at ? "virtualNs" : "collective" in at ? "collective" : "op"}: … } counts ${want}: give duration: { ${want}: n }`);
  }
  return want === "steps" ? { steps: count(x.steps, `${path}.steps`, 1) } : { ops: count(x.ops, `${path}.ops`, 1) };
}

function fraction(x: unknown, path: string): number {
  if (typeof x !== "number" || !Number.isFinite(x) || x <= 0 || x > 1) throw new ScenarioError(path, `must be in (0, 1], got ${JSON.stringify(x)}`);
  return x;
}

/** The kind's own parameters, with defaults; keys of other kinds are unknown keys of this one. */
function paramsOf(f: Raw, kind: FaultKind | ProcessFaultKind, at: string): Pick<FaultDecl, "bandwidthFactor" | "latencyNs" | "factor" | "attempts"> & DrawParams {
  for (const k of Object.keys(f)) {
    if (COMMON.includes(k)) continue;
    if (!KEYS[kind].includes(k)) throw new ScenarioError(`${at}.${k}`, `unknown key for ${kind} (its keys: ${[...COMMON, ...KEYS[kind].filter((x) => !(NOT_YET_DEGRADE as readonly string[]).includes(x))].join(", ")})`);
    if ((NOT_YET_DEGRADE as readonly string[]).includes(k)) throw new ScenarioError(`${at}.${k}`, "not implemented yet (link-degrade: bandwidthFactor and latencyNs)");
  }
  switch (kind) {
    case FaultKind.LinkDegrade: {
      const bandwidthFactor = f.bandwidthFactor === undefined ? 1 : fraction(f.bandwidthFactor, `${at}.bandwidthFactor`);
      const lat = f.latencyNs ?? 0;
      if (typeof lat !== "number" || !Number.isFinite(lat) || lat < 0 || lat > FAULT_LIMITS.latencyNs) {
        throw new ScenarioError(`${at}.latencyNs`, `must be in [0, ${FAULT_LIMITS.latencyNs}] ns, got ${JSON.stringify(lat)}`);
      }
      const loss = lossParams(f, at);
      if (bandwidthFactor === 1 && lat === 0 && !loss.lossPct && !loss.corruptPct) throw new ScenarioError(at, "a link-degrade needs bandwidthFactor < 1 or latencyNs > 0 (or lossPct or corruptPct > 0)");
      return { bandwidthFactor, latencyNs: onGrid(lat), ...loss };
    }
    case FaultKind.Straggler: {
      const k = f.factor;
      if (k === undefined) throw new ScenarioError(`${at}.factor`, "required: compute takes factor × its roofline time");
      if (typeof k !== "number" || !Number.isFinite(k) || k <= 1 || k > FAULT_LIMITS.factor) throw new ScenarioError(`${at}.factor`, `must be in (1, ${FAULT_LIMITS.factor}], got ${JSON.stringify(k)}`);
      return { factor: k };
    }
    case FaultKind.LinkFlap: return flapParams(f, at);
    case FaultKind.Partition: {
      const n = f.attempts ?? 1;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 100) throw new ScenarioError(`${at}.attempts`, `an integer in [1, 100], got ${JSON.stringify(n)}`);
      return { attempts: n };
    }
    case FaultKind.MessageDuplicate:
    case FaultKind.MessageReorder: return pickParams(f, at);
    default: return {};
  }
}

/** `faults[i]` of the raw scenario → its declaration (topology and run length are checked in fault-plan.ts). */
export function resolveFaultDecl(f: Raw, at: string): FaultDecl {
  const kind = kindOf(f.kind, `${at}.kind`);
  if (typeof f.target !== "string" || f.target === "") throw new ScenarioError(`${at}.target`, "required: an actor name as report.json topology.actors lists them, or a link from->to");
  const when = atOf(f.at, `${at}.at`, kind);
  const duration = durationOf(f.duration, `${at}.duration`, when);
  if (duration && kind === FaultKind.Partition) throw new ScenarioError(`${at}.duration`, "a partition cuts the first `attempts` attempts of its op (default 1), then heals: it takes no duration");
  if (duration && isProcessFault(kind)) throw new ScenarioError(`${at}.duration`, `${kind} lasts until recovery: it takes no duration`);
  return { kind, target: f.target, at: when, ...(duration ? { duration } : {}), ...paramsOf(f, kind, at) };
}

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parse, parseDocument } from "yaml";
import { canonicalJson } from "../codec/index.js";
import { ScenarioError } from "../errors/index.js";
import { buildTopology, type Topology } from "../topology/index.js";
import { checkCollective, checkMoe } from "./check.js";
import { checkTraining } from "./training-check.js";
import { resolveScenario, type Scenario } from "./resolve.js";
import { scenarioListSchema, scenarioSchema } from "./schema.js";
import { compileFaults } from "./faults.js";
import type { FaultPlan } from "./fault-plan.js";
import type { RecoveryPolicy } from "./process-faults.js";

/** The scenario `supernode run` uses with no file: a collective on a small CloudMatrix384. */
export const DEFAULT_SCENARIO = {
  name: "default: ring all-reduce on a 2-node CloudMatrix384 slice",
  topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" },
  workload: { kind: "collective", collective: "all-reduce", algorithm: "ring", sizes: ["4KiB", "1MiB", "64MiB", "1GiB"], ranks: "all" },
  seed: 1,
} as const;

/**
 * The scenario `supernode compose` deploys with no file (and the root docker-compose.yml runs): the
 * default's all-reduce sweep, then one DeepSeek-V3 MoE layer (EP 8) with Zipf-skewed gating and a 1.25
 * capacity factor, so the copies of the hottest experts that find no room are dropped and counted.
 */
export const COMPOSE_DEFAULT_SCENARIO = {
  ...DEFAULT_SCENARIO,
  name: "compose default: ring all-reduce and an MoE layer on a 2-node CloudMatrix384 slice",
  workload: [
    DEFAULT_SCENARIO.workload,
    { kind: "moe-layer", hidden: 7168, experts: 256, topK: 8, sharedExperts: 1, tokensPerRank: 128, gating: { kind: "zipf", exponent: 0.8 }, capacityFactor: 1.25 },
  ],
} as const;

export interface LoadOptions {
  /** Scenario file path; the default scenario when absent. */
  readonly file?: string | undefined;
  /** A scenario given as an object (tests, programs driving the coordinator); wins over `file`. */
  readonly raw?: unknown;
  /** `key=value` overrides with dotted keys; values are parsed as YAML (`2`, `[4KiB, 1GiB]`, `ring`). */
  readonly sets?: readonly string[];
  /** Replaces the whole topology section with this preset at full size. */
  readonly preset?: string | undefined;
  readonly engine?: string | undefined;
}

/** A scenario, its compiled topology, and the hash that names it in reports. */
export interface Loaded {
  readonly scenario: Scenario;
  readonly topology: Topology;
  readonly resolved: unknown;
  readonly hash: string;
  /** The scenario object after overrides and before defaults: what actor hosts load to rebuild the same run. */
  readonly raw: unknown;
  /** The declared faults compiled against the topology and the run (absent: no fault declared). */
  readonly faultPlan?: FaultPlan;
}

function readRaw(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ScenarioError("", `cannot read scenario file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const e = doc.errors[0];
  if (e) {
    const line = e.linePos?.[0];
    const what = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new ScenarioError("", `malformed YAML in ${file}${line ? ` at line ${line.line}, column ${line.col}` : ""}: ${what}`);
  }
  const raw = doc.toJS() as unknown;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ScenarioError("", `${file} is not a YAML mapping`);
  return raw;
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** `a.b[2].c` → ["a", "b", 2, "c"]. */
function splitKeyPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split(".")) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new ScenarioError(path, "--set key is not a dotted path (e.g. topology.nodes, topology.custom.links[0].latencyNs)");
    if (m[1]) out.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** Formats a key path the way error messages name fields: `topology.custom.links[0].to`. */
export function formatPath(keys: readonly PropertyKey[]): string {
  return keys.reduce<string>((s, k) => (typeof k === "number" ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), "");
}

/** A map or a list of a raw scenario, indexed the way `--set` keys walk it. */
type Container = Record<string | number, unknown>;

/** `set workload[0].x or workload[1].x`: the indexed keys a user meant when they gave a list a map key. */
function indexedKeys(keys: readonly (string | number)[], i: number, n: number): string {
  const at = (j: number) => formatPath([...keys.slice(0, i), j, ...keys.slice(i)]);
  if (n === 0) return "the list is empty";
  if (n === 1) return `set ${at(0)}`;
  return n === 2 ? `set ${at(0)} or ${at(1)}` : `set ${at(0)} … ${at(n - 1)}`;
}

/**
 * Refuses key `keys[i]` when it does not fit `at`: a name on a list (it would land on the JS array as a
 * property the schema never sees, so the override would be silently lost) or an index on a map.
 */
function checkFits(at: Container, keys: readonly (string | number)[], i: number, key: string): void {
  const k = keys[i]!, here = formatPath(keys.slice(0, i));
  if (Array.isArray(at) && typeof k === "string") {
    const [one, many] = here === "workload" ? ["workload", "workloads"] : ["entry", "entries"];
    throw new ScenarioError(key, `${here} is a list of ${at.length} ${at.length === 1 ? one : many}: ${indexedKeys(keys, i, at.length)}`);
  }
  if (!Array.isArray(at) && typeof k === "number") {
    const without = formatPath([...keys.slice(0, i), ...keys.slice(i + 1)]);
    const fix = without ? `: set ${without}` : "";
    throw new ScenarioError(key, `${here || "the scenario"} is ${here === "workload" ? "one workload" : "a map"}, not a list${fix}`);
  }
  // The last key may append one element (`workload[2]=…` on a list of 2); a key on the way must exist.
  const room = i === keys.length - 1 ? 1 : 0;
  if (Array.isArray(at) && typeof k === "number" && k >= at.length + room) {
    throw new ScenarioError(formatPath(keys.slice(0, i + 1)), `no such list element (the list has ${at.length})`);
  }
}

/** The map or list under `keys[i]` of `at` (checked to fit), creating a map for a missing name. */
function descend(at: Container, keys: readonly (string | number)[], i: number, assignment: string): Container {
  const k = keys[i]!;
  const next = Object.hasOwn(at, k) ? at[k] : undefined;
  if (next === undefined) {
    at[k] = {};
  } else if (typeof next !== "object" || next === null) {
    throw new ScenarioError(formatPath(keys.slice(0, i + 1)), `--set ${assignment}: not a map or list`);
  }
  return at[k] as Container;
}

/**
 * Applies `a.b.c=value` (or `a.list[1].c=value`), creating maps on the way; the value is parsed as YAML.
 * A name on a list (`workload.sizes` when `workload` is a list) or an index on a map is an error naming
 * the key and the fix.
 */
export function applySet(raw: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new ScenarioError("", `--set expects key=value, got "${assignment}"`);
  const key = assignment.slice(0, eq).trim();
  const keys = splitKeyPath(key);
  const bad = keys.findIndex((k) => typeof k === "string" && FORBIDDEN_KEYS.has(k));
  if (bad >= 0) throw new ScenarioError(formatPath(keys.slice(0, bad + 1)), "unknown key");
  let value: unknown;
  try { value = parse(assignment.slice(eq + 1)); } catch { value = assignment.slice(eq + 1); }
  let at = raw as Container;
  keys.forEach((k, i) => {
    checkFits(at, keys, i, key);
    if (i < keys.length - 1) at = descend(at, keys, i, assignment);
    else at[k] = value;
  });
}

/** Reads, overrides, validates and compiles a scenario. Every failure is a ScenarioError naming its field. */
/** The recovery policy as the resolved scenario (and its hash) holds it: spares and reformMs only where the policy uses them. */
function declaredRecovery(r: RecoveryPolicy): Partial<RecoveryPolicy> {
  const { spares, reformMs, ...rest } = r;
  return r.policy === "spare" ? r : r.policy === "shrink" ? { ...rest, reformMs } : rest;
}

export function loadScenario(opts: LoadOptions): Loaded {
  const raw = structuredClone(opts.raw ?? (opts.file ? readRaw(opts.file) : DEFAULT_SCENARIO)) as Record<string, unknown>;
  if (opts.preset) {
    raw.topology = { preset: opts.preset };
    if (!opts.file) raw.name = `${opts.preset} at full size`;
  }
  if (opts.engine) raw.engine = opts.engine;
  for (const s of opts.sets ?? []) applySet(raw, s);
  const parsed = (Array.isArray(raw.workload) ? scenarioListSchema : scenarioSchema).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = issue.code === "unrecognized_keys" ? (issue as { keys: string[] }).keys : [];
    const path = formatPath([...issue.path, ...(keys.length ? [keys[0]!] : [])]);
    throw new ScenarioError(path, keys.length ? "unknown key" : issue.message);
  }
  const scenario = resolveScenario(parsed.data);
  const topology = buildTopology(scenario.topology);
  const many = scenario.workloads.length > 1;
  const workloads = scenario.workloads.map((w, i) => {
    const at = many ? `workload[${i}]` : "workload";
    if (w.kind === "training") return checkTraining(w, at, topology, parsed.data.recovery?.policy === "spare");
    return w.kind === "collective" ? checkCollective(w, at, topology) : checkMoe(w, at, topology, opts.file);
  });
  const declared = parsed.data.faults?.length || parsed.data.recovery;
  const faultPlan = declared ? compileFaults(parsed.data.faults ?? [], parsed.data.recovery, topology, workloads) : undefined;
  // Faults are part of the modelled run (and of its hash) only when declared: other scenarios keep theirs.
  const resolvedScenario: Scenario = { ...scenario, workloads, ...(faultPlan ? { faults: faultPlan.faults.map((f) => f.decl), recovery: faultPlan.recovery } : {}) };
  const resolved = JSON.parse(JSON.stringify({ ...resolvedScenario, topology: { ...scenario.topology }, ...(faultPlan ? { recovery: declaredRecovery(faultPlan.recovery) } : {}) }));
  // The hash names the modelled run, so sim and NATS reports of one scenario share it: the engine,
  // the deployment (where actors run, wall-time guards) and the output directory are left out.
  const { deployment: _d, engine: _e, outputs: _o, ...modelled } = resolved as Record<string, unknown>;
  const hash = createHash("sha256").update(canonicalJson(modelled)).digest("hex");
  return { scenario: resolvedScenario, topology, resolved, hash, raw, ...(faultPlan ? { faultPlan } : {}) };
}

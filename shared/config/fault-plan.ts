import { ScenarioError } from "../errors/index.js";
import { FaultKind } from "../protocol/index.js";
import { DeviceKind, type Device, type Topology } from "../topology/index.js";
import type { FaultDecl } from "./fault-resolve.js";
import { ProcessFaultKind, type RecoveryPolicy } from "./process-faults.js";
import type { Workload } from "./resolve.js";

/**
 * A fault compiled against the topology and the run: ids, the ops it applies to (indices of the run's
 * ops, 0-based: the coordinator adds the run's first op id) and who must hear of it.
 */
export interface PlannedFault {
  /** Its index in `faults:`. */
  readonly index: number;
  readonly decl: FaultDecl;
  /** Link ids (link-degrade, link-down) or device ids (switch-crash, straggler). */
  readonly targets: readonly number[];
  readonly fromIndex: number;
  /** Exclusive; undefined: to the end of the run. */
  readonly untilIndex: number | undefined;
  /** Route faults: what the load-time check found (`rerouted over 6 of 7 planes …`). */
  readonly reroute?: string;
}

/** The run's faults and its recovery policy, as loadScenario compiles them. */
export interface FaultPlan {
  readonly faults: readonly PlannedFault[];
  /** Ops of the run: a fault without a duration lasts until the last of them, never into a later run. */
  readonly ops: number;
  readonly recovery: RecoveryPolicy;
  /** `recovery:` was declared: the run retries failed steps (and takes process faults at run time, `supernode chaos`). */
  readonly recoveryDeclared: boolean;
}

/** The run's ops in order: which of them are training steps (the k-th step is op `steps[k]`), and each op's collective. */
export function runOps(workloads: readonly Workload[]): { total: number; steps: number[]; collectives: string[] } {
  let total = 0;
  const steps: number[] = [], collectives: string[] = [];
  for (const w of workloads) {
    const n = w.kind === "collective" ? w.sizes.length : w.kind === "moe-layer" ? 1 : w.steps;
    if (w.kind === "training") for (let k = 0; k < n; k++) steps.push(total + k);
    for (let k = 0; k < n; k++) collectives.push(w.kind === "collective" ? w.collective : w.kind === "moe-layer" ? "moe-layer" : "training-step");
    total += n;
  }
  return { total, steps, collectives };
}

/** Op index of at: { collective, index }: the index-th op of the run that is that collective. */
function collectiveOp(c: { collective: string; index: number }, collectives: readonly string[], at: string): number {
  const ops = collectives.flatMap((x, i) => (x === c.collective ? [i] : []));
  if (ops.length === 0) {
    const have = [...new Set(collectives)].map((x) => `${x} ×${collectives.filter((y) => y === x).length}`).join(", ");
    throw new ScenarioError(`${at}.at.collective`, `the run has no ${c.collective} op (its ops: ${have}${c.collective === "all-reduce" || c.collective === "all-to-all" ? `; inside a training step, use at: { step: k, phase: "${c.collective}" }` : ""})`);
  }
  if (c.index >= ops.length) throw new ScenarioError(`${at}.at.index`, `${c.collective} op ${c.index}, but the run has ${ops.length} (0 … ${ops.length - 1})`);
  return ops[c.index]!;
}

/** [fromIndex, untilIndex) of a declaration, checked against the run's length; at: { wallMs } gives [-1, undefined) until it strikes. */
export function opRange(d: FaultDecl, ops: { total: number; steps: number[]; collectives: string[] }, at: string): [number, number | undefined] {
  let from: number, until: number | undefined;
  if ("step" in d.at) {
    const k = d.at.step;
    if (ops.steps.length === 0) throw new ScenarioError(`${at}.at.step`, "the run has no training steps (at: { op: k } counts every op)");
    if (k >= ops.steps.length) throw new ScenarioError(`${at}.at.step`, `step ${k}, but the run has ${ops.steps.length} training steps (0 … ${ops.steps.length - 1})`);
    from = ops.steps[k]!;
    const n = d.duration && "steps" in d.duration ? d.duration.steps : undefined;
    // Past the last step, a fault of n steps ends with the training (later ops run clean).
    until = n === undefined ? undefined : ops.steps[k + n] ?? ops.steps[ops.steps.length - 1]! + 1;
  } else if ("wallMs" in d.at || "virtualNs" in d.at) {
    return [-1, undefined]; // bound to an op only when it strikes (FaultInjector.strikeAtWall, FaultInjector.runOp)
  } else if ("collective" in d.at) {
    from = collectiveOp(d.at, ops.collectives, at);
    until = d.duration && "ops" in d.duration ? from + d.duration.ops : undefined;
  } else {
    if (d.at.op >= ops.total) throw new ScenarioError(`${at}.at.op`, `op ${d.at.op}, but the run has ${ops.total} ops (0 … ${ops.total - 1})`);
    from = d.at.op;
    until = d.duration && "ops" in d.duration ? from + d.duration.ops : undefined;
  }
  return [from, until !== undefined && until >= ops.total ? undefined : until];
}

/** A few names of each tier, for error messages: `npu.n0.0 … npu.n1.3, l1.n0 …`. */
function someNames(t: Topology): string {
  const tiers = new Map<number, Device[]>();
  for (const d of t.devices) (tiers.get(d.tier) ?? tiers.set(d.tier, []).get(d.tier)!).push(d);
  const parts = [...tiers.values()].map((ds) => (ds.length === 1 ? ds[0]!.name : `${ds[0]!.name} … ${ds[ds.length - 1]!.name}`));
  return `${t.devices.length} actors: ${parts.join(", ")}; report.json topology.actors lists them`;
}

function deviceNamed(t: Topology, names: ReadonlyMap<string, Device>, name: string, path: string): Device {
  const d = names.get(name.trim());
  if (!d) throw new ScenarioError(path, `no actor "${name.trim()}" in this topology (${someNames(t)})`);
  return d;
}

/** Link ids of `a->b` (every parallel lane) or `a<->b` (both directions). */
function linksNamed(t: Topology, names: ReadonlyMap<string, Device>, target: string, path: string): number[] {
  const both = target.includes("<->");
  const [a, b, ...rest] = target.split(both ? "<->" : "->");
  if (b === undefined || rest.length) throw new ScenarioError(path, `a link is "from->to" (one direction) or "a<->b" (both), got "${target}"`);
  const from = deviceNamed(t, names, a!, path), to = deviceNamed(t, names, b, path);
  const ids = t.links.filter((l) => (l.from === from.id && l.to === to.id) || (both && l.from === to.id && l.to === from.id)).map((l) => l.id as number);
  if (ids.length === 0) {
    const next = [...new Set(t.links.filter((l) => l.from === from.id).map((l) => t.devices[l.to]!.name))];
    const shown = next.length > 12 ? `${next.slice(0, 12).join(", ")}, … (${next.length - 12} more)` : next.join(", ");
    throw new ScenarioError(path, `no link ${from.name}${both ? "<->" : "->"}${to.name} in this topology (links from ${from.name}: ${shown || "none"})`);
  }
  return ids;
}

/** The ids a fault names, checked against what its kind can target. */
export function faultTargets(t: Topology, names: ReadonlyMap<string, Device>, d: FaultDecl, path: string): number[] {
  const isLink = d.target.includes("->");
  switch (d.kind) {
    case FaultKind.LinkDegrade:
    case FaultKind.LinkDown:
    case FaultKind.LinkFlap:
      if (!isLink) throw new ScenarioError(path, `${d.kind} takes a link "from->to" (or "a<->b"), got the actor "${d.target}"`);
      return linksNamed(t, names, d.target, path);
    case ProcessFaultKind.NatsServerLoss: {
      // A server of the run's cluster: whether the run has it is checked when the engine starts.
      const m = /^nats-(\d)$/.exec(d.target.trim());
      if (!m) throw new ScenarioError(path, `nats-server-loss takes a server of the embedded cluster, nats-0 … nats-2 (deployment.natsServers: 3), got "${d.target}"`);
      return [Number(m[1])];
    }
    case FaultKind.SwitchCrash:
    case FaultKind.Straggler:
    case ProcessFaultKind.NpuCrash:
    case ProcessFaultKind.NpuHang: {
      const want = d.kind === FaultKind.SwitchCrash ? DeviceKind.Switch : DeviceKind.Npu;
      const what = want === DeviceKind.Switch ? "a switch" : "an NPU";
      if (isLink) throw new ScenarioError(path, `${d.kind} takes ${what}, not a link`);
      const dev = deviceNamed(t, names, d.target, path);
      if (dev.kind !== want) {
        const e = t.devices.find((x) => x.kind === want);
        throw new ScenarioError(path, `${dev.name} is ${dev.kind === DeviceKind.Npu ? "an NPU" : "a switch"}; ${d.kind} takes ${what}${e ? ` (e.g. ${e.name})` : ""}`);
      }
      return [dev.id];
    }
    case FaultKind.Partition: {
      // One side: actor names, comma-separated, each may end in * (a prefix: npu.n0.*); the other side is everyone else.
      if (isLink) throw new ScenarioError(path, "partition takes actors (one side, comma-separated; npu.n0.* for a prefix), not a link");
      const side = new Set<number>();
      for (const part of d.target.split(",").map((x) => x.trim()).filter(Boolean)) {
        if (part.endsWith("*")) {
          const hit = t.devices.filter((x) => x.name.startsWith(part.slice(0, -1)));
          if (hit.length === 0) throw new ScenarioError(path, `no actor matches "${part}" (${someNames(t)})`);
          for (const x of hit) side.add(x.id);
        } else side.add(deviceNamed(t, names, part, path).id);
      }
      if (side.size === 0 || side.size === t.devices.length) throw new ScenarioError(path, `a partition needs actors on both sides: "${d.target}" names ${side.size} of ${t.devices.length}`);
      return [...side].sort((a, b) => a - b);
    }
    case FaultKind.MessageDuplicate:
    case FaultKind.MessageReorder:
      // Any device: an NPU's transmits or a switch's forwards.
      if (isLink) throw new ScenarioError(path, `${d.kind} takes an actor (an NPU or a switch, whose outgoing data messages it changes), not a link`);
      return [deviceNamed(t, names, d.target, path).id];
    case FaultKind.Halt:
      throw new ScenarioError(path, "halt is how a mid-op npu-crash or npu-hang travels, not a kind to declare: give npu-crash or npu-hang with at: { step: k, afterNs: x } or { step: k, phase: … }");
    default: {
      const never: never = d.kind;
      throw new ScenarioError(path, `unknown fault kind ${String(never)}`);
    }
  }
}


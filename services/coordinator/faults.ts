import { performance } from "node:perf_hooks";
import { closedFormNs } from "../../shared/collectives/index.js";
import { compileRuntimeFault, isProcessFault, type FaultAt, type ProcessFaultKind, type FaultDuration, type FaultPlan, type PlannedFault } from "../../shared/config/index.js";
import { activeAt, FaultedFabric, type FaultEntry } from "../../shared/faults/index.js";
import { COORDINATOR, Collective, FaultKind, PROTOCOL_VERSION, type FaultMsg, type OpSpec } from "../../shared/protocol/index.js";
import type { ControlTo, Engine, EngineCursor, OpOutcome, RankParts, Replan } from "../../shared/runtime/index.js";
import type { Topology } from "../../shared/topology/index.js";
import type { SimNs } from "../../shared/units/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { round } from "./collect.js";
import { drawParamsOf, drawRecovery, faultRecipients } from "./fault-recipients.js";
import { History } from "./history.js";
import { Recovery, strike, type FaultInstant } from "./recovery.js";
import { Incarnations } from "./epoch.js";

export type { FaultInstant };

/** One fault in report.json `faults[]` (docs/chaos.md §5). */
export interface FaultRow {
  readonly index: number;
  readonly kind: FaultKind | ProcessFaultKind;
  readonly target: string;
  readonly at: FaultAt;
  readonly duration?: FaultDuration;
  readonly params: { readonly bandwidthFactor?: number; readonly latencyNs?: number; readonly factor?: number } & Readonly<Record<string, number>>;
  /** Op ids it applied to: from, and before `until` (a fault without a duration ends with the run); null if never injected. */
  readonly ops: { readonly from: number; readonly until: number } | null;
  /** Actors the fault message went to. */
  readonly actors: number;
  readonly injectedAt: FaultInstant | null;
  /** Process faults: when the engine noticed the failure, and when the retried op began; null for faults the fabric absorbs. */
  readonly detectedAt: FaultInstant | null;
  readonly recoveredAt: FaultInstant | null;
  readonly recovery: string;
  /** Σ over the ops it applied to of (virtual time − the fault-free prediction); null without a prediction. */
  readonly lostVirtualNs: number | null;
  /** Wall time spent detecting and recovering: 0, nothing was stopped or retried. */
  readonly lostWallMs: number | null;
}

interface OpRecord {
  readonly op: number;
  readonly index: number;
  readonly spec: OpSpec;
  readonly virtualNs: number;
  readonly active: readonly number[];
}

/**
 * A wire fault as the actors get it: op ids from the run's first op, `stride` ids per op (its retries
 * use the ones after it); one lasting to the end ends with the run's last op.
 */
const entryOf = (f: PlannedFault, firstOp: number, runOps: number, stride = 1): FaultEntry => ({
  fault: f.index, kind: f.decl.kind as FaultKind, targets: f.targets, fromOp: firstOp + f.fromIndex * stride,
  // A partition cuts the first `attempts` op ids of its op (its attempts), the rest of the run's faults whole ops.
  untilOp: f.decl.kind === FaultKind.Partition ? firstOp + f.fromIndex * stride + Math.min(f.decl.attempts ?? 1, stride) : firstOp + (f.untilIndex ?? runOps) * stride,
  ...(f.decl.bandwidthFactor !== undefined ? { bandwidthFactor: f.decl.bandwidthFactor } : {}),
  ...(f.decl.latencyNs !== undefined ? { latencyNs: f.decl.latencyNs } : {}),
  ...(f.decl.factor !== undefined ? { factor: f.decl.factor } : {}),
  ...drawParamsOf(f.decl),
});

/** Ops whose fault-free times can stand for each other: same collective, size and group (training: same step shape). */
function shapeKey(spec: OpSpec): string {
  const { step: _s, ...training } = spec.training ?? { step: 0 };
  return JSON.stringify([spec.collective, spec.algorithm, spec.sizeBytes, spec.group.length, spec.training ? training : null]);
}

/**
 * The engine as a run with faults sees it: before each op it sends the faults that start there to the
 * actors that apply them (docs/chaos.md), then runs the op on the real engine; it keeps what the
 * report's `faults[]` needs. Op ids of a run are consecutive, so a fault's ops are [from, until).
 */
export class FaultInjector implements Engine {
  private readonly t0 = performance.now();
  private readonly firstOp: number;
  private readonly injected = new Map<number, FaultInstant>();
  private readonly sentTo = new Map<number, number>();
  private readonly ops: OpRecord[] = [];
  private calls = 0;
  /** Op ids per op of the run: 1, or 1 + maxRetries when process faults may make it retry. */
  private readonly stride: number;
  private readonly recovery: Recovery | undefined;
  /** Op index by op id (the caller's and the one it ran under). */
  private readonly indexOf = new Map<number, number>();

  /** The declared faults, then those injected at run time (`inject`). */
  private readonly faults: PlannedFault[];

  private readonly incs = new Incarnations();
  /** switch-crash: what the engine did to each chip's process (killed, or left running and routed around), by fault. */
  private readonly removedHow = new Map<number, string>();
  /** Faults declared at: { wallMs }, waiting for their time. */
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly inner: Engine, private readonly plan: FaultPlan, private readonly t: Topology, readonly history: History = new History()) {
    this.firstOp = inner.cursor.nextOp;
    this.faults = [...plan.faults];
    for (const f of plan.faults) {
      // On the report's wall clock (the history's): its wallMs are what at: { wallMs } counts.
      if ("wallMs" in f.decl.at) this.timers.push(setTimeout(() => this.strikeAtWall(f), Math.max(0, f.decl.at.wallMs - this.history.wallMs())));
    }
    const processFaults = plan.recoveryDeclared || plan.faults.some((f) => isProcessFault(f.decl.kind));
    this.stride = processFaults ? 1 + plan.recovery.maxRetries : 1;
    if (processFaults) {
      Recovery.check(inner, plan.faults);
      this.recovery = new Recovery(inner, plan.recovery, t, this.history, (to, index, op) => this.resend(to, index, op), this.incs);
    }
  }

  /** Faults of the run before a restarted coordinator resumed it, as that one reported them. */
  private earlier = new Map<number, FaultRow>();

  /** Where a resumed run goes on from: its next op index, epoch and what it reported of its faults. */
  resumeAt(nextIndex: number, epoch: number, faults: readonly FaultRow[], losses: readonly { readonly virtualNs: number; readonly wallMs: number }[]): void {
    this.calls = nextIndex;
    this.recovery?.resumeAt(epoch, losses);
    this.earlier = new Map(faults.filter((f) => f.injectedAt).map((f) => [f.index, f]));
  }

  /**
   * A fault injected while the run goes on (`supernode chaos`, docs/chaos.md §6): checked like a declared
   * one and applied from the next op; returns its index in `faults[]`. Crashes and hangs need the run
   * to recover (a `recovery:` block), and the engine to be able to stop that actor alone.
   */
  inject(raw: Record<string, unknown>): number {
    const { external, ...decl } = raw;
    if (external !== undefined && typeof external !== "boolean") throw new ScenarioError("external", `true or false, got ${JSON.stringify(external)}`);
    // An external fault is done by the caller (docker kill, pause or network disconnect of containers) now, in the op in progress.
    const from = external ? Math.max(this.calls - 1, 0) : this.calls;
    const compiled = compileRuntimeFault(decl, this.t, this.faults.length, from, this.plan.ops);
    // Done outside, a partition is applied by the network, not by the actors: it is accounted, never sent.
    const f = external && compiled.decl.kind === FaultKind.Partition ? { ...compiled, fromIndex: -1 } : compiled;
    if (isProcessFault(f.decl.kind)) {
      if (!this.recovery) throw new ScenarioError("kind", `${f.decl.kind} at run time needs a run that recovers: declare recovery: { policy: restart } in its scenario`);
      if (!external && f.decl.kind === "nats-server-loss") Recovery.check(this.inner, [f]);
      else if (!external) {
        const why = this.inner.process ? this.inner.process.refuses(f.targets[0]!) : `the ${this.inner.name} engine cannot stop actors`;
        if (why) throw new ScenarioError("target", `${why} (a fault done by the caller, e.g. docker kill of its container, is sent with external: true)`);
      }
    } else if (external && f.decl.kind !== FaultKind.Partition) {
      throw new ScenarioError("external", `only npu-crash, npu-hang, nats-server-loss and partition can be done outside the coordinator (docker kill, pause, network disconnect); ${f.decl.kind} is applied by the actors`);
    } else if (external && !this.recovery) {
      throw new ScenarioError("kind", "a partition done outside the coordinator needs a run that recovers: declare recovery: { policy: restart } in its scenario");
    }
    this.faults.push(f);
    if (external) this.recovery!.noteExternal(f);
    return f.index;
  }

  /**
   * A fault declared at: { wallMs } strikes now (docs/chaos.md §3), as `supernode chaos` would: a crash,
   * hang or server loss is done at once, into whatever op runs (the first attempt that fails after it
   * is charged with it); a wire fault starts at the next op. The sim engine never yields inside an op,
   * so there it strikes between ops.
   */
  private strikeAtWall(f: PlannedFault): void {
    const from = this.calls;
    const proc = this.inner.process;
    if (isProcessFault(f.decl.kind)) {
      if (!this.recovery || !proc) return; // Recovery.check refused such a run at the start
      this.recovery.noteExternal(f);
      strike(proc, f).catch(() => { /* the run ends with whatever the failure caused; its report says so */ });
      return;
    }
    if (from >= this.plan.ops) return; // the run is over: never injected
    this.bindAt(f, from);
  }

  /** A fault whose trigger was a time (wall or virtual) starts at op `from`, for its duration in ops. */
  private bindAt(f: PlannedFault, from: number): void {
    const n = f.decl.duration && "ops" in f.decl.duration ? f.decl.duration.ops : undefined;
    this.faults[f.index] = { ...f, fromIndex: from, untilIndex: n !== undefined && from + n < this.plan.ops ? from + n : undefined };
  }

  /**
   * at: { virtualNs: x } of a wire fault or partition: it starts with the first op that begins at or
   * after x (the data path changes at op starts; docs/chaos.md §7.3). Crashes and hangs strike at x itself.
   */
  private startAtVirtual(index: number, startNs: number): void {
    for (const f of this.faults) {
      if ("virtualNs" in f.decl.at && f.fromIndex === -1 && !isProcessFault(f.decl.kind) && f.decl.at.virtualNs <= startNs) this.bindAt(f, index);
    }
  }

  /** The run is over: wall-time faults not yet struck never will, and chips still out come back (faults belong to their run). */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    const out = this.faults.filter((f) => f.decl.kind === FaultKind.SwitchCrash && this.removedHow.has(f.index) && (f.untilIndex === undefined || f.untilIndex >= this.calls)).flatMap((f) => f.targets);
    if (out.length) await this.inner.process?.readmit?.(out, this.incs.next());
    await this.recovery?.close();
  }

  /** The next op's index in the run. */
  get nextIndex(): number { return this.calls; }

  /** The run's epoch: recovery moves it on after each failure. */
  get epoch(): number | undefined { return this.recovery?.epoch; }
  /** Each failed attempt's loss (virtual ns, wall ms). */
  get losses(): readonly { readonly virtualNs: number; readonly wallMs: number }[] { return this.recovery?.losses ?? []; }

  get name(): string { return this.inner.name; }
  get processes(): number { return this.inner.processes; }
  get cursor(): EngineCursor { return this.inner.cursor; }
  rejections() { return this.inner.rejections(); }

  async runOp(spec: OpSpec, startNs: SimNs, epoch: number, signal?: AbortSignal, parts?: RankParts, before: readonly ControlTo[] = [], replan?: Replan): Promise<OpOutcome> {
    const index = this.calls++;
    const opId = this.firstOp + index * this.stride;
    if (opId !== spec.op) spec = { ...spec, op: opId };
    this.indexOf.set(spec.op, index).set(opId, index);
    this.inner.cursor.nextOp = Math.max(this.inner.cursor.nextOp, opId + this.stride);
    epoch = this.recovery?.epoch ?? epoch;
    this.startAtVirtual(index, startNs);
    const starting = this.faults.filter((f) => f.fromIndex === index && !isProcessFault(f.decl.kind));
    const back = await this.switchChips(index, starting);
    // A chip brought back has fresh state: it hears the faults still active again (as a restarted NPU does).
    const fresh = starting.flatMap((f) => this.messages(f, epoch, startNs));
    const control = [...fresh, ...(back.size ? this.resend(back, index, spec.op).filter((c) => !starting.some((f) => f.index === c.msg.fault)) : [])];
    for (const f of starting) {
      this.injected.set(f.index, { virtualNs: startNs, wallMs: round(performance.now() - this.t0, 1) });
      this.sentTo.set(f.index, new Set(control.filter((c) => c.msg.fault === f.index).map((c) => c.to)).size);
    }
    if (!this.recovery) this.history.add({ type: "begin", index, op: spec.op, epoch, attempt: 0, virtualNs: startNs, members: spec.group.length });
    for (const f of starting) this.history.add({ type: "fault", index, op: spec.op, fault: f.index, kind: f.decl.kind, target: f.decl.target, virtualNs: startNs });
    // Crashes, hangs and server losses to do, and partitions, whose stalls recovery accounts like theirs.
    const stalling = this.faults.filter((f) => (f.fromIndex === index && (isProcessFault(f.decl.kind) || f.decl.kind === FaultKind.Partition) && !this.recovery?.isExternal(f))
      || (isProcessFault(f.decl.kind) && "virtualNs" in f.decl.at && !this.recovery?.struck(f))); // armed in every op until it strikes
    const out = this.recovery
      ? await this.recovery.run(spec, startNs, index, stalling, signal, parts, [...before, ...control], replan)
      : await this.inner.runOp(spec, startNs, epoch, signal, parts, [...before, ...control]);
    const began = out.startedNs ?? startNs;
    const end = out.done.reduce<number>((m, d) => Math.max(m, d.endNs), began);
    const active = this.faults.filter((f) => !isProcessFault(f.decl.kind) && activeAt(entryOf(f, 0, this.plan.ops), index)).map((f) => f.index);
    this.ops.push({ op: spec.op, index, spec, virtualNs: end - began, active });
    return out;
  }

  /**
   * switch-crash for real: a chip whose fault starts at op `index` is taken out (its process killed
   * where it is alone in one); one whose fault ended before it is brought back as a new incarnation.
   * Routes avoid it either way (every actor holds the fault).
   */
  private async switchChips(index: number, starting: readonly PlannedFault[]): Promise<ReadonlySet<number>> {
    const proc = this.inner.process;
    if (!proc?.remove || !proc.readmit) return new Set();
    const back = this.faults.filter((f) => f.decl.kind === FaultKind.SwitchCrash && f.untilIndex === index && this.removedHow.has(f.index)).flatMap((f) => f.targets);
    if (back.length) await proc.readmit(back, this.incs.next());
    for (const f of starting) {
      if (f.decl.kind !== FaultKind.SwitchCrash) continue;
      const how = await Promise.all(f.targets.map((id) => proc.remove!(id)));
      this.removedHow.set(f.index, [...new Set(how)].join("; "));
    }
    return new Set(back);
  }

  /** The wire faults active at op `index`, again, for actors that were restarted (they lost their tables). */
  private resend(to: ReadonlySet<number>, index: number, op: number): ControlTo[] {
    const active = this.faults.filter((f) => !isProcessFault(f.decl.kind) && !this.recovery?.isExternal(f) && f.fromIndex <= index && (f.untilIndex ?? this.plan.ops) > index);
    return active.flatMap((f) => this.messages(f, this.recovery?.epoch ?? 0, this.injected.get(f.index)?.virtualNs ?? 0)).filter((c) => to.has(c.to)).map((c) => ({ ...c, msg: { ...c.msg, fromOp: Math.max(c.msg.fromOp, op) } }))
      .filter((c) => c.msg.untilOp === undefined || c.msg.untilOp > c.msg.fromOp); // a partition's cut attempts are over: not again
  }

  /**
   * The fault messages of one fault, to the actors that apply it (fault-recipients.ts). `originNs`: the
   * virtual start of its first op, from which a link-flap's periods count.
   */
  private messages(f: PlannedFault, epoch: number, originNs: number): ControlTo[] {
    const e = entryOf(f, this.firstOp, this.plan.ops, this.stride);
    const origin = f.decl.kind === FaultKind.LinkFlap ? { originNs } : {};
    const shared = new Map<readonly number[], FaultMsg>(); // one object for the actors that get the same targets
    const msg = (targets: readonly number[]): FaultMsg =>
      shared.get(targets) ?? shared.set(targets, { v: PROTOCOL_VERSION, type: "fault", from: COORDINATOR, epoch, inc: 0, ...e, ...origin, targets }).get(targets)!;
    return [...faultRecipients(this.t, f)].map(([to, targets]) => ({ to, msg: msg(targets) }));
  }

  /** The topology as op `op`'s faults leave it (routes, degraded links), for its closed form; undefined without faults. */
  viewFor(op: number): Topology | undefined {
    const index = this.indexOf.get(op) ?? op - this.firstOp;
    const active = this.faults.filter((f) => !isProcessFault(f.decl.kind) && activeAt(entryOf(f, 0, this.plan.ops), index));
    return active.length ? new FaultedFabric(this.t, active.map((f) => entryOf(f, this.firstOp, this.plan.ops))).view() : undefined;
  }

  /** The fault-free prediction of an op: a fault-free op of the same shape in this run, else its closed form. */
  private predictionNs(r: OpRecord): number | undefined {
    const clean = this.ops.find((o) => o.active.length === 0 && shapeKey(o.spec) === shapeKey(r.spec));
    if (clean) return clean.virtualNs;
    if (r.spec.collective === Collective.MoeLayer || r.spec.collective === Collective.TrainingStep) return undefined;
    return closedFormNs(r.spec, this.t);
  }

  /** report.json `faults[]`. */
  rows(): FaultRow[] {
    return this.faults.map((f) => {
      const before = this.earlier.get(f.index);
      if (before && !this.injected.has(f.index) && !this.recovery?.records.has(f.index)) return before;
      if (isProcessFault(f.decl.kind)) return this.processRow(f);
      const r = this.recovery?.records.get(f.index);
      const row = this.wireRow(f);
      return r ? { ...row, injectedAt: r.injectedAt, ops: row.ops ?? { from: r.op, until: r.op + 1 }, actors: row.actors || f.targets.length, detectedAt: r.detectedAt, recoveredAt: r.recoveredAt, recovery: r.detectedAt ? r.recovery : row.recovery, lostVirtualNs: r.lostVirtualNs ?? row.lostVirtualNs, lostWallMs: r.lostWallMs ?? row.lostWallMs } : row;
    });
  }

  /** A fault the actors apply, as the report gives it. */
  private wireRow(f: PlannedFault): FaultRow {
    const injectedAt = this.injected.get(f.index) ?? null;
    const hit = this.ops.filter((o) => o.active.includes(f.index));
    const losses = hit.map((o) => { const p = this.predictionNs(o); return p === undefined ? undefined : o.virtualNs - p; });
    const lost = injectedAt && losses.every((x) => x !== undefined) ? round((losses as number[]).reduce((s, x) => s + x, 0), 3) : null;
    const d = f.decl;
    return {
      index: f.index, kind: d.kind, target: d.target, at: d.at, ...(d.duration ? { duration: d.duration } : {}),
      params: { ...(d.bandwidthFactor !== undefined ? { bandwidthFactor: d.bandwidthFactor } : {}), ...(d.latencyNs !== undefined ? { latencyNs: d.latencyNs } : {}), ...(d.factor !== undefined ? { factor: d.factor } : {}), ...drawParamsOf(d) },
      ops: injectedAt ? { from: this.firstOp + f.fromIndex * this.stride, until: this.firstOp + (f.untilIndex ?? this.plan.ops) * this.stride } : null,
      actors: this.sentTo.get(f.index) ?? 0,
      injectedAt, detectedAt: null, recoveredAt: null,
      recovery: injectedAt ? recoveryOf(f) + (this.removedHow.has(f.index) ? `; the chip: ${this.removedHow.get(f.index)}` : "") : notInjected(f),
      lostVirtualNs: lost, lostWallMs: injectedAt ? 0 : null,
    };
  }

  /** A crash or hang: what recovery recorded of it. */
  private processRow(f: PlannedFault): FaultRow {
    const r = this.recovery?.records.get(f.index);
    const d = f.decl;
    return {
      index: f.index, kind: d.kind, target: d.target, at: d.at, params: {},
      ops: r ? { from: r.op, until: r.op + 1 } : null, actors: r ? 1 : 0,
      injectedAt: r?.injectedAt ?? null, detectedAt: r?.detectedAt ?? null, recoveredAt: r?.recoveredAt ?? null,
      recovery: r ? r.recovery : this.recovery?.unfired.get(f.index) ?? notInjected(f),
      lostVirtualNs: r?.lostVirtualNs === null || !r ? null : round(r.lostVirtualNs, 3), lostWallMs: r?.lostWallMs ?? null,
    };
  }

  async [Symbol.asyncDispose](): Promise<void> { /* the caller owns the inner engine */ }
}

const notInjected = (f: PlannedFault): string =>
  "wallMs" in f.decl.at ? `not injected: the run ended before ${f.decl.at.wallMs} ms of wall time` : `not injected: the run ended before its op ${f.fromIndex}`;

/** What happened instead of a recovery: this slice's faults are absorbed by the fabric model. */
function recoveryOf(f: PlannedFault): string {
  const d = f.decl;
  switch (d.kind) {
    case FaultKind.LinkDegrade: return drawRecovery(f) ?? `none: degraded (bandwidth ×${d.bandwidthFactor}, +${d.latencyNs} ns; absorbed, not detected)`;
    case FaultKind.Straggler: return `none: absorbed (compute ×${d.factor}; not detected)`;
    case FaultKind.LinkDown:
    case FaultKind.SwitchCrash: return f.reroute ?? "rerouted";
    case FaultKind.LinkFlap:
    case FaultKind.MessageDuplicate:
    case FaultKind.MessageReorder: return drawRecovery(f)!;
    case FaultKind.Partition: return `none: ${f.targets.length} actor(s) cut off from the rest for ${d.attempts ?? 1} attempt(s) of the op; nothing retried it`;
    case "npu-crash":
    case "npu-hang":
    case "nats-server-loss":
    case FaultKind.Halt: return "recovered by the recovery policy";
    default: {
      const never: never = d.kind;
      return String(never);
    }
  }
}

/** A run's engine, wrapped to inject its declared faults; the engine itself when it declares none. */
export function withFaults(engine: Engine, plan: FaultPlan | undefined, t: Topology, history?: History): { engine: Engine; injector: FaultInjector | undefined } {
  if (!plan) return { engine, injector: undefined };
  const injector = new FaultInjector(engine, plan, t, history);
  return { engine: injector, injector };
}

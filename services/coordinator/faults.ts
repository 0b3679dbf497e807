import { performance } from "node:perf_hooks";
import { closedFormNs } from "../../shared/collectives/index.js";
import type { FaultAt, FaultDuration, FaultPlan, PlannedFault } from "../../shared/config/index.js";
import { activeAt, FaultedFabric, type FaultEntry } from "../../shared/faults/index.js";
import { COORDINATOR, Collective, FaultKind, isRouteFault, PROTOCOL_VERSION, type FaultMsg, type OpSpec } from "../../shared/protocol/index.js";
import type { ControlTo, Engine, EngineCursor, OpOutcome, RankParts } from "../../shared/runtime/index.js";
import type { Topology } from "../../shared/topology/index.js";
import type { SimNs } from "../../shared/units/index.js";
import { round } from "./collect.js";

/** A virtual and a wall instant of the run (wall: ms since the run started). */
export interface FaultInstant {
  readonly virtualNs: number;
  readonly wallMs: number;
}

/** One fault in report.json `faults[]` (docs/chaos.md §5). */
export interface FaultRow {
  readonly index: number;
  readonly kind: FaultKind;
  readonly target: string;
  readonly at: FaultAt;
  readonly duration?: FaultDuration;
  readonly params: { readonly bandwidthFactor?: number; readonly latencyNs?: number; readonly factor?: number };
  /** Op ids it applied to: from, and before `until` (a fault without a duration ends with the run); null if never injected. */
  readonly ops: { readonly from: number; readonly until: number } | null;
  /** Actors the fault message went to. */
  readonly actors: number;
  readonly injectedAt: FaultInstant | null;
  /** This slice detects nothing and recovers nothing: degrade, straggler and reroute are absorbed. */
  readonly detectedAt: null;
  readonly recoveredAt: null;
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

/** A fault as the actors get it: op ids from the run's first op; one lasting to the end ends with the run's last op. */
const entryOf = (f: PlannedFault, firstOp: number, runOps: number): FaultEntry => ({
  fault: f.index, kind: f.decl.kind, targets: f.targets, fromOp: firstOp + f.fromIndex, untilOp: firstOp + (f.untilIndex ?? runOps),
  ...(f.decl.bandwidthFactor !== undefined ? { bandwidthFactor: f.decl.bandwidthFactor } : {}),
  ...(f.decl.latencyNs !== undefined ? { latencyNs: f.decl.latencyNs } : {}),
  ...(f.decl.factor !== undefined ? { factor: f.decl.factor } : {}),
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

  constructor(private readonly inner: Engine, private readonly plan: FaultPlan, private readonly t: Topology) {
    this.firstOp = inner.cursor.nextOp;
  }

  get name(): string { return this.inner.name; }
  get processes(): number { return this.inner.processes; }
  get cursor(): EngineCursor { return this.inner.cursor; }
  rejections() { return this.inner.rejections(); }

  async runOp(spec: OpSpec, startNs: SimNs, epoch: number, signal?: AbortSignal, parts?: RankParts, before: readonly ControlTo[] = []): Promise<OpOutcome> {
    const index = this.calls++;
    const starting = this.plan.faults.filter((f) => f.fromIndex === index);
    const control = starting.flatMap((f) => this.messages(f, epoch));
    for (const f of starting) {
      this.injected.set(f.index, { virtualNs: startNs, wallMs: round(performance.now() - this.t0, 1) });
      this.sentTo.set(f.index, new Set(control.filter((c) => c.msg.fault === f.index).map((c) => c.to)).size);
    }
    const out = await this.inner.runOp(spec, startNs, epoch, signal, parts, [...before, ...control]);
    const end = out.done.reduce<number>((m, d) => Math.max(m, d.endNs), startNs);
    const active = this.plan.faults.filter((f) => activeAt(entryOf(f, 0, this.plan.ops), index)).map((f) => f.index);
    this.ops.push({ op: spec.op, index, spec, virtualNs: end - startNs, active });
    return out;
  }

  /** The fault messages of one fault, to the actors that apply it: links' owners, the straggler, or every actor. */
  private messages(f: PlannedFault, epoch: number): ControlTo[] {
    const e = entryOf(f, this.firstOp, this.plan.ops);
    const msg = (targets: readonly number[]): FaultMsg => ({ v: PROTOCOL_VERSION, type: "fault", from: COORDINATOR, epoch, inc: 0, ...e, targets });
    if (isRouteFault(f.decl.kind)) {
      const m = msg(f.targets);
      return this.t.devices.map((d) => ({ to: d.id, msg: m }));
    }
    if (f.decl.kind === FaultKind.Straggler) return [{ to: f.targets[0]!, msg: msg(f.targets) }];
    const byOwner = new Map<number, number[]>();
    for (const id of f.targets) {
      const owner = this.t.links[id]!.from;
      (byOwner.get(owner) ?? byOwner.set(owner, []).get(owner)!).push(id);
    }
    return [...byOwner].map(([to, links]) => ({ to, msg: msg(links) }));
  }

  /** The topology as op `op`'s faults leave it (routes, degraded links), for its closed form; undefined without faults. */
  viewFor(op: number): Topology | undefined {
    const index = op - this.firstOp;
    const active = this.plan.faults.filter((f) => activeAt(entryOf(f, 0, this.plan.ops), index));
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
    return this.plan.faults.map((f) => {
      const injectedAt = this.injected.get(f.index) ?? null;
      const hit = this.ops.filter((o) => o.active.includes(f.index));
      const losses = hit.map((o) => { const p = this.predictionNs(o); return p === undefined ? undefined : o.virtualNs - p; });
      const lost = injectedAt && losses.every((x) => x !== undefined) ? round((losses as number[]).reduce((s, x) => s + x, 0), 3) : null;
      const d = f.decl;
      return {
        index: f.index, kind: d.kind, target: d.target, at: d.at, ...(d.duration ? { duration: d.duration } : {}),
        params: { ...(d.bandwidthFactor !== undefined ? { bandwidthFactor: d.bandwidthFactor } : {}), ...(d.latencyNs !== undefined ? { latencyNs: d.latencyNs } : {}), ...(d.factor !== undefined ? { factor: d.factor } : {}) },
        ops: injectedAt ? { from: this.firstOp + f.fromIndex, until: this.firstOp + (f.untilIndex ?? this.plan.ops) } : null,
        actors: this.sentTo.get(f.index) ?? 0,
        injectedAt, detectedAt: null, recoveredAt: null,
        recovery: injectedAt ? recoveryOf(f) : `not injected: the run ended before its op ${f.fromIndex}`,
        lostVirtualNs: lost, lostWallMs: injectedAt ? 0 : null,
      };
    });
  }

  async [Symbol.asyncDispose](): Promise<void> { /* the caller owns the inner engine */ }
}

/** What happened instead of a recovery: this slice's faults are absorbed by the fabric model. */
function recoveryOf(f: PlannedFault): string {
  const d = f.decl;
  switch (d.kind) {
    case FaultKind.LinkDegrade: return `none: degraded (bandwidth ×${d.bandwidthFactor}, +${d.latencyNs} ns; absorbed, not detected)`;
    case FaultKind.Straggler: return `none: absorbed (compute ×${d.factor}; not detected)`;
    case FaultKind.LinkDown:
    case FaultKind.SwitchCrash: return f.reroute ?? "rerouted";
    default: {
      const never: never = d.kind;
      return String(never);
    }
  }
}

/** A run's engine, wrapped to inject its declared faults; the engine itself when it declares none. */
export function withFaults(engine: Engine, plan: FaultPlan | undefined, t: Topology): { engine: Engine; injector: FaultInjector | undefined } {
  if (!plan || plan.faults.length === 0) return { engine, injector: undefined };
  const injector = new FaultInjector(engine, plan, t);
  return { engine: injector, injector };
}

import { isMidOp, isProcessFault, ProcessFaultKind, type PlannedFault, type RecoveryPolicy } from "../../shared/config/index.js";
import { performance } from "node:perf_hooks";
import { RunError } from "../../shared/errors/index.js";
import type { OpSpec } from "../../shared/protocol/index.js";
import type { ControlTo, Engine, HaltNote, OpOutcome, ProcessControl, RankParts, Replan } from "../../shared/runtime/index.js";
import type { Topology } from "../../shared/topology/index.js";
import { simNs, type SimNs } from "../../shared/units/index.js";
import { FIRST_EPOCH, Incarnations } from "./epoch.js";
import type { History } from "./history.js";
import { Membership, type Swap } from "./membership.js";
import { failureOf, haltOf, strike } from "./attempt.js";

export { strike };

/** A virtual and a wall instant of the run (wall: ms since the run started). */
export interface FaultInstant {
  readonly virtualNs: number;
  readonly wallMs: number;
}

/** What became of one process fault (report.json `faults[]`). */
export interface ProcessFaultRecord {
  readonly op: number;
  readonly injectedAt: FaultInstant;
  detectedAt: FaultInstant | null;
  recoveredAt: FaultInstant | null;
  recovery: string;
  lostVirtualNs: number | null;
  lostWallMs: number | null;
}

const record = (op: number, injectedAt: FaultInstant, recovery: string): ProcessFaultRecord =>
  ({ op, injectedAt, detectedAt: null, recoveredAt: null, recovery, lostVirtualNs: null, lostWallMs: null });

/** What policy shrink did after a failed attempt. */
interface Shrunk {
  readonly restart: readonly number[];
  readonly retired: readonly number[];
  readonly hows: readonly string[];
  readonly plan?: Extract<ReturnType<Replan>, { spec: OpSpec }>;
  readonly refused?: string;
}

/**
 * Runs one op of a run with process faults until it succeeds (docs/chaos.md §7, policy `restart`):
 * injects the op's crashes and hangs, and when an attempt fails — the engine detects the dead or silent
 * actor, or the op stalls — aborts it (the engine already sent op-abort), restarts the actors it
 * stopped and those the engine found failed, moves to a new epoch (fencing: late messages of the old
 * attempt are refused as stale) and runs the op again from the same committed inputs under the next op
 * id. Virtual time lost per failure: the policy's detect + restart time. Op ids of attempt a of an op
 * are its first id + a, so the caller must leave `1 + maxRetries` ids per op.
 */
export class Recovery {
  epoch = FIRST_EPOCH;
  private inc = 0;
  readonly records = new Map<number, ProcessFaultRecord>();
  /** Every failed attempt's loss, virtual and wall. */
  readonly losses: { readonly virtualNs: number; readonly wallMs: number }[] = [];
  /** Crashes, hangs and partitions done outside the coordinator (docker) not yet charged to a failed attempt. */
  private readonly external: PlannedFault[] = [];
  private readonly externalSet = new Set<PlannedFault>();
  /** Mid-op crashes and hangs whose trigger never came (the op ended first): what the report says of them. */
  readonly unfired = new Map<number, string>();
  /** Actors restarted during the run: a retry re-sends them the wire faults they lost. */
  private readonly restartedSoFar = new Set<number>();
  private readonly idOf: ReadonlyMap<string, number>;
  private currentStartNs = 0;
  private currentOp = 0;
  /** Who plays which rank: spares swapped in for failed NPUs (policy spare). */
  readonly members: Membership;
  /** NPUs crashed or hung and not restarted since (restarted when the run ends, if no failure did it first). */
  private readonly stillDown = new Set<number>();

  constructor(
    private readonly inner: Engine,
    private readonly policy: RecoveryPolicy,
    private readonly t: Topology,
    private readonly history: History,
    /** The wire faults active at op `index` that actors in `to` must hear again after a restart. */
    private readonly resend: (to: ReadonlySet<number>, index: number, op: number) => ControlTo[],
    private readonly incs: Incarnations = new Incarnations(),
  ) {
    this.idOf = new Map(t.devices.map((d) => [d.name, d.id as number]));
    this.members = new Membership(policy, t, this.idOf);
  }

  /**
   * The run is over: NPUs crashed or hung outside every op that failed after it (a spare standing by,
   * an NPU a shrink left idle: nothing noticed them) and NPUs retired for spares or shrinks come back
   * as new incarnations, so the engine holds a whole supernode again.
   */
  async close(): Promise<void> {
    const proc = this.inner.process;
    const left = [...this.stillDown].filter((id) => !this.members.retired.includes(id));
    this.stillDown.clear();
    if (left.length && proc) await proc.restart(left, this.incs.next());
    await this.members.close(proc, this.incs);
  }

  /** Checks, before the run starts, that the engine can do what the plan's process faults ask. */
  static check(engine: Engine, faults: readonly PlannedFault[]): void {
    for (const f of faults) {
      if (!isProcessFault(f.decl.kind)) continue;
      if (f.decl.kind === ProcessFaultKind.NatsServerLoss) {
        const n = engine.process?.servers?.() ?? 0;
        if (n < 2 || !engine.process?.killServer) throw new RunError(`faults[${f.index}]: nats-server-loss needs the NATS engine on its embedded cluster (deployment.natsServers: 3); this run has ${n} server(s) it may kill`);
        if (f.targets[0]! >= n) throw new RunError(`faults[${f.index}].target: ${f.decl.target}, but the cluster has nats-0 … nats-${n - 1}`);
        continue;
      }
      const why = engine.process ? engine.process.refuses(f.targets[0]!) : `the ${engine.name} engine cannot stop actors`;
      if (why) throw new RunError(`faults[${f.index}]: cannot ${f.decl.kind} ${f.decl.target}: ${why}`);
    }
  }

  async run(spec: OpSpec, startNs: SimNs, index: number, faults: readonly PlannedFault[], signal?: AbortSignal, parts?: RankParts, before: readonly ControlTo[] = [], replan?: Replan): Promise<OpOutcome> {
    const proc = this.inner.process;
    let start: number = startNs;
    let down: number[] = [];
    const injected: PlannedFault[] = [];
    // policy shrink: an op planned with NPUs retired by an earlier failure runs without them (the same re-plan).
    const gone = this.policy.policy === "shrink" && replan ? spec.group.filter((id) => this.members.retired.includes(id)) : [];
    if (gone.length) {
      const r = replan!(gone, spec);
      if ("spec" in r) { spec = { ...r.spec, op: spec.op }; parts = r.parts ?? parts; }
    }
    for (let attempt = 0; ; attempt++) {
      const planned: OpSpec = attempt === 0 ? spec : { ...spec, op: spec.op + attempt };
      const s = this.members.map(planned); // who plays each rank now (policy spare)
      this.history.add({ type: "begin", index, op: s.op, epoch: this.epoch, attempt, virtualNs: start, members: s.group.length });
      const halts = attempt === 0 ? await this.injectAtStart(faults, s.op, start, index, injected, down) : [];
      const control = attempt === 0 ? [...before, ...halts] : this.resend(this.restartedSoFar, index, s.op);
      this.currentStartNs = start; this.currentOp = s.op;
      const out = await this.inner.runOp(s, simNs(start), this.epoch, signal, parts, control);
      const failure = failureOf(out, s);
      // Where the failure happened: the last halt's virtual time, else the attempt's start (a fault at its start).
      const failedAtNs = Math.max(start, ...this.noteHalts(out.halted ?? [], s.op, index, faults, injected, down));
      if (attempt === 0) for (const h of halts) if (!this.records.has(h.msg.fault)) this.unfired.set(h.msg.fault, this.unfiredText(faults.find((f) => f.index === h.msg.fault)!, h.msg, s.op));
      // Done by someone else (docker) since the last failure: the first attempt that fails after it is charged with it.
      if (failure) {
        for (const f of this.external.splice(0)) {
          this.records.get(f.index)!.recovery = "not recovered: the run ended first";
          injected.push(f);
          // A server is not restarted (its clients moved to the others); a crash or hang is, and a partition's actors.
          if (f.decl.kind !== ProcessFaultKind.NatsServerLoss) down.push(...(isProcessFault(f.decl.kind) ? [f.targets[0]!] : f.targets));
        }
      }
      if (!failure) {
        for (const f of injected) {
          const r = this.records.get(f.index)!;
          if (!r.detectedAt) r.recovery = !isProcessFault(f.decl.kind) ? "none: the op completed across the cut" : f.decl.kind === ProcessFaultKind.NatsServerLoss ? "none: the op completed (its clients reconnected to the other servers; nothing it needed was lost)" : "none: the op completed before it could notice";
        }
        return attempt === 0 ? out : { ...out, startedNs: simNs(start) };
      }
      const detectedNs = failedAtNs + this.policy.detectMs * 1e6;
      this.history.add({ type: "abort", index, op: s.op, epoch: this.epoch, reason: failure.reason, virtualNs: detectedNs });
      const detected: FaultInstant = { virtualNs: detectedNs, wallMs: this.history.wallMs() };
      for (const f of injected) this.records.get(f.index)!.detectedAt ??= detected;
      if (!failure.retry || attempt >= this.policy.maxRetries || !proc) {
        const why = !failure.retry ? "not retried: the same inputs fail the same way" : attempt >= this.policy.maxRetries ? `gave up after ${attempt + 1} attempts (recovery.maxRetries ${this.policy.maxRetries})` : "the engine cannot restart actors";
        return { ...out, stalled: `${failure.reason} (${why})` };
      }
      const failed = [...new Set([...down, ...out.failedActors.map((n) => this.idOf.get(n)).filter((id): id is number => id !== undefined)])];
      const { swaps, shrunk, restart } = await this.reform(failed, s, replan, proc, index, detectedNs);
      if (shrunk.plan) {
        spec = { ...shrunk.plan.spec, op: spec.op };
        parts = shrunk.plan.parts ?? parts;
      }
      this.history.add({ type: "epoch", from: this.epoch, to: this.epoch + 1, members: this.members.map(planned).group.map((id) => this.t.devices[id]!.name) });
      this.epoch++;
      // Lost: the failed attempt up to the failure, then detection and restart — or, when spares took
      // every failed member's place and nobody is restarted, the swap.
      const bringBack = (swaps.length || shrunk.plan) && !restart.length ? this.policy.reformMs : this.policy.restartMs;
      const lost = failedAtNs - start + (this.policy.detectMs + bringBack) * 1e6;
      const recovered: FaultInstant = { virtualNs: start + lost, wallMs: this.history.wallMs() };
      this.losses.push({ virtualNs: lost, wallMs: recovered.wallMs - (this.records.get(injected[0]?.index ?? -1)?.injectedAt.wallMs ?? detected.wallMs) });
      for (const f of injected) {
        const r = this.records.get(f.index)!;
        if (r.recoveredAt) continue;
        r.recoveredAt = recovered;
        r.lostVirtualNs = recovered.virtualNs - r.injectedAt.virtualNs;
        r.lostWallMs = Math.round((recovered.wallMs - r.injectedAt.wallMs) * 10) / 10;
        r.recovery = `${this.recoveryText(swaps, restart, shrunk)}; retried at epoch ${this.epoch} as op ${s.op + 1}`;
      }
      start += lost;
      down = [];
    }
  }

  /**
   * The NPUs that halted in an attempt (their last words): each one's fault is injected at its halt's
   * virtual time, and the NPU is down. Returns the halts' virtual times.
   */
  private noteHalts(notes: readonly HaltNote[], op: number, index: number, faults: readonly PlannedFault[], injected: PlannedFault[], down: number[]): number[] {
    return notes.flatMap((h) => {
      const f = faults.find((x) => x.index === h.fault && x.targets[0] === h.actor);
      if (!f || this.records.has(f.index)) return [];
      const wallMs = h.wallAt === undefined ? this.history.wallMs() : this.history.wallMs() - (performance.now() - h.wallAt);
      this.records.set(f.index, record(op, { virtualNs: h.atNs, wallMs }, "not recovered: the run ended first"));
      this.history.add({ type: "fault", index, op, fault: f.index, kind: f.decl.kind, target: f.decl.target, virtualNs: h.atNs });
      injected.push(f);
      down.push(h.actor);
      this.stillDown.add(h.actor);
      return [h.atNs];
    });
  }

  /** A mid-op trigger that did not come in op `op` (at: { virtualNs } is armed again in the next op). */
  private unfiredText(f: PlannedFault, h: { afterNs?: number; phase?: string }, op: number): string {
    if ("virtualNs" in f.decl.at) return `none: its trigger (virtual time ${f.decl.at.virtualNs} ns) never came: the run ended first`;
    return `none: its trigger (${h.afterNs !== undefined ? `${h.afterNs} ns after the op's start` : `a span "${h.phase}"`}) never came in op ${op}`;
  }

  /** Whether a fault has struck (a virtualNs trigger is armed op after op until it does). */
  struck(f: PlannedFault): boolean { return this.records.has(f.index); }

  /** What recovery did after a failed attempt, for the fault rows: spares swapped in, actors restarted. */
  private recoveryText(swaps: readonly Swap[], restart: readonly number[], shrunk: Shrunk): string {
    const name = (id: number) => this.t.devices[id]!.name;
    const parts = swaps.map((w) => `${name(w.spare)} took ${name(w.failed)}'s place, ${name(w.failed)} retired (${w.how})`);
    if (shrunk.plan) return `shrink: ${shrunk.plan.note}; ${shrunk.retired.map((id, i) => `${name(id)} retired (${shrunk.hows[i]})`).join(", ")}${restart.length ? `; ${restart.map(name).join(", ")} restarted as incarnation ${this.inc}` : ""}`;
    if (shrunk.refused) parts.push(`shrink refused: ${shrunk.refused}`);
    if (this.policy.policy === "spare" && restart.some((id) => this.t.devices[id]!.kind === "npu") && this.members.spares.length === 0) parts.push(`no spare left (all ${this.policy.spares.length} in use)`);
    if (restart.length) parts.push(`${restart.map(name).join(", ")} restarted as incarnation ${this.inc}`);
    const text = parts.join("; ") || "nothing to restart";
    return `${swaps.length ? "spare" : "restart"}: ${text}`;
  }

  /**
   * The crashes, hangs and server losses that start op `op` (its first attempt, at `start`): done now;
   * partitions accounted (the actors apply them); mid-op triggers returned as the halts to send.
   */
  private async injectAtStart(faults: readonly PlannedFault[], op: number, start: number, index: number, injected: PlannedFault[], down: number[]): Promise<ControlTo[]> {
    const halts: ControlTo[] = [];
    for (const f of faults) {
      if (isMidOp(f.decl.at)) { halts.push(haltOf(f, op, this.epoch, start)); continue; } // the NPU strikes itself: accounted when it says so
      if (!isProcessFault(f.decl.kind)) { // a partition: the actors apply it; its stall is accounted here
        this.records.set(f.index, record(op, { virtualNs: start, wallMs: this.history.wallMs() }, "none"));
        injected.push(f);
        continue;
      }
      await strike(this.inner.process!, f);
      this.records.set(f.index, record(op, { virtualNs: start, wallMs: this.history.wallMs() }, "not recovered: the run ended first"));
      this.history.add({ type: "fault", index, op, fault: f.index, kind: f.decl.kind, target: f.decl.target, virtualNs: start });
      if (f.decl.kind !== ProcessFaultKind.NatsServerLoss) { down.push(f.targets[0]!); this.stillDown.add(f.targets[0]!); } // a server is not restarted: its clients moved on
      injected.push(f);
    }
    return halts;
  }

  /**
   * After a failed attempt, brings the communicator back by the policy: spares swapped in for failed
   * members (spare, while they last), the op re-planned without them (shrink), and whoever is left
   * restarted as a new incarnation; each step in the history.
   */
  private async reform(failed: readonly number[], s: OpSpec, replan: Replan | undefined, proc: ProcessControl, index: number, atNs: number): Promise<{ swaps: Swap[]; shrunk: Shrunk; restart: readonly number[] }> {
    const name = (id: number) => this.t.devices[id]!.name;
    const { swaps, restart: left } = await this.members.swap(failed, s, proc);
    if (swaps.length) this.history.add({ type: "membership", index, policy: "spare", removed: swaps.map((w) => name(w.failed)), added: swaps.map((w) => name(w.spare)), virtualNs: atNs });
    const shrunk = await this.shrink(left, s, replan, proc);
    if (shrunk.plan) this.history.add({ type: "membership", index, policy: "shrink", removed: shrunk.retired.map(name), added: [], virtualNs: atNs });
    const restart = shrunk.restart;
    if (restart.length) {
      this.inc = this.incs.next();
      await proc.restart(restart, this.inc);
      for (const id of restart) { this.restartedSoFar.add(id); this.stillDown.delete(id); }
      this.history.add({ type: "restart", actors: restart.map(name), inc: this.inc, virtualNs: atNs });
    }
    return { swaps, shrunk, restart };
  }

  /** policy shrink: asks the op's owner to re-plan it without the failed members and retires them; the rest are restarted. */
  private async shrink(failed: readonly number[], s: OpSpec, replan: Replan | undefined, proc: ProcessControl): Promise<Shrunk> {
    const members = new Set<number>(s.group);
    const out = failed.filter((id) => members.has(id));
    if (this.policy.policy !== "shrink" || out.length === 0) return { restart: [...failed], retired: [], hows: [] };
    if (!replan) return { restart: [...failed], retired: [], hows: [], refused: `a ${s.collective} op is not re-planned over fewer ranks` };
    const plan = replan(out, s);
    if ("refused" in plan) return { restart: [...failed], retired: [], hows: [], refused: plan.refused };
    const hows = await this.members.retire(out, proc);
    return { restart: failed.filter((id) => !members.has(id)), retired: out, hows, plan };
  }

  /** A restarted coordinator goes on at the epoch the run had reached, with its losses so far. */
  resumeAt(epoch: number, losses: readonly { readonly virtualNs: number; readonly wallMs: number }[]): void {
    this.epoch = epoch + 1; // a new coordinator is a new epoch: whatever the old one had in flight is fenced
    this.losses.push(...losses);
    this.members.replay(this.history.events); // spares swapped in before go on playing their ranks
  }

  /** A crash or hang someone else did just now (`supernode chaos --docker`): the op in progress is charged with it. */
  noteExternal(f: PlannedFault): void {
    this.external.push(f);
    // Until an attempt fails after it, it is pending: the caller may do it after the op in progress ended.
    this.records.set(f.index, record(this.currentOp, { virtualNs: this.currentStartNs, wallMs: this.history.wallMs() }, "none: no op failed after it (nothing noticed it)"));
    this.externalSet.add(f);
    this.history.add({ type: "fault", index: Math.max(f.fromIndex, 0), op: this.currentOp, fault: f.index, kind: f.decl.kind, target: f.decl.target, virtualNs: this.currentStartNs });
  }

  isExternal(f: PlannedFault): boolean { return this.externalSet.has(f); }
}

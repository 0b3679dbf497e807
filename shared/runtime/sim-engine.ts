import { toWireError } from "../errors/index.js";
import { COORDINATOR, PROTOCOL_VERSION, type Message, type OpDoneMsg, type OpSpec, type RejectCounts } from "../protocol/index.js";
import { DeviceKind, type Topology } from "../topology/index.js";
import type { SimNs } from "../units/index.js";
import { ActorPhase, silentLogger, type ActorContext, type ActorLogic, type Logger } from "./actor.js";
import type { ControlTo, Engine, EngineCursor, HaltNote, OpOutcome, ProcessControl, RankParts } from "./engine.js";
import { EventQueue } from "./event-queue.js";
import { DEFAULT_LIMITS, type ActorLimits } from "./limits.js";
import type { TraceRecorder } from "../trace/index.js";
import { RejectionLog } from "./rejection-log.js";

/**
 * One actor, and the context its logic gets, in one object (one cache line fewer per delivery than
 * two): `nowNs` is set to the event's time before each delivery; the logic sees only ActorContext.
 */
interface Hosted extends ActorContext {
  nowNs: number;
  readonly logic: ActorLogic<unknown>;
  state: unknown;
  phase: ActorPhase;
  readonly rejections: RejectionLog;
}

export interface SimEngineOptions {
  readonly topology: Topology;
  readonly npu: ActorLogic<never>;
  readonly switch: ActorLogic<never>;
  readonly log?: Logger;
  readonly limits?: ActorLimits;
  /** Set when the run is traced: every actor's ctx gets its sink. */
  readonly trace?: TraceRecorder | undefined;
}

/**
 * The deterministic in-process engine: every actor lives in this process and a virtual-time event
 * queue (ties broken by insertion order) delivers their messages. Same inputs → same outputs, bit
 * for bit. It is the oracle the NATS engine is checked against.
 */
export class SimEngine implements Engine {
  readonly name = "sim";
  readonly processes = 1;
  readonly cursor: EngineCursor = { nextOp: 1, clockNs: 0 };
  private readonly actors: Hosted[];
  private readonly log: Logger;
  /**
   * Crash and hang stop deliveries to the actor (what reaches it is lost, as in a dead or stopped
   * process's socket); restart gives it fresh state as a new incarnation.
   */
  readonly process: ProcessControl = {
    refuses: () => undefined,
    crash: async (id) => { this.actors[id]!.phase = ActorPhase.Stopped; },
    hang: async (id) => { this.actors[id]!.phase = ActorPhase.Stopped; },
    remove: async (id) => { this.actors[id]!.phase = ActorPhase.Stopped; return "its deliveries stopped"; },
    readmit: async (ids, inc) => this.process.restart(ids, inc),
    restart: async (ids, inc) => {
      const t = this.opts.topology, limits = this.opts.limits ?? DEFAULT_LIMITS;
      for (const id of ids) {
        const a = this.actors[id]!;
        a.state = a.logic.init(id, t, limits, inc);
        a.phase = ActorPhase.Running;
      }
    },
  };

  constructor(private readonly opts: SimEngineOptions) {
    this.log = opts.log ?? silentLogger;
    const t = opts.topology;
    const limits = opts.limits ?? DEFAULT_LIMITS;
    this.actors = t.devices.map((d) => {
      const logic = (d.kind === DeviceKind.Npu ? opts.npu : opts.switch) as ActorLogic<unknown>;
      const rejections = new RejectionLog(this.log);
      const hosted: Hosted = {
        nowNs: 0, self: d.id, topology: t, log: this.log, limits, rejected: rejections.counts, trace: opts.trace?.sinkFor(d.id),
        reject: (reason, from, fields, why, count) => rejections.note(reason, String(from), { actor: d.name, ...fields }, why, count),
        logic, state: logic.init(d.id, t, limits), phase: ActorPhase.Running, rejections,
      };
      return hosted;
    });
  }

  /** Refusals so far, per actor id (only actors that refused something). */
  rejections(): ReadonlyMap<number, RejectCounts> {
    const m = new Map<number, RejectCounts>();
    this.actors.forEach((a, id) => { if (a.rejections.total > 0) m.set(id, { ...a.rejections.counts }); });
    return m;
  }

  async runOp(spec: OpSpec, startNs: SimNs, epoch: number, signal?: AbortSignal, parts?: RankParts, before?: readonly ControlTo[]): Promise<OpOutcome> {
    const q = new EventQueue<Message>();
    const t = this.opts.topology;
    for (const c of before ?? []) q.push(startNs, c.to, c.msg); // faults: before the op-opens and op-starts of their first op
    // Switches hear of the op before any of its stripes can reach them (the queue breaks ties in insertion order).
    for (const id of t.switches) q.push(startNs, id, { v: PROTOCOL_VERSION, type: "op-open", from: COORDINATOR, epoch, inc: 0, op: spec.op });
    spec.group.forEach((id, r) => {
      const part = parts?.(r);
      q.push(startNs, id, { v: PROTOCOL_VERSION, type: "op-start", from: COORDINATOR, epoch, inc: 0, spec, startNs, ...(part ? { part } : {}) });
    });
    const done: OpDoneMsg[] = [];
    const halted: HaltNote[] = [];
    const failed: string[] = [];
    let messages = 0, polls = 0;
    for (let msg = q.pop(); msg; msg = q.pop()) {
      if ((++polls & 0xffff) === 0 && signal?.aborted) throw signal.reason;
      const to = q.to;
      if (to === COORDINATOR) {
        if (msg.type === "op-done") done.push(msg);
        else if (msg.type === "halted") { // its last words: the actor is gone (crash) or stopped (hang) from here on
          halted.push({ actor: msg.from, fault: msg.fault, mode: msg.mode, atNs: msg.atNs });
          this.actors[msg.from]!.phase = ActorPhase.Stopped;
        }
        continue;
      }
      if (msg.type === "data") messages++;
      const outbound = this.deliver(to, msg, q.time, failed);
      for (const o of outbound) q.push(o.atNs, o.to, o.msg);
    }
    for (const id of t.switches) this.deliver(id, { v: PROTOCOL_VERSION, type: "op-close", from: COORDINATOR, epoch, inc: 0, op: spec.op }, q.time);
    const stalled = done.length < spec.group.length
      ? `${spec.group.length - done.length} of ${spec.group.length} ranks never finished: nothing left to deliver`
      : undefined;
    return { done, messages, failedActors: failed, ...(stalled ? { stalled } : {}), ...(halted.length ? { halted } : {}) };
  }

  /** Hands one message to an actor's logic; a throw marks that actor failed (named in `failed`). */
  private deliver(to: number, msg: Message, nowNs: number, failed?: string[]): readonly { atNs: SimNs; to: number; msg: Message }[] {
    const a = this.actors[to]!;
    if (a.phase !== ActorPhase.Running) return [];
    a.nowNs = nowNs;
    try {
      const step = a.logic.receive(a.state, msg, a);
      a.state = step.state;
      return step.outbound;
    } catch (err) {
      a.phase = ActorPhase.Failed;
      failed?.push(this.opts.topology.devices[to]!.name);
      this.log.error({ err: toWireError(err), actor: this.opts.topology.devices[to]!.name }, "actor failed");
      return [];
    }
  }

  /** Actor states, for tests and for per-port statistics. */
  stateOf(id: number): unknown {
    return this.actors[id]?.state;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const a of this.actors) a.phase = ActorPhase.Stopped;
  }
}

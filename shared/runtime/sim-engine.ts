import { toWireError } from "../errors/index.js";
import { COORDINATOR, PROTOCOL_VERSION, type Message, type OpDoneMsg, type OpSpec } from "../protocol/index.js";
import { DeviceKind, type Topology } from "../topology/index.js";
import type { SimNs } from "../units/index.js";
import { ActorPhase, silentLogger, type ActorContext, type ActorLogic, type Logger } from "./actor.js";
import type { Engine, EngineCursor, OpOutcome, RankParts } from "./engine.js";
import { EventQueue } from "./event-queue.js";

interface Hosted {
  readonly logic: ActorLogic<unknown>;
  state: unknown;
  phase: ActorPhase;
  readonly ctx: ActorContext;
}

export interface SimEngineOptions {
  readonly topology: Topology;
  readonly npu: ActorLogic<never>;
  readonly switch: ActorLogic<never>;
  readonly log?: Logger;
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

  constructor(private readonly opts: SimEngineOptions) {
    this.log = opts.log ?? silentLogger;
    const t = opts.topology;
    this.actors = t.devices.map((d) => {
      const logic = (d.kind === DeviceKind.Npu ? opts.npu : opts.switch) as ActorLogic<unknown>;
      const ctx: ActorContext = { self: d.id, topology: t, log: this.log };
      return { logic, state: logic.init(d.id, t), phase: ActorPhase.Running, ctx };
    });
  }

  async runOp(spec: OpSpec, startNs: SimNs, epoch: number, signal?: AbortSignal, parts?: RankParts): Promise<OpOutcome> {
    const q = new EventQueue<Message>();
    spec.group.forEach((id, r) => {
      const part = parts?.(r);
      q.push(startNs, id, { v: PROTOCOL_VERSION, type: "op-start", from: COORDINATOR, epoch, inc: 0, spec, startNs, ...(part ? { part } : {}) });
    });
    const done: OpDoneMsg[] = [];
    const failed: string[] = [];
    let messages = 0, polls = 0;
    for (let msg = q.pop(); msg; msg = q.pop()) {
      if ((++polls & 0xffff) === 0 && signal?.aborted) throw signal.reason;
      const to = q.to;
      if (to === COORDINATOR) {
        if (msg.type === "op-done") done.push(msg);
        continue;
      }
      if (msg.type === "data") messages++;
      const a = this.actors[to]!;
      if (a.phase !== ActorPhase.Running) continue;
      try {
        const step = a.logic.receive(a.state, msg, a.ctx);
        a.state = step.state;
        for (const o of step.outbound) q.push(o.atNs, o.to, o.msg);
      } catch (err) {
        a.phase = ActorPhase.Failed;
        failed.push(this.opts.topology.devices[to]!.name);
        this.log.error({ err: toWireError(err), actor: this.opts.topology.devices[to]!.name }, "actor failed");
      }
    }
    const stalled = done.length < spec.group.length
      ? `${spec.group.length - done.length} of ${spec.group.length} ranks never finished: nothing left to deliver`
      : undefined;
    return { done, messages, failedActors: failed, ...(stalled ? { stalled } : {}) };
  }

  /** Actor states, for tests and for per-port statistics. */
  stateOf(id: number): unknown {
    return this.actors[id]?.state;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const a of this.actors) a.phase = ActorPhase.Stopped;
  }
}

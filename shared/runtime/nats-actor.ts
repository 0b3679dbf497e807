import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { decode, encode, MAX_MESSAGE_BYTES } from "../codec/index.js";
import { toWireError } from "../errors/index.js";
import {
  COORDINATOR, PROTOCOL_VERSION, RejectReason, SubjectCache, subjectFault, Subjects, type ActorRef, type Channel, type DataMsg, type HaltMode, type HeartbeatMsg, type Message, type SubjectParts,
  type WindowMsg, type WindowReportMsg,
} from "../protocol/index.js";
import type { Topology } from "../topology/index.js";
import { ActorPhase, type ActorContext, type ActorLogic, type Logger, type Outbound } from "./actor.js";
import { HeldData } from "./held-data.js";
import { DEFAULT_LIMITS, type ActorLimits } from "./limits.js";
import type { LocalDelivery, LocalReceiver } from "./local-delivery.js";
import { RejectionLog } from "./rejection-log.js";
import { TurnOrder } from "./turn-order.js";

/** Default wall-time interval between heartbeats. */
export const DEFAULT_HEARTBEAT_MS = 500;

export interface NatsActorOptions {
  readonly servers: string | readonly string[];
  readonly subjects: Subjects;
  readonly self: ActorRef;
  readonly name: string;
  readonly logic: ActorLogic<unknown>;
  readonly topology: Topology;
  readonly log: Logger;
  /** Incarnation: how many times this actor has been (re)started. */
  readonly inc: number;
  readonly heartbeatMs: number;
  readonly host: string;
  readonly pid: number;
  /** topologyHash of the topology this actor runs on, announced in heartbeats. */
  readonly topologyHash: string;
  /** Extra connection options (credentials, timeouts). */
  readonly connectOptions?: Record<string, unknown>;
  readonly limits?: ActorLimits;
  /** How often the client pings its server (deployment.pingIntervalMs); two unanswered and it reconnects. */
  readonly pingIntervalMs?: number;
  /** Co-located actors' direct path (deployment.localDelivery); absent: everything goes over NATS. */
  readonly local?: LocalDelivery;
  /**
   * What the process does when this actor halts (a mid-op npu-crash or -hang): kill or stop itself.
   * Absent (actors sharing a process): the actor alone stops, silent, as a chip removed from its host.
   */
  readonly onHalt?: (mode: HaltMode) => void;
  /**
   * Data messages that arrive in one turn of the event loop (one socket read, one local drain) are
   * handled in the order of their earliest stripe head, not of their arrival (switches: see
   * `handle`). Control and reports keep their place: the data before one is handled before it.
   */
  readonly virtualOrder?: boolean;
  /**
   * deployment.timing: exact. Data is held, by the virtual time this actor handles it at (what the
   * sim engine's queue would deliver it at), until the coordinator's window includes that time; each
   * window ends with a report (docs/nats-engine.md §9.1). `handleAtNs` gives that time of a message.
   */
  readonly exact?: { readonly handleAtNs: (m: DataMsg) => number };
}

/**
 * The transport shell around one actor's logic: its own NATS connection, one subscription for
 * everything addressed to it, a mailbox loop (the client's callback, one message at a time), and a
 * heartbeat. At the edge, bytes that are too large or do not decode, and messages whose body
 * disagrees with the subject's sender (senderFault), are counted, logged (first per sender and
 * reason, then every Nth, with the subject) and dropped before the logic sees them; an exception in
 * the logic marks this actor failed (reported in its heartbeats) and never takes down the host.
 */
export class NatsActor implements AsyncDisposable, LocalReceiver {
  phase: ActorPhase = ActorPhase.Init;
  handled = 0;
  readonly rejections: RejectionLog;
  private state: unknown;
  private nc: NatsConnection | undefined;
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Subject of the message being handled: named in the logic's rejection logs. */
  private subject = "";
  private readonly ctx: ActorContext;
  /** Subjects heard (parsed once each) and subjects to send on, by channel and receiver. */
  private readonly heard = new SubjectCache();
  private readonly sendOn = new Map<Channel, Map<ActorRef, string>>();

  constructor(private readonly o: NatsActorOptions) {
    const limits = o.limits ?? DEFAULT_LIMITS;
    this.rejections = new RejectionLog(o.log);
    this.state = o.logic.init(o.self, o.topology, limits, o.inc);
    this.ctx = {
      self: o.self, topology: o.topology, log: o.log, limits, rejected: this.rejections.counts,
      reject: (reason, from, fields, why, count) => this.rejections.note(reason, String(from), { subject: this.subject, ...fields }, why, count),
    };
  }

  /** Messages refused so far, all reasons. */
  get rejected(): number { return this.rejections.total; }

  /** Connects, subscribes and announces itself; resolves once the subscription is live on the server. */
  async start(): Promise<void> {
    this.nc = await connect({
      servers: this.o.servers as string[],
      name: `${this.o.subjects.run}:${this.o.name}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: 5_000,
      ...(this.o.pingIntervalMs !== undefined ? { pingInterval: this.o.pingIntervalMs, maxPingOut: 2 } : {}),
      ...this.o.connectOptions,
    });
    this.sub = this.nc.subscribe(this.o.subjects.inbox(this.o.self), {
      callback: (err, m) => (err ? this.o.log.error({ err: toWireError(err) }, "subscription error") : this.onBytes(m.subject, m.data)),
    });
    await this.nc.flush();
    this.phase = ActorPhase.Running;
    this.heartbeat();
    this.timer = setInterval(() => this.heartbeat(), this.o.heartbeatMs);
    this.timer.unref();
  }

  private onBytes(subject: string, bytes: Uint8Array): void {
    const msg = this.admit(subject, bytes);
    if (msg) this.take(subject, msg);
  }

  /** A message from an actor of this process: the edge's checks (phase, sender), as for bytes from the wire. */
  receiveLocal(subject: string, msg: Message): void {
    if (this.admit(subject, msg)) this.take(subject, msg);
  }

  /**
   * Handles an admitted message now, or (virtualOrder, data) at the end of this turn of the event
   * loop with the other data messages that came in it, earliest stripe head first. A switch port
   * serves in the order it is asked (linkmodel/port.ts): in the sim engine that is virtual order;
   * here it is wall order, and a message early in virtual time that arrives behind a later one can
   * only fill the gaps the later one left (docs/nats-engine.md §9). Messages that arrive together —
   * common when a process waits for the CPU while its socket fills — are put back in virtual order.
   * Handling order changes no result but port timing (the logic keys everything by transfer).
   */
  private take(subject: string, msg: Message): void {
    if (this.o.exact) { this.takeExact(subject, msg, this.o.exact.handleAtNs); return; }
    if (msg.type === "window") { this.rejections.note(RejectReason.Stale, String(msg.from), { subject }, "window without deployment.timing: exact"); return; }
    if (!this.o.virtualOrder) { this.handle(subject, msg); return; }
    if (!this.turn.hold(subject, msg)) { this.flushTurn(); this.handle(subject, msg); return; }
    if (!this.turnScheduled) { this.turnScheduled = true; setImmediate(this.flushTurn); }
  }

  /** deployment.timing: exact — data held until a window, the counts the windows' reports carry. */
  private readonly held = new HeldData();
  private dataSent = 0;
  private dataReceived = 0;
  /** The window this actor last reported, while it is the latest (undefined: none yet, or the op ended). */
  private window: { op: number; window: number } | undefined;

  private takeExact(subject: string, msg: Message, handleAtNs: (m: DataMsg) => number): void {
    if (msg.type === "data") {
      this.dataReceived++;
      this.held.hold(handleAtNs(msg), subject, msg);
      if (this.window) this.reportWindow(); // after its report: the coordinator must hear of it
      return;
    }
    if (msg.type !== "window") {
      // After its op (op-close to switches, status-req to all, op-abort): late data is stale, not news.
      if (msg.type === "op-close" || msg.type === "op-abort" || msg.type === "status-req") this.window = undefined;
      this.handle(subject, msg);
      return;
    }
    this.window = { op: msg.op, window: msg.window };
    for (let e = this.held.takeBefore(msg.untilNs); e; e = this.held.takeBefore(msg.untilNs)) {
      if (this.phase !== ActorPhase.Running) return;
      this.handle(e.subject, e.msg);
    }
    this.reportWindow();
  }

  private reportWindow(): void {
    const w = this.window!, next = this.held.nextNs;
    const msg: WindowReportMsg = {
      v: PROTOCOL_VERSION, type: "window-report", from: this.o.self, epoch: 0, inc: this.o.inc, op: w.op, window: w.window,
      sent: this.dataSent, received: this.dataReceived, ...(next !== undefined ? { nextNs: next as never } : {}),
    };
    this.publish({ to: COORDINATOR, atNs: 0 as never, msg });
  }

  private readonly turn = new TurnOrder();
  private turnScheduled = false;
  private readonly flushTurn = (): void => {
    this.turnScheduled = false;
    if (this.turn.size === 0) return;
    for (const e of this.turn.release()) if (this.phase === ActorPhase.Running) this.handle(e.subject, e.msg);
  };


  private handle(subject: string, msg: Message): void {
    this.handled++;
    this.subject = subject;
    let outbound: readonly Outbound[];
    try {
      const step = this.o.logic.receive(this.state, msg, this.ctx);
      this.state = step.state;
      outbound = step.outbound;
    } catch (err) {
      this.phase = ActorPhase.Failed;
      this.o.log.error({ err: toWireError(err), type: msg.type, from: msg.from }, "actor logic failed; actor marked failed");
      this.heartbeat();
      return;
    }
    let halted: HaltMode | undefined;
    for (const out of outbound) {
      this.publish(out);
      if (out.msg.type === "halted") halted = out.msg.mode;
    }
    if (halted) void this.halt(halted);
  }

  /** Its last words are out: nothing more is handled or sent; then the process goes, if it is alone in it. */
  private async halt(mode: HaltMode): Promise<void> {
    this.phase = ActorPhase.Stopped;
    if (this.timer) clearInterval(this.timer);
    try { await this.nc?.flush(); } catch { /* the server is gone: the coordinator finds out by silence */ }
    this.o.onHalt?.(mode);
  }

  /**
   * The edge: bytes from the wire become a message only if they fit, decode, pass the guard and agree
   * with their subject; a message from an actor of this process (already a message) takes the same
   * checks but the size and decoding.
   */
  private admit(subject: string, input: Uint8Array | Message): Message | undefined {
    const parts = this.heard.get(subject);
    const bytes = input instanceof Uint8Array ? input : undefined;
    if (this.phase !== ActorPhase.Running) return this.refuse(parts, bytes, RejectReason.Stale, `message while ${this.phase}`);
    let msg: Message;
    if (bytes) {
      if (bytes.byteLength > MAX_MESSAGE_BYTES) return this.refuse(parts, bytes, RejectReason.Oversize, `message over ${MAX_MESSAGE_BYTES} bytes`);
      try {
        msg = decode(bytes);
      } catch (err) {
        return this.refuse(parts, bytes, RejectReason.Malformed, "message does not decode", err);
      }
    } else msg = input as Message;
    const fault = subjectFault(parts, msg);
    return fault ? this.refuse(parts, bytes, RejectReason.Forged, `sender refused: ${fault}`) : msg;
  }

  private refuse(s: SubjectParts, bytes: Uint8Array | undefined, reason: RejectReason, why: string, err?: unknown): undefined {
    this.rejections.note(reason, s.senderToken, { subject: s.subject, ...(bytes ? { bytes: bytes.byteLength } : {}), ...(err ? { err: toWireError(err) } : {}) }, why);
    return undefined;
  }

  private publish(out: Outbound): void {
    const channel = Subjects.channelOf(out.msg.type);
    let byTo = this.sendOn.get(channel);
    if (!byTo) this.sendOn.set(channel, (byTo = new Map()));
    let subject = byTo.get(out.to);
    if (subject === undefined) byTo.set(out.to, (subject = this.o.subjects.to(channel, this.o.self, out.to)));
    if (out.msg.type === "data") this.dataSent++;
    if (this.o.local?.offer(out.to, subject, out.msg)) return;
    this.nc?.publish(subject, encode(out.msg));
  }

  private heartbeat(): void {
    if (!this.nc || this.nc.isClosed()) return;
    const msg: HeartbeatMsg = {
      v: PROTOCOL_VERSION, type: "heartbeat", from: this.o.self, epoch: 0, inc: this.o.inc,
      pid: this.o.pid, host: this.o.host, phase: this.phase, handled: this.handled, rejected: this.rejected, topology: this.o.topologyHash,
    };
    // On the actor's own connection: a heartbeat also says its subscription is live (after a reconnect
    // too), so the coordinator never starts an op for an actor that cannot hear it yet.
    this.publish({ to: -1, atNs: 0 as never, msg });
  }

  /** Actor state, for inspection in tests. */
  get logicState(): unknown { return this.state; }

  /** Drains and closes; idempotent. */
  async stop(): Promise<void> {
    if (this.phase === ActorPhase.Stopped || this.phase === ActorPhase.Draining) return;
    const failed = this.phase === ActorPhase.Failed;
    this.phase = ActorPhase.Draining;
    if (this.timer) clearInterval(this.timer);
    this.heartbeat();
    try {
      await this.nc?.drain();
    } catch {
      // already closed (server gone): nothing left to drain
    }
    this.phase = failed ? ActorPhase.Failed : ActorPhase.Stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> { await this.stop(); }
}

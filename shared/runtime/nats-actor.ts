import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { decode, encode } from "../codec/index.js";
import { toWireError } from "../errors/index.js";
import { PROTOCOL_VERSION, Subjects, type ActorRef, type HeartbeatMsg } from "../protocol/index.js";
import type { Topology } from "../topology/index.js";
import { ActorPhase, type ActorContext, type ActorLogic, type Logger, type Outbound } from "./actor.js";

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
}

/**
 * The transport shell around one actor's logic: its own NATS connection, one subscription for
 * everything addressed to it, a mailbox loop (the client's callback, one message at a time), and a
 * heartbeat. Bad bytes are counted, logged once per sender, and dropped; an exception in the logic
 * marks this actor failed (reported in its heartbeats) and never takes down the host process.
 */
export class NatsActor implements AsyncDisposable {
  phase: ActorPhase = ActorPhase.Init;
  handled = 0;
  rejected = 0;
  private state: unknown;
  private nc: NatsConnection | undefined;
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly loggedSenders = new Set<string>();
  private readonly ctx: ActorContext;

  constructor(private readonly o: NatsActorOptions) {
    this.state = o.logic.init(o.self, o.topology);
    this.ctx = { self: o.self, topology: o.topology, log: o.log };
  }

  /** Connects, subscribes and announces itself; resolves once the subscription is live on the server. */
  async start(): Promise<void> {
    this.nc = await connect({
      servers: this.o.servers as string[],
      name: `${this.o.subjects.run}:${this.o.name}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: 5_000,
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
    if (this.phase !== ActorPhase.Running) { this.rejected++; return; }
    let msg;
    try {
      msg = decode(bytes);
    } catch (err) {
      this.rejected++;
      const sender = Subjects.senderOf(subject);
      if (!this.loggedSenders.has(sender)) {
        this.loggedSenders.add(sender);
        this.o.log.warn({ sender, subject, bytes: bytes.byteLength, err: toWireError(err) }, "dropped a message that does not decode (logged once per sender)");
      }
      return;
    }
    this.handled++;
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
    for (const out of outbound) this.publish(out);
  }

  private publish(out: Outbound): void {
    const subject = this.o.subjects.to(Subjects.channelOf(out.msg.type), this.o.self, out.to);
    this.nc?.publish(subject, encode(out.msg));
  }

  private heartbeat(): void {
    if (!this.nc || this.nc.isClosed()) return;
    const msg: HeartbeatMsg = {
      v: PROTOCOL_VERSION, type: "heartbeat", from: this.o.self, epoch: 0, inc: this.o.inc,
      pid: this.o.pid, host: this.o.host, phase: this.phase, handled: this.handled, rejected: this.rejected, topology: this.o.topologyHash,
    };
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

import type { ActorRef, Message, RejectCounts, RejectReason } from "../protocol/index.js";
import type { Topology } from "../topology/index.js";
import type { TraceSink } from "../trace/index.js";
import type { SimNs } from "../units/index.js";
import type { ActorLimits } from "./limits.js";

/** The subset of pino's API that actor logic may use; actors never import pino themselves. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** What the engine gives an actor with each message. */
export interface ActorContext {
  readonly self: ActorRef;
  readonly topology: Topology;
  readonly log: Logger;
  /** Bounds on what the actor may buffer or remember. */
  readonly limits: ActorLimits;
  /**
   * Counts (and, rate-limited, logs) a refused message: the engine keeps the counts and reports them.
   * `from` is the sender the message claims (the transport adds the subject when it has one).
   * `count`: what is refused — a data message's stripes (each is a unit of data), else 1 message.
   */
  reject(reason: RejectReason, from: ActorRef, fields: Record<string, unknown>, why: string, count?: number): void;
  /** What this actor has refused so far, at its edge and in its logic (for its status replies). */
  readonly rejected: RejectCounts;
  /** Where trace events go when the run is traced (`--trace`); undefined otherwise: test it before building any. */
  readonly trace?: TraceSink | undefined;
  /**
   * Virtual time of the event being handled, where the engine delivers in virtual-time order (the sim
   * engine): nothing the actor does from it on can be ready earlier, so its ports may forget what lies
   * behind it. Undefined where messages come in wall order (NATS).
   */
  readonly nowNs?: number | undefined;
}

/**
 * A message to send. `atNs` is the virtual time at which the receiver handles it (a switch: when the
 * head arrives; an endpoint: when the transfer is delivered). The sim engine orders its event queue by
 * it; the NATS engine just publishes, and the receiver's logic works from the message's own times.
 */
export interface Outbound {
  readonly to: ActorRef;
  readonly atNs: SimNs;
  readonly msg: Message;
}

export interface Step<S> {
  readonly state: S;
  readonly outbound: readonly Outbound[];
}

/**
 * Pure actor logic: (state, message, ctx) → { state, outbound }. It reads no clock, no timers, no
 * process and no transport, so it runs the same in one process or in many. For speed a step may update
 * `state` in place and return it, and may return the same step object and outbound array for every
 * message, of every actor of the logic (`StepBuffer`): an engine reads a step before it hands any actor
 * its next message (no receive runs inside another), and never shares one actor's state with another.
 */
export interface ActorLogic<S> {
  readonly kind: string;
  /** `inc`: the incarnation (0 at first start; a restarted actor gets a higher one, carried in what it sends). */
  init(self: ActorRef, topology: Topology, limits?: ActorLimits, inc?: number): S;
  receive(state: S, msg: Message, ctx: ActorContext): Step<S>;
}

/** An actor's lifecycle, as its host sees it. */
export const ActorPhase = { Init: "init", Running: "running", Draining: "draining", Stopped: "stopped", Failed: "failed" } as const;
export type ActorPhase = (typeof ActorPhase)[keyof typeof ActorPhase];

import { COORDINATOR, type ActorRef } from "./messages.js";

/**
 * Every NATS subject of a run is `sn.<run>.<channel>.<from>.<to>`: the sender is always in the
 * subject, so per-role permissions can say "publish only as yourself" (`sn.<run>.d.<me>.>`), and each
 * actor reads everything addressed to it with one subscription (`sn.<run>.*.*.<me>`).
 */
export const Channel = {
  /** Data stripes between endpoints and switches. */
  Data: "d",
  /** Coordinator → actor control (op-start, op-abort, op-open, op-close, status-req, fault, window). */
  Control: "c",
  /** Actor → coordinator reports (op-done, status, halted, window-report). */
  Report: "u",
  /** Actor → coordinator heartbeats. */
  Heartbeat: "h",
} as const;
export type Channel = (typeof Channel)[keyof typeof Channel];

export const SUBJECT_ROOT = "sn";
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The subject token of an actor: its device id, or `coord`. */
export function actorToken(a: ActorRef): string {
  return a === COORDINATOR ? "coord" : String(a);
}

/** Parses a subject token back into an actor ref; undefined when it is not one. */
export function parseActorToken(t: string | undefined): ActorRef | undefined {
  if (t === "coord") return COORDINATOR;
  return t !== undefined && /^\d{1,9}$/.test(t) ? Number(t) : undefined;
}

/** Subjects of one run. */
export class Subjects {
  constructor(readonly run: string) {
    if (!RUN_ID.test(run)) throw new Error(`run id "${run}" must be 1-64 of [A-Za-z0-9_-]`);
  }
  /** A message from `from` to `to` on a channel. */
  to(channel: Channel, from: ActorRef, to: ActorRef): string {
    return `${SUBJECT_ROOT}.${this.run}.${channel}.${actorToken(from)}.${actorToken(to)}`;
  }
  /** Everything addressed to `me`, on every channel. */
  inbox(me: ActorRef): string {
    return `${SUBJECT_ROOT}.${this.run}.*.*.${actorToken(me)}`;
  }
  /** The channel a message travels on. */
  static channelOf(type: string): Channel {
    switch (type) {
      case "data": return Channel.Data;
      case "op-start": case "op-abort": case "op-open": case "op-close": case "status-req": case "fault": case "window": return Channel.Control;
      case "heartbeat": return Channel.Heartbeat;
      default: return Channel.Report;
    }
  }
  /** The sender token of a subject of this run (for logging messages that do not decode). */
  static senderOf(subject: string): string {
    return subject.split(".")[3] ?? "?";
  }
}

import { COORDINATOR, type ActorRef, type Message } from "./messages.js";
import { Channel, parseActorToken, Subjects } from "./subjects.js";

/** What a subject says of a message: its channel, sender and receiver (the tokens, parsed). */
export interface SubjectParts {
  readonly subject: string;
  readonly channel: string | undefined;
  /** The sender token as written (for logs), and the sender and receiver parsed (undefined: not actors). */
  readonly senderToken: string;
  readonly from: ActorRef | undefined;
  readonly to: ActorRef | undefined;
}

export function parseSubject(subject: string): SubjectParts {
  const t = subject.split(".");
  return { subject, channel: t[2], senderToken: t[3] ?? "?", from: parseActorToken(t[3]), to: parseActorToken(t[4]) };
}

/**
 * Why a decoded message cannot have come from the sender its subject names, or undefined when it
 * can. NATS permissions pin a principal to publishing as itself (`sn.<run>.<channel>.<me>.>`), so the
 * subject's sender is the one the server vouches for; the body must agree with it: the same `from`,
 * the channel of its type, control only from the coordinator, reports only to it, no data from it.
 * What the topology must say of a data message (its path starts at its source) the actors check.
 */
export function senderFault(subject: string, m: Message): string | undefined {
  return subjectFault(parseSubject(subject), m);
}

/** senderFault on a subject already parsed. */
export function subjectFault(s: SubjectParts, m: Message): string | undefined {
  const { channel, from, to } = s;
  if (from === undefined || to === undefined) return `subject ${s.subject} does not name a sender and a receiver`;
  if (channel !== Subjects.channelOf(m.type)) return `${m.type} on channel "${channel}" (its channel is "${Subjects.channelOf(m.type)}")`;
  if (m.from !== from) return `body says from ${m.from}, subject says ${from === COORDINATOR ? "coord" : from}`;
  if (channel === Channel.Control && from !== COORDINATOR) return `${m.type} from ${from}: only the coordinator sends control`;
  if ((channel === Channel.Report || channel === Channel.Heartbeat) && to !== COORDINATOR) return `${m.type} to ${to}: reports go to the coordinator`;
  if (channel === Channel.Data && from === COORDINATOR) return "data from the coordinator";
  return undefined;
}

/**
 * Parsed subjects by subject, for an edge that sees the same few subjects over and over (one per peer
 * and channel). Bounded: past `max` distinct subjects (a flood of made-up ones) it parses without keeping.
 */
export class SubjectCache {
  private readonly parsed = new Map<string, SubjectParts>();
  constructor(private readonly max = 4096) {}
  get(subject: string): SubjectParts {
    let s = this.parsed.get(subject);
    if (s === undefined) {
      s = parseSubject(subject);
      if (this.parsed.size < this.max) this.parsed.set(subject, s);
    }
    return s;
  }
}

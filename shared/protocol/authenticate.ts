import { COORDINATOR, type Message } from "./messages.js";
import { Channel, parseActorToken, Subjects } from "./subjects.js";

/**
 * Why a decoded message cannot have come from the sender its subject names, or undefined when it
 * can. NATS permissions pin a principal to publishing as itself (`sn.<run>.<channel>.<me>.>`), so the
 * subject's sender is the one the server vouches for; the body must agree with it: the same `from`,
 * the channel of its type, control only from the coordinator, reports only to it, no data from it.
 * What the topology must say of a data message (its path starts at its source) the actors check.
 */
export function senderFault(subject: string, m: Message): string | undefined {
  const t = subject.split(".");
  const channel = t[2], from = parseActorToken(t[3]), to = parseActorToken(t[4]);
  if (from === undefined || to === undefined) return `subject ${subject} does not name a sender and a receiver`;
  if (channel !== Subjects.channelOf(m.type)) return `${m.type} on channel "${channel}" (its channel is "${Subjects.channelOf(m.type)}")`;
  if (m.from !== from) return `body says from ${m.from}, subject says ${from === COORDINATOR ? "coord" : from}`;
  if (channel === Channel.Control && from !== COORDINATOR) return `${m.type} from ${from}: only the coordinator sends control`;
  if ((channel === Channel.Report || channel === Channel.Heartbeat) && to !== COORDINATOR) return `${m.type} to ${to}: reports go to the coordinator`;
  if (channel === Channel.Data && from === COORDINATOR) return "data from the coordinator";
  return undefined;
}

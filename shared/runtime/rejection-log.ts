import { emptyRejectCounts, type RejectCounts, type RejectReason } from "../protocol/index.js";
import type { Logger } from "./actor.js";

/** After the first refusal of a reason from a sender, every Nth is logged. */
export const LOG_EVERY_NTH_REJECTION = 1000;
/** (reason, sender) pairs followed one by one; beyond, senders share one entry per reason. */
const MAX_TRACKED_SENDERS = 4096;

/**
 * Counts an actor's refusals by reason (a data message's stripes each count; other messages count
 * once) and logs them without flooding the log: the first message of each reason per sender, then every Nth, each line with the reason, sender, running count and the
 * message's subject when the transport knows it.
 */
export class RejectionLog {
  private readonly byReason = emptyRejectCounts();
  private readonly perSender = new Map<string, number>();

  constructor(private readonly log: Logger, private readonly every = LOG_EVERY_NTH_REJECTION) {}

  get counts(): RejectCounts { return this.byReason; }

  get total(): number {
    let n = 0;
    for (const v of Object.values(this.byReason)) n += v;
    return n;
  }

  /** Counts `count` refused units (stripes of one data message, or one message) and maybe logs the message. */
  note(reason: RejectReason, sender: string, fields: Record<string, unknown>, why: string, count = 1): void {
    this.byReason[reason] += count;
    let key = `${reason} ${sender}`;
    if (!this.perSender.has(key) && this.perSender.size >= MAX_TRACKED_SENDERS) key = `${reason} *`;
    const n = (this.perSender.get(key) ?? 0) + 1;
    this.perSender.set(key, n);
    if (n === 1 || n % this.every === 0) this.log.warn({ reason, sender, count: n, ...fields }, why);
  }
}

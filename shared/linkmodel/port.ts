import type { SimNs } from "../units/index.js";

/**
 * Busy intervals kept per port; older ones fold into `floorNs`. In virtual order (sim) gaps behind the
 * last reservation are never used, so the number changes no result; in wall order (NATS) it bounds how
 * far back a late message can still find the gap it is owed: 64 left EP 256 MoE dispatch 11% slow.
 */
const MAX_INTERVALS = 1024;

/**
 * The egress port of a link: it carries one message's bytes at a time. A message needs `duration`
 * of port time from its ready time on, and takes it from the free time the port has — filling gaps
 * left before later reservations, in pieces if it must (packet interleaving). This is work-conserving:
 *
 * - served in virtual order (sim engine) there are never gaps after a ready time, so it is exactly a
 *   FIFO that serializes whole messages;
 * - served in wall order (NATS engine), a message that is early in virtual time but arrives late uses
 *   the free time before later reservations, and the port's busy periods — so the time its last
 *   message finishes — do not depend on the order messages arrived in (VIRTUAL-TIME.md, trap 2), as
 *   long as the gap it is owed is among the last MAX_INTERVALS busy intervals (older ones are folded).
 */
export class Port {
  private starts: number[] = [];
  private ends: number[] = [];
  /** Everything before this virtual time is taken: older intervals, folded away to bound memory. */
  private floorNs = 0;
  /** Total ns messages waited behind earlier reservations: a contention gauge. */
  queuedNs = 0;
  busyNs = 0;
  messages = 0;
  /** When the tail of the most recent message leaves (read right after `reserve`). */
  lastEndNs = 0 as SimNs;

  /**
   * Reserves `durationNs` of port time for a message whose head is ready at `readyNs` and whose tail
   * cannot leave before `minEndNs` (cut-through: it may still be arriving from a slower upstream
   * link, so a trickle does not hold a faster port for its whole arrival). Returns when the message
   * starts; its tail leaves at max(end of its last piece, minEndNs), left in `lastEndNs`.
   */
  reserve(readyNs: number, minEndNs: number, durationNs: number): SimNs {
    let t = Math.max(readyNs, this.floorNs);
    const n = this.ends.length;
    this.messages++;
    if (n === 0 || (this.ends[n - 1] as number) <= t) {
      this.append(t, t + durationNs);
      return this.finish(readyNs, t, t + durationNs, minEndNs, durationNs);
    }
    if (durationNs > 0 && (this.starts[n - 1] as number) <= t) {
      // Ready inside the last busy period: it queues behind it, as no gap is left after t.
      const start = this.ends[n - 1] as number;
      this.ends[n - 1] = start + durationNs;
      return this.finish(readyNs, start, start + durationNs, minEndNs, durationNs);
    }
    let i = this.firstEndingAfter(t);
    if (durationNs === 0) {
      // A header-only message waits for the busy period it arrives in, like any other (FIFO).
      while (i < this.ends.length && (this.starts[i] as number) <= t) t = Math.max(t, this.ends[i++] as number);
      return this.finish(readyNs, t, t, minEndNs, 0);
    }
    let remaining = durationNs, start = -1;
    while (remaining > 0 && i < this.ends.length) {
      const s = this.starts[i] as number;
      if (s > t) {
        const take = Math.min(remaining, s - t);
        if (start < 0) start = t;
        this.starts.splice(i, 0, t);
        this.ends.splice(i, 0, t + take);
        i++;
        t += take;
        remaining -= take;
        if (remaining === 0) break;
      }
      t = Math.max(t, this.ends[i] as number);
      i++;
    }
    if (remaining > 0 || start < 0) {
      if (start < 0) start = t;
      if (remaining > 0) { this.append(t, t + remaining); t += remaining; }
    }
    this.fold();
    return this.finish(readyNs, start, t, minEndNs, durationNs);
  }

  private finish(readyNs: number, start: number, end: number, minEndNs: number, durationNs: number): SimNs {
    this.queuedNs += start - readyNs;
    this.busyNs += durationNs;
    this.lastEndNs = Math.max(end, minEndNs) as SimNs;
    return start as SimNs;
  }

  private firstEndingAfter(t: number): number {
    let lo = 0, hi = this.ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ends[mid] as number) > t) hi = mid; else lo = mid + 1;
    }
    return lo;
  }

  /** Appends an interval at the end, merging it with the last one when they touch. */
  private append(s: number, e: number): void {
    if (e <= s) return;
    const n = this.ends.length;
    if (n > 0 && this.ends[n - 1] === s) { this.ends[n - 1] = e; return; }
    this.starts.push(s);
    this.ends.push(e);
    if (n >= MAX_INTERVALS) this.fold();
  }

  /** Folds the older half into the floor: no later message may use a gap inside it. */
  private fold(): void {
    if (this.ends.length <= MAX_INTERVALS) return;
    this.floorNs = Math.max(this.floorNs, this.ends[MAX_INTERVALS / 2 - 1] as number);
    this.starts.splice(0, MAX_INTERVALS / 2);
    this.ends.splice(0, MAX_INTERVALS / 2);
  }
}

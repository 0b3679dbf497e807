import type { SimNs } from "../units/index.js";

/** Intervals kept per port for gap-filling; older ones fold into `floorNs`. */
const MAX_INTERVALS = 64;

/**
 * The egress port of a link: it carries one message at a time. Reservations are intervals, and a
 * message takes the earliest gap at or after its ready time. Served in virtual order (sim engine)
 * this is exactly a FIFO; served in wall order (NATS engine) it still lets a message that is early in
 * virtual time use a gap before later reservations (VIRTUAL-TIME.md, trap 2).
 */
export class Port {
  private starts: number[] = [];
  private ends: number[] = [];
  /** Everything before this virtual time is taken: older intervals, folded away to bound memory. */
  private floorNs = 0;
  /** Total ns this port spent waiting for earlier reservations, over all messages: a contention gauge. */
  queuedNs = 0;
  busyNs = 0;
  messages = 0;
  /** When the tail of the most recent message leaves (read right after `reserve`). */
  lastEndNs = 0 as SimNs;

  /**
   * Reserves the port for a message whose head is ready at `readyNs`, which needs `durationNs` of
   * this port's time, and whose tail cannot leave before `minEndNs` (cut-through: it may still be
   * arriving from a slower upstream link). The port is busy for `durationNs` from the start — a
   * trickling message does not hold a faster port for its whole arrival, so several slower streams
   * share a fast port the way packet interleaving shares it. Returns the start; the tail leaves at
   * max(start + durationNs, minEndNs), left in `lastEndNs`.
   */
  reserve(readyNs: number, minEndNs: number, durationNs: number): SimNs {
    const n = this.ends.length;
    let start = Math.max(readyNs, this.floorNs);
    let i = n;
    if (n > 0 && (this.ends[n - 1] as number) > readyNs) {
      // Find the first interval that ends after `readyNs`, then walk gaps forward.
      let lo = 0, hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((this.ends[mid] as number) > readyNs) hi = mid; else lo = mid + 1;
      }
      i = lo;
      for (; i < n; i++) {
        if (start + durationNs <= (this.starts[i] as number)) break;
        start = Math.max(start, this.ends[i] as number);
      }
    }
    const end = start + durationNs;
    if (i === n) { this.starts.push(start); this.ends.push(end); }
    else { this.starts.splice(i, 0, start); this.ends.splice(i, 0, end); }
    if (this.ends.length > MAX_INTERVALS) {
      // Fold the older half into the floor: no later message may take a gap inside it.
      this.floorNs = Math.max(this.floorNs, this.ends[MAX_INTERVALS / 2 - 1] as number);
      this.starts.splice(0, MAX_INTERVALS / 2);
      this.ends.splice(0, MAX_INTERVALS / 2);
    }
    this.queuedNs += start - readyNs;
    this.busyNs += end - start;
    this.messages++;
    this.lastEndNs = Math.max(end, minEndNs) as SimNs;
    return start as SimNs;
  }

  reset(): void {
    this.floorNs = 0;
    this.starts = [];
    this.ends = [];
    this.queuedNs = 0;
    this.busyNs = 0;
    this.messages = 0;
  }
}

import type { SimNs } from "../units/index.js";

/** Intervals kept per port; older ones are dropped (they end before anything still to be placed). */
const MAX_INTERVALS = 256;

/**
 * The egress port of a link: it carries one message at a time. Reservations are intervals, and a
 * message takes the earliest gap at or after its ready time. Served in virtual order (sim engine)
 * this is exactly a FIFO; served in wall order (NATS engine) it still lets a message that is early in
 * virtual time use a gap before later reservations (VIRTUAL-TIME.md, trap 2).
 */
export class Port {
  private starts: number[] = [];
  private ends: number[] = [];
  /** Total ns this port spent waiting for earlier reservations, over all messages: a contention gauge. */
  queuedNs = 0;
  busyNs = 0;
  messages = 0;

  /**
   * Reserves the port for a message whose head is ready at `readyNs`, whose tail cannot leave before
   * `minEndNs` (cut-through: it is still arriving), and which needs `durationNs` at this port's rate.
   * Returns the start; the occupancy ends at max(start + durationNs, minEndNs).
   */
  reserve(readyNs: number, minEndNs: number, durationNs: number): { startNs: SimNs; endNs: SimNs } {
    const n = this.ends.length;
    let start = readyNs;
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
        const s = this.starts[i] as number;
        const end = Math.max(start + durationNs, minEndNs);
        if (end <= s) break;
        start = Math.max(start, this.ends[i] as number);
      }
    }
    const end = Math.max(start + durationNs, minEndNs);
    this.starts.splice(i, 0, start);
    this.ends.splice(i, 0, end);
    if (this.ends.length > MAX_INTERVALS) {
      this.starts.splice(0, MAX_INTERVALS / 2);
      this.ends.splice(0, MAX_INTERVALS / 2);
    }
    this.queuedNs += start - readyNs;
    this.busyNs += end - start;
    this.messages++;
    return { startNs: start as SimNs, endNs: end as SimNs };
  }

  reset(): void {
    this.starts = [];
    this.ends = [];
    this.queuedNs = 0;
    this.busyNs = 0;
    this.messages = 0;
  }
}

import type { GBps, SimNs } from "../units/index.js";

/**
 * Busy intervals kept per port; older ones fold into `floorNs`. In virtual order (sim) gaps behind the
 * last reservation are never used, so the number changes no result; in wall order (NATS) it bounds how
 * far back a late message can still find the gap it is owed: 64 left EP 256 MoE dispatch 11% slow.
 */
const MAX_INTERVALS = 1024;
/** Intervals a port has room for before its first growth (a port carrying one stream needs one). */
const INITIAL_CAPACITY = 4;
/**
 * With a horizon (sim engine), intervals that end at or before it are folded once a port holds this
 * many: no later reservation can reach them, so a port keeps a handful instead of MAX_INTERVALS.
 */
const HORIZON_FOLD_AT = 8;

/**
 * The virtual time below which no reservation can be ready any more, shared by the ports of one
 * actor: the sim engine delivers in virtual-time order and every reservation is ready at or after
 * the event that makes it, so it sets this to that event's time. -Infinity (NATS: wall order) never folds.
 */
export interface PortHorizon { horizonNs: number }

/** Float64s of one port's slot (see {@link Port}): its doubles and its link's, in one cache line. */
export const PORT_SLOT = 8;
const LAST_START = 0, LAST_END = 1, FLOOR = 2, QUEUED = 3, BUSY = 4, BANDWIDTH = 5, LATENCY = 6;
/**
 * What the reservation made last, on any port, left: when its tail leaves and when it started. Read
 * right after it (`lastEndNs`, `startNs`); one pair for all ports, as nothing reads them later.
 */
const TAKEN = new Float64Array(2);

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
 *
 * Every reservation is on the hot path, and nearly all of them only look at the last interval: it is
 * kept in the port's slot (its start and end; the array's copy is brought up to date only
 * when the array is used), so those touch nothing but the port object and its slot. The intervals
 * live in one Float64Array, interval k at [2(head + k), 2(head + k) + 1]: folding moves `head` on
 * instead of shifting the array, and filling a gap shifts only the intervals after it.
 */
export class Port {
  private iv = new Float64Array(2 * INITIAL_CAPACITY);
  /** First live interval, and how many there are. */
  private head = 0;
  private n = 0;
  messages = 0;
  /**
   * The port's doubles live in a slot of `PORT_SLOT` Float64s at `at` of `f`, which a device's ports
   * share (`Ports`): as object fields each double is a heap number of its own, a cache line apart
   * once the collector has moved them (issue 11). The slot holds: the last interval (valid while
   * n > 0; the array's copy of it may lag behind until `syncLast`), the floor (everything before it
   * is taken: older intervals, folded away to bound memory), the ns messages waited behind earlier
   * reservations (a contention gauge), the busy ns, and the bandwidth and latency of the port's link
   * as the topology gives them (for {@link traverseOwn}: the fault-free hop reads no Link object).
   */
  constructor(
    private readonly clock: PortHorizon = { horizonNs: -Infinity }, private readonly f: Float64Array = new Float64Array(PORT_SLOT), private readonly at = 0,
    link?: { readonly bandwidthGBps: number; readonly latencyNs: number },
  ) {
    if (link) { f[at + BANDWIDTH] = link.bandwidthGBps; f[at + LATENCY] = link.latencyNs; }
  }

  /** Total ns messages waited behind earlier reservations: a contention gauge. */
  get queuedNs(): number { return this.f[this.at + QUEUED]!; }
  get busyNs(): number { return this.f[this.at + BUSY]!; }
  /** The topology's bandwidth and latency of this port's link (0 for a port made without one). */
  get bandwidthGBps(): GBps { return this.f[this.at + BANDWIDTH]! as GBps; }
  get latencyNs(): SimNs { return this.f[this.at + LATENCY]! as SimNs; }
  /** When the tail of the most recent message leaves: read right after `reserve` or `take` (of any port). */
  get lastEndNs(): SimNs { return TAKEN[0]! as SimNs; }
  /** When the most recent message started (what `reserve` returns): read right after `take`. */
  get startNs(): SimNs { return TAKEN[1]! as SimNs; }

  /**
   * Reserves `durationNs` of port time for a message whose head is ready at `readyNs` and whose tail
   * cannot leave before `minEndNs` (cut-through: it may still be arriving from a slower upstream
   * link, so a trickle does not hold a faster port for its whole arrival). Returns when the message
   * starts; its tail leaves at max(end of its last piece, minEndNs), left in `lastEndNs`.
   */
  reserve(readyNs: number, minEndNs: number, durationNs: number): SimNs {
    this.take(readyNs, minEndNs, durationNs);
    return this.startNs;
  }

  /**
   * {@link reserve} without its result (the start is left in `startNs`): the hot path's, since a
   * double returned from a call that is not inlined is a heap number allocated per call.
   */
  take(readyNs: number, minEndNs: number, durationNs: number): void {
    const horizon = this.clock.horizonNs, f = this.f, a = this.at;
    if (readyNs < horizon) throw new RangeError(`reservation ready at ${readyNs} ns, before the horizon ${horizon} ns (causality)`);
    const t = Math.max(readyNs, f[a + FLOOR]!), lastEnd = f[a + LAST_END]!;
    this.messages++;
    if (this.n === 0 || lastEnd <= t) {
      if (lastEnd <= horizon && this.n > 0 && durationNs > 0) {
        // Every interval ends at or before the horizon (sim engine), so no later reservation can reach
        // them: they fold into the floor and this one replaces them (what append + foldBefore would
        // leave, without the array's bookkeeping; a ring's port takes this path at nearly every stripe).
        // The array is not touched (a cache miss saved): its copy of the one interval is written by syncLast.
        f[a + FLOOR] = Math.max(f[a + FLOOR]!, lastEnd);
        this.head += this.n - 1;
        this.n = 1;
        f[a + LAST_START] = t;
        f[a + LAST_END] = t + durationNs;
        this.finish(readyNs, t, t + durationNs, minEndNs, durationNs);
        return;
      }
      this.append(t, t + durationNs);
      this.finish(readyNs, t, t + durationNs, minEndNs, durationNs);
      return;
    }
    if (durationNs > 0 && f[a + LAST_START]! <= t) {
      // Ready inside the last busy period: it queues behind it, as no gap is left after t.
      f[a + LAST_END] = lastEnd + durationNs;
      this.finish(readyNs, lastEnd, lastEnd + durationNs, minEndNs, durationNs);
      return;
    }
    this.fillGaps(readyNs, t, minEndNs, durationNs);
  }

  /** Free time before later reservations, in pieces if need be (wall order), then the rest appended. */
  private fillGaps(readyNs: number, t: number, minEndNs: number, durationNs: number): void {
    this.syncLast();
    let i = this.firstEndingAfter(t);
    if (durationNs === 0) {
      // A header-only message waits for the busy period it arrives in, like any other (FIFO).
      while (i < this.n && this.startOf(i) <= t) t = Math.max(t, this.endOf(i++));
      this.finish(readyNs, t, t, minEndNs, 0);
      return;
    }
    let remaining = durationNs, start = -1;
    while (remaining > 0 && i < this.n) {
      const s = this.startOf(i);
      if (s > t) {
        const take = Math.min(remaining, s - t);
        if (start < 0) start = t;
        this.insertAt(i, t, t + take);
        i++;
        t += take;
        remaining -= take;
        if (remaining === 0) break;
      }
      t = Math.max(t, this.endOf(i));
      i++;
    }
    if (remaining > 0 || start < 0) {
      if (start < 0) start = t;
      if (remaining > 0) { this.append(t, t + remaining); t += remaining; }
    }
    this.fold();
    this.finish(readyNs, start, t, minEndNs, durationNs);
  }

  private finish(readyNs: number, start: number, end: number, minEndNs: number, durationNs: number): void {
    const f = this.f, a = this.at;
    f[a + QUEUED] = f[a + QUEUED]! + (start - readyNs);
    f[a + BUSY] = f[a + BUSY]! + durationNs;
    TAKEN[0] = Math.max(end, minEndNs);
    TAKEN[1] = start;
  }

  private startOf(k: number): number { return this.iv[2 * (this.head + k)]!; }
  private endOf(k: number): number { return this.iv[2 * (this.head + k) + 1]!; }

  /** Writes the last interval back to the array: the fast paths move it in the fields only. */
  private syncLast(): void {
    if (this.n > 0) {
      const at = 2 * (this.head + this.n) - 2;
      this.iv[at] = this.f[this.at + LAST_START]!;
      this.iv[at + 1] = this.f[this.at + LAST_END]!;
    }
  }

  private firstEndingAfter(t: number): number {
    let lo = 0, hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.endOf(mid) > t) hi = mid; else lo = mid + 1;
    }
    return lo;
  }

  /** Appends an interval at the end, merging it with the last one when they touch. */
  private append(s: number, e: number): void {
    if (e <= s) return;
    const n = this.n;
    if (n > 0 && this.f[this.at + LAST_END] === s) { this.f[this.at + LAST_END] = e; return; }
    this.syncLast();
    if (2 * (this.head + n + 1) > this.iv.length) this.makeRoom();
    const at = 2 * (this.head + n);
    this.iv[at] = s;
    this.iv[at + 1] = e;
    this.n = n + 1;
    this.f[this.at + LAST_START] = s;
    this.f[this.at + LAST_END] = e;
    if (n + 1 >= HORIZON_FOLD_AT && this.clock.horizonNs > this.f[this.at + FLOOR]!) this.foldBefore(this.clock.horizonNs);
    if (n >= MAX_INTERVALS) this.fold();
  }

  /** Folds the intervals (all but the last) that end at or before `ns` into the floor. */
  private foldBefore(ns: number): void {
    let lo = 0, hi = this.n - 1; // count of leading intervals ending ≤ ns, among the first n − 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.endOf(mid) > ns) hi = mid; else lo = mid + 1;
    }
    if (lo === 0) return;
    this.f[this.at + FLOOR] = Math.max(this.f[this.at + FLOOR]!, this.endOf(lo - 1));
    this.head += lo;
    this.n -= lo;
  }

  /** Inserts an interval before interval k (k < n: the last one stays the last). */
  private insertAt(k: number, s: number, e: number): void {
    if (2 * (this.head + this.n + 1) > this.iv.length) this.makeRoom();
    const at = 2 * (this.head + k), iv = this.iv;
    iv.copyWithin(at + 2, at, 2 * (this.head + this.n));
    iv[at] = s;
    iv[at + 1] = e;
    this.n++;
  }

  /**
   * Room for one more interval after the last: the live ones moved to the front, or into an array
   * twice as large when they would fill more than 3/4 of it (so moves stay rare: one per ≥ n/3 appends).
   */
  private makeRoom(): void {
    const live = this.iv.subarray(2 * this.head, 2 * (this.head + this.n));
    if (8 * (this.n + 1) > 3 * this.iv.length) {
      const grown = new Float64Array(this.iv.length * 2);
      grown.set(live);
      this.iv = grown;
    } else {
      this.iv.copyWithin(0, 2 * this.head, 2 * (this.head + this.n));
    }
    this.head = 0;
  }

  /** Folds the older half into the floor: no later message may use a gap inside it. */
  private fold(): void {
    if (this.n <= MAX_INTERVALS) return;
    this.f[this.at + FLOOR] = Math.max(this.f[this.at + FLOOR]!, this.endOf(MAX_INTERVALS / 2 - 1));
    this.head += MAX_INTERVALS / 2;
    this.n -= MAX_INTERVALS / 2;
  }
}

const INITIAL_RUNS = 1024;
/** Float64s per heap entry (time, sequence, run slot, unused): 32 B, so siblings share a cache line. */
const ENTRY = 4;
/** Float64s per run slot, and where its fields are (the time is at offset 0). */
const RUN = 4, TO0 = 1, LEN = 2, HEAD = 3;

/**
 * The sim engine's agenda, ordered by (time, insertion sequence): equal times pop in the order they
 * were pushed — the stable tie-break that makes runs deterministic.
 *
 * Events pushed one after another at the same time (a message's outbound, a lockstep step: half of
 * all pushes) form a run, a FIFO; each run enters a binary heap once, keyed by (time, the sequence
 * number of its opening). Only the run pushed to last may grow — any other run of its time opened
 * earlier, so its events come first either way — and that needs no lookup by time (a Map keyed by
 * float times, hashing each double and allocating its key, was what this replaced). The heap is
 * 1-based in one Float64Array, so a node's two children lie in one cache line.
 */
export class EventQueue<T> {
  private heap = new Float64Array(ENTRY * (INITIAL_RUNS + 1));
  private runs = 0;
  private seq = 0;
  /**
   * Runs by slot (reused through `free`): time, first event's target, events, and how many have
   * popped, as RUN Float64s at RUN·slot — one cache line for what a pop reads of a run (a pop comes
   * long after its push, the run having waited behind thousands, so all of it is cold: four dense
   * arrays were four misses). A run's first item is in a dense array by slot, its later events as
   * pairs (target, item) in an array of the run's own — most runs hold one or two events.
   */
  private meta = new Float64Array(RUN * INITIAL_RUNS);
  private readonly runItem0: (T | undefined)[] = [];
  private readonly runEvents: (number | T | undefined)[][] = [];
  private readonly free: number[] = [];
  /** The run being popped, and the run pushed to last (-1: none). */
  private cur = -1;
  private last = -1;
  private count = 0;
  /** Time and target of the event `pop` returned last. */
  time = 0;
  to = 0;

  get size(): number { return this.count; }

  push(time: number, to: number, item: T): void {
    if (this.cur >= 0 && time < this.meta[RUN * this.cur]!) {
      throw new RangeError(`event at ${time} ns scheduled while the engine is at ${this.meta[RUN * this.cur]} ns (causality)`);
    }
    let r = this.last;
    if (r < 0 || this.meta[RUN * r] !== time) r = this.open(time);
    const m = this.meta, at = RUN * r, k = m[at + LEN]!;
    if (k === 0) {
      m[at + TO0] = to;
      this.runItem0[r] = item;
    } else {
      const ev = this.runEvents[r]!;
      ev[2 * k - 2] = to;
      ev[2 * k - 1] = item;
    }
    m[at + LEN] = k + 1;
    this.count++;
  }

  /** Removes the earliest event and returns its item; its time and target are left in `time` and `to`. */
  pop(): T | undefined {
    let r = this.cur;
    const m = this.meta;
    if (r < 0 || m[RUN * r + HEAD]! >= m[RUN * r + LEN]!) {
      if (r >= 0) this.retire(r);
      if (this.runs === 0) { this.cur = -1; return undefined; }
      r = this.cur = this.popRun();
    }
    const at = RUN * r, i = m[at + HEAD]!;
    m[at + HEAD] = i + 1;
    this.time = m[at]!;
    let item: T;
    if (i === 0) {
      this.to = m[at + TO0]!;
      item = this.runItem0[r] as T;
      this.runItem0[r] = undefined; // let the message be collected
    } else {
      const ev = this.runEvents[r]!;
      this.to = ev[2 * i - 2] as number;
      item = ev[2 * i - 1] as T;
      ev[2 * i - 1] = undefined;
    }
    this.count--;
    return item;
  }

  /** A new empty run at `time`, entered into the heap. */
  private open(time: number): number {
    let r = this.free.pop();
    if (r === undefined) {
      r = this.runItem0.length; // slots made so far
      if (RUN * (r + 1) > this.meta.length) this.meta = grown(this.meta);
      this.runItem0.push(undefined); this.runEvents.push([]); // LEN and HEAD are 0 in a new slot
    }
    this.meta[RUN * r] = time;
    this.last = r;
    if (ENTRY * (this.runs + 2) > this.heap.length) this.heap = grown(this.heap);
    const h = this.heap, seq = this.seq++;
    let i = ++this.runs;
    while (i > 1) { // sift up: a later sequence never passes an equal time
      const p = i >> 1, pt = h[ENTRY * p]!;
      if (pt < time || (pt === time && h[ENTRY * p + 1]! < seq)) break;
      h[ENTRY * i] = pt; h[ENTRY * i + 1] = h[ENTRY * p + 1]!; h[ENTRY * i + 2] = h[ENTRY * p + 2]!;
      i = p;
    }
    h[ENTRY * i] = time; h[ENTRY * i + 1] = seq; h[ENTRY * i + 2] = r;
    return r;
  }

  /** A popped-out run: its slot is free again (its arrays keep their room). */
  private retire(r: number): void {
    if (this.last === r) this.last = -1;
    this.meta[RUN * r + LEN] = 0;
    this.meta[RUN * r + HEAD] = 0;
    this.free.push(r);
  }

  /** Removes the heap's root and returns its run. */
  private popRun(): number {
    const h = this.heap;
    const top = h[ENTRY + 2]!;
    const n = --this.runs;
    if (n > 0) {
      const e = ENTRY * (n + 1), t = h[e]!, s = h[e + 1]!, l = h[e + 2]!;
      let i = 1;
      for (;;) {
        let c = 2 * i;
        if (c > n) break;
        let ct = h[ENTRY * c]!;
        if (c < n) {
          const rt = h[ENTRY * c + ENTRY]!;
          if (rt < ct || (rt === ct && h[ENTRY * c + ENTRY + 1]! < h[ENTRY * c + 1]!)) { c++; ct = rt; }
        }
        if (t < ct || (t === ct && s < h[ENTRY * c + 1]!)) break;
        h[ENTRY * i] = ct; h[ENTRY * i + 1] = h[ENTRY * c + 1]!; h[ENTRY * i + 2] = h[ENTRY * c + 2]!;
        i = c;
      }
      h[ENTRY * i] = t; h[ENTRY * i + 1] = s; h[ENTRY * i + 2] = l;
    }
    return top;
  }
}

/** A copy twice as long. */
function grown(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

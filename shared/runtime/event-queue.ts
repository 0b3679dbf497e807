/** Events that share one virtual time, in insertion order. */
interface Bucket<T> {
  time: number;
  tos: number[];
  items: T[];
  head: number;
}

/**
 * The sim engine's agenda, ordered by (time, insertion sequence): equal times pop in the order they
 * were pushed — the stable tie-break that makes runs deterministic. Lockstep collectives put many
 * events on the same nanosecond, so events are kept in per-time FIFO buckets and only the distinct
 * times go through a binary heap.
 */
export class EventQueue<T> {
  private readonly buckets = new Map<number, Bucket<T>>();
  private readonly heap: number[] = [];
  private cur: Bucket<T> | undefined;
  private pool: Bucket<T>[] = [];
  private count = 0;
  /** Time and target of the event `pop` returned last. */
  time = 0;
  to = 0;

  get size(): number { return this.count; }

  push(time: number, to: number, item: T): void {
    if (this.cur && time < this.cur.time) {
      throw new RangeError(`event at ${time} ns scheduled while the engine is at ${this.cur.time} ns (causality)`);
    }
    let b = this.cur && this.cur.time === time ? this.cur : this.buckets.get(time);
    if (!b) {
      b = this.pool.pop() ?? { time, tos: [], items: [], head: 0 };
      b.time = time;
      this.buckets.set(time, b);
      this.heapPush(time);
    }
    b.tos.push(to);
    b.items.push(item);
    this.count++;
  }

  /** Removes the earliest event and returns its item; its time and target are left in `time` and `to`. */
  pop(): T | undefined {
    let b = this.cur;
    if (!b || b.head >= b.items.length) {
      if (b) this.retire(b);
      const t = this.heapPop();
      if (t === undefined) { this.cur = undefined; return undefined; }
      b = this.buckets.get(t)!;
      this.cur = b;
    }
    const i = b.head++;
    this.time = b.time;
    this.to = b.tos[i]!;
    const item = b.items[i]!;
    b.items[i] = undefined as T; // let the message be collected
    this.count--;
    return item;
  }

  private retire(b: Bucket<T>): void {
    this.buckets.delete(b.time);
    b.tos.length = 0; b.items.length = 0; b.head = 0;
    this.pool.push(b);
  }

  private heapPush(t: number): void {
    const h = this.heap;
    let i = h.length;
    h.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= t) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = t;
  }

  private heapPop(): number | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!, last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && h[l + 1]! < h[l]! ? l + 1 : l;
        if (last <= h[c]!) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

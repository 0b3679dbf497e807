/**
 * Min-heap of events by (time, sequence): equal times pop in insertion order, the stable tie-break
 * that makes the sim engine deterministic. Parallel arrays, no per-event wrapper objects.
 */
export class EventQueue<T> {
  private times: number[] = [];
  private seqs: number[] = [];
  private tos: number[] = [];
  private items: T[] = [];
  private nextSeq = 0;
  /** Time and target of the event `pop` returned last. */
  time = 0;
  to = 0;

  get size(): number { return this.items.length; }

  push(time: number, to: number, item: T): void {
    const seq = this.nextSeq++;
    let i = this.items.length;
    this.times.push(time); this.seqs.push(seq); this.tos.push(to); this.items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const tp = this.times[p]!;
      if (tp < time || (tp === time && this.seqs[p]! < seq)) break;
      this.move(p, i);
      i = p;
    }
    this.set(i, time, seq, to, item);
  }

  /** Removes the earliest event and returns its item; its time and target are left in `time` and `to`. */
  pop(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    this.time = this.times[0]!;
    this.to = this.tos[0]!;
    const top = this.items[0]!;
    const lt = this.times.pop()!, ls = this.seqs.pop()!, lto = this.tos.pop()!, li = this.items.pop()!;
    const m = n - 1;
    if (m > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= m) break;
        const r = l + 1;
        let c = l;
        if (r < m) {
          const tr = this.times[r]!, tl = this.times[l]!;
          if (tr < tl || (tr === tl && this.seqs[r]! < this.seqs[l]!)) c = r;
        }
        const tc = this.times[c]!;
        if (lt < tc || (lt === tc && ls < this.seqs[c]!)) break;
        this.move(c, i);
        i = c;
      }
      this.set(i, lt, ls, lto, li);
    }
    return top;
  }

  private set(i: number, time: number, seq: number, to: number, item: T): void {
    this.times[i] = time; this.seqs[i] = seq; this.tos[i] = to; this.items[i] = item;
  }

  private move(from: number, to: number): void {
    this.set(to, this.times[from]!, this.seqs[from]!, this.tos[from]!, this.items[from]!);
  }
}

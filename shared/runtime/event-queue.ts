/**
 * Min-heap of events by (time, sequence): equal times pop in insertion order, the stable tie-break
 * that makes the sim engine deterministic.
 */
export class EventQueue<T> {
  private times: number[] = [];
  private seqs: number[] = [];
  private items: T[] = [];
  private nextSeq = 0;

  get size(): number { return this.items.length; }

  push(time: number, item: T): void {
    const seq = this.nextSeq++;
    let i = this.items.length;
    this.times.push(time); this.seqs.push(seq); this.items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(time, seq, p)) break;
      this.move(p, i);
      i = p;
    }
    this.times[i] = time; this.seqs[i] = seq; this.items[i] = item;
  }

  /** Removes and returns the earliest event, with its time. */
  pop(): { time: number; item: T } | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const time = this.times[0]!, item = this.items[0]!;
    const lt = this.times.pop()!, ls = this.seqs.pop()!, li = this.items.pop()!;
    if (n > 1) {
      let i = 0;
      const m = n - 1;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= m) break;
        const r = l + 1;
        const c = r < m && this.lessIdx(r, l) ? r : l;
        if (!this.less(this.times[c]!, this.seqs[c]!, -1, lt, ls)) break;
        this.move(c, i);
        i = c;
      }
      this.times[i] = lt; this.seqs[i] = ls; this.items[i] = li;
    }
    return { time, item };
  }

  private lessIdx(a: number, b: number): boolean {
    const ta = this.times[a]!, tb = this.times[b]!;
    return ta < tb || (ta === tb && this.seqs[a]! < this.seqs[b]!);
  }

  /** (t, s) < slot j, or when j < 0, (t, s) < (t2, s2). */
  private less(t: number, s: number, j: number, t2?: number, s2?: number): boolean {
    const tj = j >= 0 ? this.times[j]! : t2!, sj = j >= 0 ? this.seqs[j]! : s2!;
    return t < tj || (t === tj && s < sj);
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!; this.seqs[to] = this.seqs[from]!; this.items[to] = this.items[from]!;
  }
}

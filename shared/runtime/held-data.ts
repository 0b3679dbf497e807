import type { Message } from "../protocol/index.js";

interface Held { readonly atNs: number; readonly seq: number; readonly subject: string; readonly msg: Message }

/**
 * The data messages an actor holds under `deployment.timing: exact` until a window lets it handle
 * them: a binary min-heap by (virtual handling time, arrival), so a window releases them in virtual
 * order, arrival order among equal times.
 */
export class HeldData {
  private readonly heap: Held[] = [];
  private seq = 0;

  get size(): number { return this.heap.length; }

  /** The earliest held time, or undefined when nothing is held. */
  get nextNs(): number | undefined { return this.heap[0]?.atNs; }

  hold(atNs: number, subject: string, msg: Message): void {
    const h = this.heap, e: Held = { atNs, seq: this.seq++, subject, msg };
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  /** Removes and returns the earliest held message if it is due before `untilNs`. */
  takeBefore(untilNs: number): Held | undefined {
    const h = this.heap, top = h[0];
    if (top === undefined || top.atNs >= untilNs) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = -1, best = last;
        if (l < h.length && before(h[l]!, best)) { m = l; best = h[l]!; }
        if (r < h.length && before(h[r]!, best)) { m = r; best = h[r]!; }
        if (m < 0) break;
        h[i] = best;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(a: Held, b: Held): boolean {
  return a.atNs < b.atNs || (a.atNs === b.atNs && a.seq < b.seq);
}

/**
 * The two bounded samplers of a trace: transfers (flows) and port queue depths (counters). Both are
 * deterministic: the same run keeps the same events.
 */

/** 32-bit mix of a transfer's identity (op, from, to, tag): the same at its sender and its receiver. */
export function flowHash(op: number, from: number, to: number, tag: number): number {
  let x = (Math.imul(op, 0x9e3779b1) ^ Math.imul(from + 1, 0x85ebca77) ^ Math.imul(to + 1, 0xc2b2ae3d) ^ Math.imul(tag + 1, 0x27d4eb2f)) >>> 0;
  x ^= x >>> 16; x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13; x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

export interface FlowEnd { readonly actor: number; readonly lane: string; readonly atNs: number }
export interface FlowRec {
  readonly hash: number;
  readonly from: FlowEnd;
  to: FlowEnd | undefined;
  readonly bytes: number;
  readonly op: number;
  readonly tag: number;
}

const HASH_SPACE = 2 ** 32;

/**
 * A uniform sample of at most `budget` transfers: a transfer is kept while its hash is below a
 * threshold that halves (dropping those above it) whenever the sample outgrows the budget, so the
 * kept ones are spread over the whole run, not its first transfers, and both ends agree without a
 * word between them. The rate kept is 1 / 2^halvings.
 */
export class FlowSampler {
  private readonly kept = new Map<string, FlowRec>();
  private threshold = HASH_SPACE;
  halvings = 0;
  seen = 0;

  constructor(readonly budget: number) {}

  start(op: number, from: number, to: number, tag: number, end: FlowEnd, bytes: number): void {
    this.seen++;
    if (this.budget <= 0) return;
    const hash = flowHash(op, from, to, tag);
    if (hash >= this.threshold) return;
    this.kept.set(`${op}:${from}:${to}:${tag}`, { hash, from: end, to: undefined, bytes, op, tag });
    while (this.kept.size > this.budget) this.halve();
  }

  end(op: number, from: number, to: number, tag: number, end: FlowEnd): void {
    if (this.budget <= 0 || flowHash(op, from, to, tag) >= this.threshold) return;
    const rec = this.kept.get(`${op}:${from}:${to}:${tag}`);
    if (rec && !rec.to) rec.to = end;
  }

  private halve(): void {
    this.threshold /= 2;
    this.halvings++;
    for (const [k, r] of this.kept) if (r.hash >= this.threshold) this.kept.delete(k);
  }

  /** Transfers with both ends, in the order they were sent. */
  complete(): FlowRec[] {
    return [...this.kept.values()].filter((r) => r.to !== undefined);
  }
}

/** A port's sampled queue depth: the maximum over equal bins of its active time. */
export interface PortSeries { readonly linkId: number; readonly samples: readonly (readonly [atNs: number, bytes: number])[] }

const FIRST_BIN_NS = 1;

/**
 * Queue depth of one port as at most `bins` samples: each the maximum depth any stripe met on
 * arriving in its bin. Bins start 1 ns wide and double (merging pairs) whenever the port's active time
 * outgrows them, so memory is `bins` numbers whatever the run's length.
 */
export class PortEnvelope {
  private readonly max: Float64Array;
  private t0 = NaN;
  private widthNs = FIRST_BIN_NS;
  private lastNs = 0;

  constructor(bins: number) {
    this.max = new Float64Array(bins).fill(-1);
  }

  add(atNs: number, bytes: number, untilNs: number): void {
    if (Number.isNaN(this.t0)) this.t0 = atNs;
    this.lastNs = Math.max(this.lastNs, untilNs);
    let i = Math.max(0, Math.floor((atNs - this.t0) / this.widthNs));
    while (i >= this.max.length) {
      this.merge();
      i = Math.floor((atNs - this.t0) / this.widthNs);
    }
    if (bytes > this.max[i]!) this.max[i] = bytes;
  }

  private merge(): void {
    const m = this.max, n = m.length;
    for (let i = 0; i < n / 2; i++) m[i] = Math.max(m[2 * i]!, m[2 * i + 1] ?? -1);
    m.fill(-1, Math.ceil(n / 2));
    this.widthNs *= 2;
  }

  /** Samples where the depth changes: a bin without arrivals reads 0, and the series ends at 0. */
  samples(): [number, number][] {
    const out: [number, number][] = [];
    if (Number.isNaN(this.t0)) return out;
    let last = -1;
    this.max.forEach((v, i) => {
      const depth = Math.max(0, v);
      // An empty bin past the last stripe's tail would read 0 after the port fell idle: clamp it there.
      if (depth !== last) { out.push([Math.min(this.t0 + i * this.widthNs, this.lastNs), depth]); last = depth; }
    });
    if (last !== 0) out.push([this.lastNs, 0]);
    return out;
  }
}

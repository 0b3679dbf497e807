import { reductionNs, routeAlphaBeta, type AlphaBeta } from "../linkmodel/index.js";
import { Algorithm, Collective, type OpSpec } from "../protocol/index.js";
import type { Topology } from "../topology/index.js";
import type { NpuId } from "../units/index.js";
import { broadcastChunks } from "./broadcast.js";
import { hdPower } from "./halving-doubling.js";
import { a2avBytes } from "./data.js";
import { mod } from "./program.js";

/**
 * α-β closed forms of every algorithm, evaluated from the topology's per-pair α (endpoint overhead +
 * Σ link and switch latencies) and β (sum over stripes of each stripe's bottleneck). They use no
 * event queue and no port state: they are the independent yardstick the engines are checked against.
 * The formulas, with their derivations, are in docs/closed-forms.md.
 */
export function closedFormNs(spec: OpSpec, t: Topology): number {
  const cf = new Forms(spec, t);
  const S = spec.sizeBytes, n = spec.group.length, all = spec.group.map((_, r) => r);
  if (n === 1) return 0;
  switch (spec.collective) {
    case Collective.AllReduce:
      switch (spec.algorithm) {
        case Algorithm.Ring: return cf.ring(all, [{ steps: n - 1, bytes: S / n, reduce: true }, { steps: n - 1, bytes: S / n, reduce: false }]);
        case Algorithm.Hierarchical: return cf.hierarchical(false);
        case Algorithm.HierarchicalHd: return cf.hierarchical(true);
        case Algorithm.Direct: return cf.directAllReduce();
        case Algorithm.HalvingDoubling: return cf.halvingDoubling(all, S);
        default: break;
      }
      break;
    case Collective.ReduceScatter: return cf.ring(all, [{ steps: n - 1, bytes: S / n, reduce: true }]);
    case Collective.AllGather: return cf.ring(all, [{ steps: n - 1, bytes: S / n, reduce: false }]);
    case Collective.AllToAll: return Math.max(...cf.exchange(all.map(() => 0), () => S / n));
    case Collective.AllToAllV: return cf.portBound();
    case Collective.Broadcast: return spec.algorithm === Algorithm.Direct ? cf.directBroadcast() : cf.pipelineBroadcast();
    default: break;
  }
  throw new Error(`no closed form for ${spec.collective}/${spec.algorithm}`);
}

class Forms {
  constructor(private readonly spec: OpSpec, private readonly t: Topology) {}

  private dev(r: number): NpuId { return this.spec.group[r]!; }
  private alphaBeta(a: number, b: number): AlphaBeta { return routeAlphaBeta(this.t, this.t.route(this.dev(a), this.dev(b))); }
  alpha(a: number, b: number): number { return this.alphaBeta(a, b).alphaNs; }
  beta(a: number, b: number): number { return this.alphaBeta(a, b).betaGBps; }

  /** One transfer a→b of `bytes`: α + bytes/β, or α + the reduction when that is slower than the wire. */
  tau(a: number, b: number, bytes: number, reduce: boolean): number {
    const wire = bytes / this.beta(a, b);
    const compute = reduce ? reductionNs(bytes, this.spec.elementBytes, this.t.endpoint) : 0;
    return this.alpha(a, b) + Math.max(wire, compute);
  }

  /**
   * Consecutive ring phases over `members` (e.g. reduce-scatter then all-gather), as a max-plus
   * recurrence: rank r starts its step-s send at S(r,s) = max(R(r,s-1), S(r,s-1) + c/β_r) — it needs
   * the chunk from its left and its port free — and the right neighbour has it at R(r+1,s) = S(r,s) + τ_r.
   * On a uniform ring this is (Σ steps) × (α + c/β); on a mixed ring the slowest link sets the pace.
   */
  ring(members: readonly number[], phases: readonly { steps: number; bytes: number; reduce: boolean }[]): number {
    const n = members.length;
    if (n < 2) return 0;
    const right = (i: number) => members[(i + 1) % n]!;
    let send = new Float64Array(n); // S(r, s) for the current step
    let got = new Float64Array(n); // R(r, s) for the current step
    let first = true;
    for (const ph of phases) {
      const tau = members.map((m, i) => this.tau(m, right(i), ph.bytes, ph.reduce));
      const ser = members.map((m, i) => ph.bytes / this.beta(m, right(i)));
      for (let s = 0; s < ph.steps; s++) {
        if (!first) {
          const next = new Float64Array(n);
          for (let i = 0; i < n; i++) next[i] = Math.max(got[i]!, send[i]! + ser[i]!);
          send = next;
        }
        first = false;
        const arrived = new Float64Array(n);
        for (let i = 0; i < n; i++) arrived[(i + 1) % n] = send[i]! + tau[i]!;
        got = arrived;
      }
    }
    return Math.max(...got);
  }

  /** Intra-node ring reduce-scatter + inter-node all-reduce of S/G (ring, or halving-doubling with `hd`) + intra-node ring all-gather. */
  hierarchical(hd: boolean): number {
    const S = this.spec.sizeBytes, groups = this.spec.nodeGroups;
    const G = groups[0]!.length, M = groups.length;
    // The phases are sequential per rank and every node (and every peer ring) is alike, so they add.
    const intraRs = Math.max(...groups.map((g) => this.ring(g, [{ steps: G - 1, bytes: S / G, reduce: true }])));
    const intraAg = Math.max(...groups.map((g) => this.ring(g, [{ steps: G - 1, bytes: S / G, reduce: false }])));
    const peers = Array.from({ length: G }, (_, lp) => groups.map((g) => g[lp]!));
    const inter = Math.max(...peers.map((p) => hd ? this.halvingDoubling(p, S / G) : this.ring(p, [
      { steps: M - 1, bytes: S / G / M, reduce: true }, { steps: M - 1, bytes: S / G / M, reduce: false }])));
    return intraRs + inter + intraAg;
  }

  /**
   * Direct exchange: every rank p sends to p+1, p+2, … back to back starting at start[p]; its j-th
   * message leaves after j·c/β and lands α later. Returns when each rank has received everything.
   */
  exchange(start: readonly number[], bytesOf: (from: number, to: number) => number): number[] {
    const n = start.length;
    const done = start.map(() => 0);
    for (let p = 0; p < n; p++) {
      let sent = 0;
      for (let j = 1; j < n; j++) {
        const q = (p + j) % n, ab = this.alphaBeta(p, q); // one summary per pair: n² of them
        sent += bytesOf(p, q) / ab.betaGBps;
        done[q] = Math.max(done[q]!, start[p]! + sent + ab.alphaNs);
      }
    }
    return done;
  }

  directAllReduce(): number {
    const n = this.spec.group.length, c = this.spec.sizeBytes / n;
    const first = this.exchange(this.spec.group.map(() => 0), () => c);
    return Math.max(...this.exchange(first, () => c));
  }

  /**
   * Recursive halving then doubling of S bytes among `members` (communicator ranks), over
   * p = 2^⌊log2 n⌋ of them, plus a fold and an unfold when n ≠ p.
   */
  halvingDoubling(members: readonly number[], S: number): number {
    const n = members.length;
    const p = hdPower(n);
    const extra = n - p;
    const m = (i: number) => members[i]!;
    const real = (v: number) => m(v < extra ? 2 * v + 1 : v + extra);
    const stepMax = (mask: number, bytes: number, reduce: boolean) =>
      Math.max(...Array.from({ length: p }, (_, v) => this.tau(real(v), real(v ^ mask), bytes, reduce)));
    let total = 0;
    if (extra > 0) {
      const fold = Math.max(...Array.from({ length: extra }, (_, i) => this.tau(m(2 * i), m(2 * i + 1), S, true)));
      const unfold = Math.max(...Array.from({ length: extra }, (_, i) => this.tau(m(2 * i + 1), m(2 * i), S, false)));
      total += fold + unfold;
    }
    let bytes = S;
    for (let mask = p >> 1; mask >= 1; mask >>= 1) { bytes /= 2; total += stepMax(mask, bytes, true); }
    for (let mask = 1; mask < p; mask <<= 1) { total += stepMax(mask, bytes, false); bytes *= 2; }
    return total;
  }

  /** Chain of n ranks, K chunks of S/K: Σ α along the chain + (n+K-2) · (S/K)/β. */
  pipelineBroadcast(): number {
    const n = this.spec.group.length, root = this.spec.root, S = this.spec.sizeBytes;
    const K = broadcastChunks(S, this.spec.chunkBytes);
    let alphas = 0, beta = Infinity;
    for (let q = 0; q < n - 1; q++) {
      const a = mod(root + q, n), b = mod(root + q + 1, n);
      alphas += this.alpha(a, b);
      beta = Math.min(beta, this.beta(a, b));
    }
    return alphas + ((n + K - 2) * (S / K)) / beta;
  }

  directBroadcast(): number {
    const n = this.spec.group.length, root = this.spec.root;
    const start = this.spec.group.map(() => -Infinity);
    start[root] = 0;
    const S = this.spec.sizeBytes;
    return Math.max(...this.exchange(start, (from) => (from === root ? S : 0)));
  }

  /** all-to-all-v lower bound: the busiest injection or ejection port, plus the smallest α. */
  portBound(): number {
    const n = this.spec.group.length;
    let worst = 0, alphaMin = Infinity;
    for (let i = 0; i < n; i++) {
      let out = 0, inb = 0;
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        out += a2avBytes(this.spec, i, j) / this.beta(i, j);
        inb += a2avBytes(this.spec, j, i) / this.beta(j, i);
        alphaMin = Math.min(alphaMin, this.alpha(i, j));
      }
      worst = Math.max(worst, out, inb);
    }
    return worst + alphaMin;
  }
}

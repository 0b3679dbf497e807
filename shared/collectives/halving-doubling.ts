import { f64Slice } from "../units/index.js";
import { allRanks } from "./ring.js";
import { chunking, chunkStart, type Chunking } from "./chunks.js";
import { phaseTag, recv, reduceInto, send, type Program, type ProgramEnv } from "./program.js";

const sliceBlocks = (buf: Float64Array, c: Chunking, lo: number, hi: number) => f64Slice(buf, chunkStart(c, lo), chunkStart(c, hi));
const blockBytes = (c: Chunking, lo: number, hi: number) => c.bytes.slice(lo, hi).reduce((a, b) => a + b, 0);

/** The largest power of two ≤ n: the ranks halving-doubling runs over (the rest fold into them). */
export function hdPower(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

/**
 * Halving-doubling all-reduce (Rabenseifner): reduce-scatter by recursive halving, all-gather by
 * recursive doubling, over p = the largest power of two ≤ n. With r = n - p extra ranks, ranks
 * 0..2r-1 first fold in pairs (even sends its whole vector to odd) and unfold at the end.
 */
export function* halvingDoublingAllReduce(env: ProgramEnv): Program {
  const buf = env.input.slice();
  yield* halvingDoublingAmong(allRanks(env), env.rank, buf, env.spec.sizeBytes, 0);
  return buf;
}

/**
 * Halving-doubling all-reduce of `buf` (`total` modelled bytes; reduced in place) among `members`
 * (communicator ranks; I am members[me]), with the tags of phases phase0 … phase0 + 3: fold,
 * halving, doubling, unfold. `buf` may be a view of a larger buffer (hierarchical-hd's inter-node phase).
 */
export function* halvingDoublingAmong(members: readonly number[], me: number, buf: Float64Array, total: number, phase0: number): Program<void> {
  const n = members.length;
  const p = hdPower(n);
  const extra = n - p;
  const whole = chunking(buf.length, total, 1);
  const at = (i: number) => members[i]!;
  if (me < 2 * extra && me % 2 === 0) {
    yield* send(at(me + 1), phaseTag(phase0, 0), total, buf.slice());
    const back = yield* recv(at(me + 1), phaseTag(phase0 + 3, 0));
    buf.set(back.data);
    return;
  }
  if (me < 2 * extra) yield* reduceInto(buf, chunkStart(whole, 0), yield* recv(at(me - 1), phaseTag(phase0, 0)));
  const vr = me < 2 * extra ? me >> 1 : me - extra; // rank among the p
  const real = (v: number) => at(v < extra ? 2 * v + 1 : v + extra);
  const c = chunking(buf.length, total, p);
  let lo = 0, hi = p;
  for (let mask = p >> 1, step = 0; mask >= 1; mask >>= 1, step++) {
    const partner = real(vr ^ mask);
    const mid = (lo + hi) >> 1;
    const [keepLo, keepHi, giveLo, giveHi] = vr & mask ? [mid, hi, lo, mid] : [lo, mid, mid, hi];
    yield* send(partner, phaseTag(phase0 + 1, step), blockBytes(c, giveLo, giveHi), sliceBlocks(buf, c, giveLo, giveHi));
    yield* reduceInto(buf, chunkStart(c, keepLo), yield* recv(partner, phaseTag(phase0 + 1, step)));
    lo = keepLo; hi = keepHi;
  }
  for (let mask = 1, step = 0; mask < p; mask <<= 1, step++) {
    const partner = real(vr ^ mask);
    const width = hi - lo;
    const [otherLo, otherHi] = vr & mask ? [lo - width, lo] : [hi, hi + width];
    yield* send(partner, phaseTag(phase0 + 2, step), blockBytes(c, lo, hi), sliceBlocks(buf, c, lo, hi));
    const got = yield* recv(partner, phaseTag(phase0 + 2, step));
    buf.set(got.data, chunkStart(c, otherLo));
    lo = Math.min(lo, otherLo); hi = Math.max(hi, otherHi);
  }
  if (me < 2 * extra) yield* send(at(me - 1), phaseTag(phase0 + 3, 0), total, buf.slice());
}

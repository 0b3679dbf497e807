import { chunkSlice, chunkStart, type Chunking } from "./chunks.js";
import { mod, received, recvCmd, reduceCmd, sendCmd, type Program, type ProgramEnv } from "./program.js";

/**
 * (Both rings yield their commands directly: they carry most of a training step's messages.)
 *
 * Ring reduce-scatter among `members` (communicator ranks in ring order; I am at `me`): n-1 steps;
 * in step s I send chunk (me-s-1) to the right and reduce chunk (me-s-2) from the left, so I end up
 * owning the fully reduced chunk `me`.
 */
export function* ringReduceScatter(members: readonly number[], me: number, buf: Float64Array, c: Chunking, tagBase: number): Program<void> {
  const n = members.length;
  const right = members[mod(me + 1, n)]!, left = members[mod(me - 1, n)]!;
  for (let s = 0; s < n - 1; s++) {
    const sc = mod(me - s - 1, n), rc = mod(me - s - 2, n);
    yield sendCmd(right, tagBase + s, c.bytes[sc]!, chunkSlice(buf, c, sc));
    const got = received(yield recvCmd(left, tagBase + s), left, tagBase + s);
    yield reduceCmd(buf, chunkStart(c, rc), got);
  }
}

/** Ring all-gather among `members`: I start owning chunk `me`; in step s I pass on chunk (me-s). */
export function* ringAllGather(members: readonly number[], me: number, buf: Float64Array, c: Chunking, tagBase: number): Program<void> {
  const n = members.length;
  const right = members[mod(me + 1, n)]!, left = members[mod(me - 1, n)]!;
  for (let s = 0; s < n - 1; s++) {
    const sc = mod(me - s, n), rc = mod(me - s - 1, n);
    yield sendCmd(right, tagBase + s, c.bytes[sc]!, chunkSlice(buf, c, sc));
    const got = received(yield recvCmd(left, tagBase + s), left, tagBase + s);
    buf.set(got.data, chunkStart(c, rc));
  }
}

/**
 * Ring all-reduce among `members`: the reduce-scatter and the all-gather above, in one generator
 * frame. A program that delegates with `yield*` resumes through one more frame at every command; on
 * a flat ring all-reduce (2(n−1) sends, receives and reductions per rank) that frame was a few % of
 * the sim engine's time.
 */
export function* ringAllReduceAmong(members: readonly number[], me: number, buf: Float64Array, c: Chunking, rsTag: number, agTag: number): Program {
  const n = members.length;
  const right = members[mod(me + 1, n)]!, left = members[mod(me - 1, n)]!;
  for (let s = 0; s < n - 1; s++) { // reduce-scatter step s: send chunk me-s-1, reduce chunk me-s-2
    const sc = mod(me - s - 1, n);
    yield sendCmd(right, rsTag + s, c.bytes[sc]!, chunkSlice(buf, c, sc));
    yield reduceCmd(buf, chunkStart(c, mod(me - s - 2, n)), received(yield recvCmd(left, rsTag + s), left, rsTag + s));
  }
  for (let s = 0; s < n - 1; s++) { // all-gather step s: pass on chunk me-s, store chunk me-s-1
    const sc = mod(me - s, n);
    yield sendCmd(right, agTag + s, c.bytes[sc]!, chunkSlice(buf, c, sc));
    buf.set(received(yield recvCmd(left, agTag + s), left, agTag + s).data, chunkStart(c, mod(me - s - 1, n)));
  }
  return buf;
}

export const allRanks = (env: ProgramEnv): number[] => Array.from({ length: env.size }, (_, i) => i);

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

export const allRanks = (env: ProgramEnv): number[] => Array.from({ length: env.size }, (_, i) => i);

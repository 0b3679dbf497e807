import { splitEven, splitOffsets } from "../units/index.js";
import { mod, phaseTag, recv, send, type Program, type ProgramEnv } from "./program.js";

/** Number of pipeline chunks for a broadcast: size / chunkBytes, at least 1, at most MAX_BROADCAST_CHUNKS. */
export const MAX_BROADCAST_CHUNKS = 256;
export function broadcastChunks(sizeBytes: number, chunkBytes: number): number {
  return Math.min(MAX_BROADCAST_CHUNKS, Math.max(1, Math.ceil(sizeBytes / chunkBytes)));
}

/**
 * Pipelined chain broadcast from `root`: the buffer is cut into K chunks; each rank forwards chunk k
 * to the next rank of the chain as soon as it has it. Time ≈ (n-1)·α + (n+K-2)·size/(K·β).
 */
export function* pipelineBroadcast(env: ProgramEnv): Program {
  const n = env.size, root = env.spec.root;
  const pos = mod(env.rank - root, n);
  const k = broadcastChunks(env.spec.sizeBytes, env.spec.chunkBytes);
  const off = splitOffsets(env.spec.realElements, k), bytes = splitEven(env.spec.sizeBytes, k);
  const buf = pos === 0 ? env.input.slice() : new Float64Array(env.spec.realElements);
  const prev = mod(env.rank - 1, n), next = mod(env.rank + 1, n);
  for (let i = 0; i < k; i++) {
    if (pos > 0) buf.set((yield* recv(prev, phaseTag(0, i))).data, off[i]!);
    if (pos < n - 1) yield* send(next, phaseTag(0, i), bytes[i]!, buf.slice(off[i]!, off[i + 1]!));
  }
  return buf;
}

/** Direct broadcast: the root sends the whole buffer to every other rank in turn. */
export function* directBroadcast(env: ProgramEnv): Program {
  const n = env.size, root = env.spec.root;
  if (env.rank === root) {
    for (let j = 1; j < n; j++) yield* send(mod(root + j, n), phaseTag(0, 0), env.spec.sizeBytes, env.input.slice());
    return env.input.slice();
  }
  return (yield* recv(root, phaseTag(0, 0))).data.slice();
}

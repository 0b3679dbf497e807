import { chunking, chunkSlice, chunkStart } from "./chunks.js";
import { phaseTag, type Program, type ProgramEnv } from "./program.js";
import { allRanks, ringAllGather, ringReduceScatter } from "./ring.js";

/** Ring reduce-scatter (NCCL-tests `size` = the whole input buffer): rank r keeps reduced chunk r. */
export function* ringReduceScatterOp(env: ProgramEnv): Program {
  const buf = env.input.slice();
  const c = chunking(buf.length, env.spec.sizeBytes, env.size);
  yield* ringReduceScatter(allRanks(env), env.rank, buf, c, phaseTag(0, 0));
  return chunkSlice(buf, c, env.rank);
}

/** Ring all-gather (`size` = the whole output buffer): rank r contributes chunk r. */
export function* ringAllGatherOp(env: ProgramEnv): Program {
  const buf = new Float64Array(env.spec.realElements);
  const c = chunking(buf.length, env.spec.sizeBytes, env.size);
  buf.set(env.input, chunkStart(c, env.rank));
  yield* ringAllGather(allRanks(env), env.rank, buf, c, phaseTag(0, 0));
  return buf;
}

export { trainingStepProgram, StepTally, TIME_UNITS } from "./step.js";
export { placeRank, expertOwner, type RankPlace } from "./groups.js";
export { fullBlocks, fullLength, initialParams, shardBlocks, toShard, fromShard, type FullBlock, type ShardBlock } from "./layout.js";
export { StepKernels, modelOf } from "./kernels.js";
export { unit, sym } from "./rng.js";

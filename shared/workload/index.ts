export { ALGORITHMS, algorithmsOf, programFor } from "./registry.js";
export {
  trainingStepProgram, StepTally, TIME_UNITS, placeRank, expertOwner, fullBlocks, fullLength, initialParams, shardBlocks,
  toShard, fromShard, StepKernels, modelOf, type RankPlace, type FullBlock, type ShardBlock,
} from "./training/index.js";

export {
  ReplicaPolicy, nodesOfSize, EACH_RANK_A_NODE, totalTokens,
  type MoeShape, type Gating, type ReplicaSpec, type RankNode, type MoeIssue,
} from "./types.js";
export { placeExperts, tryPlaceExperts, type Placement } from "./placement.js";
export { popularityOrder, hotExpertCount, hotTakes, unitRandom, gateVector, GATE_DIM, Scorer } from "./scores.js";
export { chooseExperts, choiceAt, topK, NODE_SCORE_TOP, type ExpertChoices, type GatingOptions } from "./gating.js";
export { weightDenominator, quantizeWeights, MIN_WEIGHT_DENOMINATOR } from "./weights.js";
export { planDispatch, expertCapacity, maxOverMeanLoad, DROPPED, type DispatchPlan, type TokenCopy } from "./routing.js";
export {
  TOKEN_ELEMENTS, tokenVector, expertFunction, applyExpert, expectedCombined, combineFromParts, checkCombined,
  type ExpertPart,
} from "./reference.js";
export {
  portBoundNs, dispatchBoundNs, combineBoundNs, uniformRemoteCopies, expertFlopsPerCopy, expertComputeNs,
  expertComputeBoundNs, layerBoundNs, type PortModel, type ComputeModel,
} from "./bounds.js";
export { validateMoe, assertValidMoe } from "./validate.js";
export { layerOf, planLayer, rankNodeOf, droppedKs, type MoeLayer } from "./layer.js";
export { rankPart, viewPart, type PartView, type LocalCopy } from "./part.js";
export { moeLayerProgram, expertWeightBytes, MoeTally, DISPATCH_ELEMENTS, COMBINE_ELEMENTS } from "./program.js";
export { NodeMap, hierRoutes, type HierCounts, type Flow } from "./hier-routes.js";
export { hierarchicalMoeProgram } from "./hier-program.js";
export { layerFlows } from "./flows.js";

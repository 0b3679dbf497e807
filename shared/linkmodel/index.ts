export { Port, type PortHorizon } from "./port.js";
export { Ports } from "./ports.js";
export {
  serializationNs, traverse, traverseInto, traverseOwn, deliveredAtNs, rooflineNs, reductionNs, streamedComputeEnd, routeAlphaBeta, handleAtNs,
  type HopTimes, type MutableHopTimes, type AlphaBeta,
} from "./timing.js";
export { LinkState, scaledComputeNs } from "./link-state.js";

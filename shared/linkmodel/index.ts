export { Port, type PortHorizon } from "./port.js";
export { Ports } from "./ports.js";
export {
  serializationNs, traverse, deliveredAtNs, rooflineNs, reductionNs, streamedComputeEnd, routeAlphaBeta, handleAtNs,
  type HopTimes, type AlphaBeta,
} from "./timing.js";
export { LinkState, scaledComputeNs } from "./link-state.js";

export { Port } from "./port.js";
export { Ports } from "./ports.js";
export {
  serializationNs, onGrid, TICKS_PER_NS, traverse, deliveredAtNs, rooflineNs, reductionNs, streamedComputeEnd, routeAlphaBeta, handleAtNs,
  type HopTimes, type AlphaBeta,
} from "./timing.js";

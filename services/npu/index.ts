export { npuLogic, type NpuState, type NpuCounters } from "./npu-actor.js";
export { bundle, transmit, type DataEnvelope } from "./transmit.js";

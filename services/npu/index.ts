export { npuLogic, type NpuState, type NpuCounters } from "./npu-actor.js";

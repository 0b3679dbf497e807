export { npuLogic, type NpuState, type NpuCounters } from "./npu-actor.js";
export { bundle, transmit, type DataEnvelope } from "./transmit.js";
export { StripeWindow, OpWindows, MASK_STRIPES, type Admit } from "./stripe-window.js";
export { EarlyBuffer } from "./early-buffer.js";
export { Reassembly, type Added } from "./reassembly.js";
export { routeOf, stripeFault } from "./stripe-check.js";
export { takeFault, type FaultHolder } from "./fault-handler.js";
export { applyWireFaults } from "./wire-faults.js";
export { corruptedPart, defaultRetryNs, retryHop, type RetriedHop, type StripeKey } from "./link-retry.js";

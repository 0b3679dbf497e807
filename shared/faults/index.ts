export { activeAt, FaultedFabric, FaultTable, type FaultEntry, type LinkLoss, type MessagePick, type WireFaults } from "./fabric.js";
export { acceptFault, type FaultRefusal } from "./accept.js";
export { drawPct, type DrawKey } from "./draw.js";
export { downUntil, FlapSet, MAX_FLAP_WAITS, type Flap } from "./flap.js";
export { emptyFaultTally, type FaultTally } from "./tally.js";

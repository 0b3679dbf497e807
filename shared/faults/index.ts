export { activeAt, FaultedFabric, FaultTable, type FaultEntry } from "./fabric.js";
export { acceptFault, type FaultRefusal } from "./accept.js";

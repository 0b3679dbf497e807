export * from "./program.js";
export { chunking, type Chunking } from "./chunks.js";
export { ALGORITHMS, algorithmsOf, programFor, busBwFactor } from "./registry.js";
export { Reference } from "./reference.js";
export { closedFormNs } from "./closed-form.js";
export { inputFor, inputVector, hash3, a2avBytes, a2avElements } from "./data.js";
export { broadcastChunks, MAX_BROADCAST_CHUNKS } from "./broadcast.js";

export { crc32 } from "./crc32.js";
export { encode, decode, MAX_MESSAGE_BYTES } from "./codec.js";
export { canonicalJson } from "./canonical.js";

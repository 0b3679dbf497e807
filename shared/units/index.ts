export * from "./brand.js";
export { parseSize, formatSize } from "./size.js";
export { splitEven, splitOffsets } from "./split.js";
export { onGrid, TICKS_PER_NS } from "./grid.js";
export { f64, f64Slice } from "./f64.js";

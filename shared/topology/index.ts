export * from "./types.js";
export { PRESETS, PRESET_NAMES, CLOUDMATRIX384, NVL72, type PresetName } from "./presets.js";
export { buildTwoTier, type TwoTierParams } from "./two-tier.js";
export { buildSingleTier, type SingleTierParams } from "./single-tier.js";
export { buildCustom, type CustomSpec } from "./custom.js";
export { buildTopology, type TopologySpec } from "./build.js";
export { describeTopology, type TopologySummary } from "./describe.js";
export { topologyHash } from "./hash.js";
export { groupByNode } from "./groups.js";

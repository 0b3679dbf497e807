export { loadScenario, applySet, DEFAULT_SCENARIO, COMPOSE_DEFAULT_SCENARIO, type LoadOptions, type Loaded } from "./load.js";
export { resolveScenario, DEFAULT_DEPLOYMENT, type Deployment, DTYPE_BYTES, DEFAULT_CHUNK_BYTES, TARGET_REAL_ELEMENTS, type Scenario, type CollectiveWorkload, type Workload } from "./resolve.js";
export { scenarioSchema, type RawScenario } from "./schema.js";
export { HW_KEYS } from "./hardware-keys.js";
export { MOE_DEFAULTS, type MoeWorkload, type ReplicaChoice } from "./moe-resolve.js";
export { defaultEp, MESSAGE_BUDGET_BYTES } from "./check.js";
export { TRAINING_DEFAULTS, type TrainingWorkload } from "./training-resolve.js";

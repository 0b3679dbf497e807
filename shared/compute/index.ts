export * from "./models.js";
export * from "./efficiency.js";
export * from "./costs.js";
export * from "./memory.js";

export { runScenario, FIRST_EPOCH } from "./run.js";
export { planOps } from "./plan.js";
export { summarize, type ResultRow } from "./collect.js";
export { buildReport, writeReport, REPORT_SCHEMA_VERSION, type Report } from "./report.js";
export { formatTable } from "./table.js";
export { NatsEngine } from "./nats-engine.js";
export { placeActors, MAX_PER_ACTOR_PROCESSES } from "./placement.js";
export { startControlService, controlSubject, CONTROL_SERVICE_NAME, type ControlHandlers } from "./control-service.js";

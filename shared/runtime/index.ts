export * from "./actor.js";
export * from "./limits.js";
export { RejectionLog, LOG_EVERY_NTH_REJECTION } from "./rejection-log.js";
export { EventQueue } from "./event-queue.js";
export type { ControlTo, Engine, EngineCursor, HaltNote, OpOutcome, ProcessControl, RankParts, Replan } from "./engine.js";
export { SimEngine, type SimEngineOptions } from "./sim-engine.js";
export { NatsActor, DEFAULT_HEARTBEAT_MS, type NatsActorOptions } from "./nats-actor.js";
export { credentialsFromEnv } from "./credentials.js";
export { LocalDelivery, type LocalReceiver } from "./local-delivery.js";

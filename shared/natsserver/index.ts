export { locateNatsServer, NatsServerNotFound, NATS_SERVER_BIN_ENV, NATS_SERVER_FALLBACK_DIRS } from "./locate.js";
export {
  startEmbeddedServer,
  EmbeddedServerError,
  DEFAULT_START_TIMEOUT_MS,
  STOP_GRACE_MS,
  OUTPUT_TAIL_LINES,
  type EmbeddedServer,
  type EmbeddedServerOptions,
} from "./embedded.js";

export { locateNatsServer, NatsServerNotFound, NATS_SERVER_BIN_ENV, NATS_SERVER_FALLBACK_DIRS } from "./locate.js";
export { EmbeddedServerError, DEFAULT_START_TIMEOUT_MS, STOP_GRACE_MS, OUTPUT_TAIL_LINES } from "./server-process.js";
export { startEmbeddedServer, type EmbeddedServer, type EmbeddedServerOptions } from "./embedded.js";
export {
  startEmbeddedCluster,
  DEFAULT_CLUSTER_NAME,
  MIN_JETSTREAM_SERVERS,
  type ClusterServer,
  type EmbeddedCluster,
  type EmbeddedClusterOptions,
} from "./cluster.js";

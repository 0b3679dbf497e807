export { Role, principalsFor, permissionsOf, operatorInboxPrefix, chaosInboxPrefix, serviceName, type Principal, type Permissions } from "./principals.js";
export {
  natsServerConf, natsAuthConf, parseAuthUsers, AUTH_CONF_FILE, JETSTREAM_STORE_DIR,
  NATS_CLIENT_PORT, NATS_MONITOR_PORT, NATS_ROUTE_PORT, SERVER_NAME_VAR,
} from "./nats-config.js";
export { ensureCredentials, passwordsFor, readServersEnv, principalEnv, newPassword, CREDENTIALS_DIR, SERVERS_ENV_FILE, type CredentialUser } from "./credentials.js";
export {
  composeYaml, natsUrls, DEFAULT_IMAGE, DEFAULT_NATS_IMAGE, IMAGE_VAR, NATS_IMAGE_VAR, NATS_PORT_VAR,
  IN_CONTAINER_DIR, SCENARIO_FILE, TOPOLOGY_FILE, type ComposeSpec,
} from "./compose-file.js";
export { generateDeployment, deploymentOf, DEFAULT_COMPOSE_RUN, DEFAULT_NATS_SERVERS, type GenerateOptions, type Generated } from "./generate.js";

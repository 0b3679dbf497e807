import { AUTH_CONF_FILE, NATS_CLIENT_PORT, SERVER_NAME_VAR } from "./nats-config.js";
import { CREDENTIALS_DIR, SERVERS_ENV_FILE } from "./credentials.js";
import { Role, type Principal } from "./principals.js";

/** Image names are variables, so elsewhere the public images (or a registry's) are used unchanged. */
export const IMAGE_VAR = "SUPERNODE_IMAGE";
export const DEFAULT_IMAGE = "supernode:dev";
export const NATS_IMAGE_VAR = "SUPERNODE_NATS_IMAGE";
export const DEFAULT_NATS_IMAGE = "supernode/nats:2.9.10";
/** Host port (on 127.0.0.1) of the first NATS server, for the user's own clients. */
export const NATS_PORT_VAR = "SUPERNODE_NATS_PORT";
/** Where the deployment's files appear inside the service containers. */
export const IN_CONTAINER_DIR = "/etc/supernode";
export const TOPOLOGY_FILE = "topology.json";
export const SCENARIO_FILE = "scenario.yaml";
/** Compose waits this long for a container to stop after SIGTERM (hosts drain in well under it). */
export const STOP_GRACE = "5s";

/** What a generated compose file holds. */
export interface ComposeSpec {
  /** Comment lines at the top (what it is, how it was made). */
  readonly header: readonly string[];
  /** Path of the deployment folder (topology, scenario, nats/, credentials/) from the compose file's folder. */
  readonly base: string;
  readonly run: string;
  readonly natsServers: readonly string[];
  readonly principals: readonly Principal[];
}

const q = (s: string) => JSON.stringify(s);
const flow = (xs: readonly string[]) => `[${xs.map(q).join(", ")}]`;

/** The NATS client URLs the service containers use (compose DNS names). */
export function natsUrls(servers: readonly string[]): string {
  return servers.map((s) => `nats://${s}:${NATS_CLIENT_PORT}`).join(",");
}

function anchors(s: ComposeSpec): string[] {
  const b = s.base;
  return [
    "x-supernode: &supernode",
    `  image: \${${IMAGE_VAR}:-${DEFAULT_IMAGE}}`,
    "  init: true",
    `  depends_on: ${flow(s.natsServers)}`,
    `  volumes: ${flow([`${b}/${TOPOLOGY_FILE}:${IN_CONTAINER_DIR}/${TOPOLOGY_FILE}:ro`, `${b}/${SCENARIO_FILE}:${IN_CONTAINER_DIR}/${SCENARIO_FILE}:ro`])}`,
    "  environment:",
    `    SUPERNODE_NATS: ${q(natsUrls(s.natsServers))}`,
    `    SUPERNODE_RUN: ${q(s.run)}`,
    `    SUPERNODE_TOPOLOGY: ${q(`${IN_CONTAINER_DIR}/${TOPOLOGY_FILE}`)}`,
    "    SUPERNODE_LOG_LEVEL: \"${SUPERNODE_LOG_LEVEL:-warn}\"",
    `  stop_grace_period: ${STOP_GRACE}`,
    "",
    "x-nats: &nats",
    `  image: \${${NATS_IMAGE_VAR}:-${DEFAULT_NATS_IMAGE}}`,
    `  command: ["--config", "/etc/nats/nats.conf"]`,
    `  env_file: ${b}/${CREDENTIALS_DIR}/${SERVERS_ENV_FILE}`,
    `  volumes: [${q(`${b}/nats:/etc/nats:ro`)}]`,
    `  stop_grace_period: ${STOP_GRACE}`,
    "",
  ];
}

function natsService(s: ComposeSpec, name: string, i: number): string[] {
  return [
    `  ${name}:`,
    "    <<: *nats",
    `    environment: { ${SERVER_NAME_VAR}: ${q(name)} }`,
    ...(i === 0 ? [`    ports: [${q(`127.0.0.1:\${${NATS_PORT_VAR}:-${NATS_CLIENT_PORT}}:${NATS_CLIENT_PORT}`)}]`] : []),
  ];
}

function supernodeService(s: ComposeSpec, p: Principal): string[] {
  const command = p.role === Role.Coordinator
    ? ["run", `${IN_CONTAINER_DIR}/${SCENARIO_FILE}`]
    : ["host", "--actors", p.actors.join(",")];
  return [
    `  ${p.user}:`,
    "    <<: *supernode",
    `    command: ${flow(command)}`,
    `    env_file: ${s.base}/${CREDENTIALS_DIR}/${p.user}.env`,
    `    labels: { io.supernode.role: ${q(p.role)} }`,
  ];
}

/**
 * The compose file (v1 1.29 and v2 alike: no `version`, `name`, long-form env_file or ports): the NATS
 * servers, the coordinator and one container per actor principal. Chaos, observer and operator have
 * credentials but no container: they are for the user's own tools.
 */
export function composeYaml(s: ComposeSpec): string {
  const services = s.principals.filter((p) => p.actors.length > 0 || p.role === Role.Coordinator);
  return [
    ...s.header.map((h) => `# ${h}`.trimEnd()),
    `# NATS users and permissions: ${s.base}/nats/${AUTH_CONF_FILE}; passwords: ${s.base}/${CREDENTIALS_DIR}/ (generated, not in git).`,
    "",
    ...anchors(s),
    "services:",
    ...s.natsServers.flatMap((n, i) => natsService(s, n, i)),
    ...services.flatMap((p) => supernodeService(s, p)),
    "",
  ].join("\n");
}

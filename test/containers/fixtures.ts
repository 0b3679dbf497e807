import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { GenericContainer, Network, Wait, type StartedNetwork, type StartedTestContainer } from "testcontainers";
import { loadScenario, type Loaded } from "../../shared/config/index.js";
import {
  DEFAULT_IMAGE, DEFAULT_NATS_IMAGE, IN_CONTAINER_DIR, NATS_CLIENT_PORT, NATS_MONITOR_PORT, SCENARIO_FILE,
  SERVER_NAME_VAR, TOPOLOGY_FILE, deploymentOf, passwordsFor, type Principal,
} from "../../services/cli/compose/index.js";

/** Images built by deploy/build-images.sh (never pulled: these machines reach no registry). */
export const IMAGE = process.env.SUPERNODE_IMAGE ?? DEFAULT_IMAGE;
export const NATS_IMAGE = process.env.SUPERNODE_NATS_IMAGE ?? DEFAULT_NATS_IMAGE;
/** Every container a test makes carries this label; scripts/test.sh removes leftovers by it. */
export const TEST_LABELS = { "io.supernode.test": "containers" };
/** How long the cluster gets to form its routes after every server reports ready. */
const ROUTES_TIMEOUT_MS = 20_000;

const exec = promisify(execFile);

/** A generated deployment (as `supernode compose` makes it) with fresh passwords, kept in memory. */
export interface TestDeployment extends ReturnType<typeof deploymentOf> {
  readonly loaded: Loaded;
  readonly passwords: ReadonlyMap<string, string>;
}

export function makeDeployment(raw: unknown, placement: "per-actor" | "grouped"): TestDeployment {
  const loaded = loadScenario({ raw });
  const d = deploymentOf(loaded, placement);
  return { ...d, loaded, passwords: passwordsFor(d.principals) };
}

export function principal(d: TestDeployment, user: string): Principal {
  const p = d.principals.find((x) => x.user === user);
  if (!p) throw new Error(`no principal ${user} (have ${d.principals.map((x) => x.user).join(", ")})`);
  return p;
}

/** The env a principal's container gets: its own user and password only. */
export function credentialsEnv(d: TestDeployment, user: string): Record<string, string> {
  return { SUPERNODE_NATS_USER: user, SUPERNODE_NATS_PASS: d.passwords.get(principal(d, user).passwordVar)! };
}

/** Three NATS servers with routes, JetStream and the deployment's users, on one Docker network. */
export interface NatsCluster extends AsyncDisposable {
  readonly network: StartedNetwork;
  readonly servers: StartedTestContainer[];
  readonly names: readonly string[];
  /** Client URLs from this machine (mapped ports on localhost). */
  readonly urls: string[];
  /** Client URLs inside the Docker network (what service containers use). */
  readonly innerUrls: string;
  /** GET a monitoring endpoint (`/connz`, `/routez`, `/healthz?js-enabled-only=true`) of server i. */
  monitor(i: number, path: string): Promise<{ status: number; body: any }>;
}

async function monitorOf(c: StartedTestContainer, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://${c.getHost()}:${c.getMappedPort(NATS_MONITOR_PORT)}${path}`);
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body };
}

function natsServer(d: TestDeployment, network: StartedNetwork, name: string): GenericContainer {
  const env: Record<string, string> = { [SERVER_NAME_VAR]: name };
  for (const p of d.principals) env[p.passwordVar] = d.passwords.get(p.passwordVar)!;
  return new GenericContainer(NATS_IMAGE)
    .withNetwork(network).withNetworkAliases(name).withLabels(TEST_LABELS)
    .withCommand(["--config", "/etc/nats/nats.conf"])
    .withEnvironment(env)
    .withCopyContentToContainer([
      { content: d.serverConf, target: "/etc/nats/nats.conf", mode: 0o644 },
      { content: d.authConf, target: "/etc/nats/nats-auth.conf", mode: 0o644 },
    ])
    .withExposedPorts(NATS_CLIENT_PORT, NATS_MONITOR_PORT)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/));
}

export async function startNatsCluster(d: TestDeployment): Promise<NatsCluster> {
  const network = await new Network().start();
  const servers: StartedTestContainer[] = [];
  const dispose = async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await network.stop();
  };
  try {
    servers.push(...await Promise.all(d.servers.map((n) => natsServer(d, network, n).start())));
    const deadline = Date.now() + ROUTES_TIMEOUT_MS;
    for (const s of servers) {
      while ((await monitorOf(s, "/routez")).body.num_routes !== servers.length - 1) {
        if (Date.now() > deadline) throw new Error(`NATS cluster did not form its routes within ${ROUTES_TIMEOUT_MS} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  return {
    network, servers, names: d.servers,
    urls: servers.map((s) => `nats://${s.getHost()}:${s.getMappedPort(NATS_CLIENT_PORT)}`),
    innerUrls: d.servers.map((n) => `nats://${n}:${NATS_CLIENT_PORT}`).join(","),
    monitor: (i, path) => monitorOf(servers[i]!, path),
    [Symbol.asyncDispose]: dispose,
  };
}

/** Connects from this machine as `user` (no credentials when undefined); no reconnects, so failures surface. */
export function connectAs(cluster: NatsCluster, d: TestDeployment, user: string | undefined, extra: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const creds = user === undefined ? {} : { user, pass: d.passwords.get(principal(d, user).passwordVar)! };
  return connect({ servers: cluster.urls, reconnect: false, timeout: 5_000, name: `test:${user ?? "anonymous"}`, ...creds, ...extra });
}

/** The files every service container reads: the topology (hosts) and the coordinator's scenario. */
function deploymentFiles(d: TestDeployment) {
  return [
    { content: d.topologyJson, target: `${IN_CONTAINER_DIR}/${TOPOLOGY_FILE}`, mode: 0o644 },
    { content: d.scenarioYaml, target: `${IN_CONTAINER_DIR}/${SCENARIO_FILE}`, mode: 0o644 },
  ];
}

/** A service container of the one image, in a role: `host` for actors, a CLI command for the coordinator. */
export function serviceContainer(cluster: NatsCluster, d: TestDeployment, user: string, command: string[]): GenericContainer {
  return new GenericContainer(IMAGE)
    .withNetwork(cluster.network).withLabels({ ...TEST_LABELS, "io.supernode.role": principal(d, user).role })
    .withCommand(command)
    .withEnvironment({
      SUPERNODE_NATS: cluster.innerUrls, SUPERNODE_RUN: d.run, SUPERNODE_TOPOLOGY: `${IN_CONTAINER_DIR}/${TOPOLOGY_FILE}`,
      SUPERNODE_LOG_LEVEL: "info", ...credentialsEnv(d, user),
    })
    .withCopyContentToContainer(deploymentFiles(d));
}

/** Starts a container per actor principal of the deployment; resolves once each reports its actors running. */
export async function startActorHosts(cluster: NatsCluster, d: TestDeployment): Promise<StartedTestContainer[]> {
  const hosts = d.principals.filter((p) => p.actors.length > 0);
  return Promise.all(hosts.map((p) =>
    serviceContainer(cluster, d, p.user, ["host", "--actors", p.actors.join(",")])
      .withWaitStrategy(Wait.forLogMessage(/"msg":"actors running"/))
      .start()));
}

/** Waits for a container to exit; returns its exit code and its stdout (stderr apart). */
export async function waitExit(c: StartedTestContainer): Promise<{ code: number; stdout: string; stderr: string }> {
  const { stdout: code } = await exec("docker", ["wait", c.getId()]);
  const logs = await exec("docker", ["logs", c.getId()], { maxBuffer: 64 * 1024 * 1024 });
  return { code: Number(code.trim()), stdout: logs.stdout, stderr: logs.stderr };
}

/** Runs `fn` with process.env holding `vars`, then puts the old values back. */
export async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(old)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

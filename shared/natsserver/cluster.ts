import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitClusterReady } from "./cluster-ready.js";
import { freePorts } from "./free-ports.js";
import {
  BIND_HOST, DEFAULT_START_TIMEOUT_MS, EmbeddedServerError, RANDOM_PORT, killHard, spawnServer, terminate, type ServerProcess,
} from "./server-process.js";

/** The `--cluster_name` of an embedded cluster unless one is given (the compose cluster's too). */
export const DEFAULT_CLUSTER_NAME = "supernode";
/** A clustered JetStream needs a quorum of servers. */
export const MIN_JETSTREAM_SERVERS = 3;
/** Starts tried when a probed route port was taken before its server could bind it. */
const PORT_RACE_ATTEMPTS = 3;

/** Options of {@link startEmbeddedCluster}. */
export interface EmbeddedClusterOptions {
  /** Clustered JetStream: each server its own temp store dir (removed by `stop()`) and `server_name`. Default false. */
  readonly jetstream?: boolean;
  readonly clusterName?: string;
  /** Aborting cancels a pending start, or stops a running cluster. */
  readonly signal?: AbortSignal;
  /** Receives every line each server writes, with the server's index. */
  readonly log?: (server: number, line: string) => void;
  /** Wall-clock limit for every server to be ready and the routes (and JetStream meta leader) up, in ms. */
  readonly startTimeoutMs?: number;
}

/** One server of an embedded cluster. */
export interface ClusterServer {
  /** `server_name`: `nats-0`, `nats-1`, … */
  readonly name: string;
  /** Client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Route (cluster) port. */
  readonly clusterPort: number;
  /** HTTP monitoring port (`/routez`, `/jsz`, …), on loopback. */
  readonly monitorPort: number;
  readonly pid: number;
  readonly storeDir: string | undefined;
  /** False once it was killed or stopped, or exited by itself. */
  readonly alive: boolean;
}

/**
 * `n` `nats-server` processes on loopback, every one routed to every other. States: running (some
 * servers may have been killed) → stopped (via `stop()`, dispose, or the options' signal).
 */
export interface EmbeddedCluster extends AsyncDisposable {
  /** Every server's client URL, by index: give a client all of them and it reconnects to a survivor. */
  readonly urls: readonly string[];
  readonly servers: readonly ClusterServer[];
  /** SIGKILLs server `i` (a crash: no goodbye to clients or routes) and waits until it has exited. */
  kill(i: number): Promise<void>;
  /** Stops every server still running (SIGTERM, then SIGKILL after the grace), removes temp store dirs. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `n` clustered nats-servers on 127.0.0.1: client and monitor ports picked by each server,
 * route ports probed free beforehand (every server must be told the others' at start). Resolves once
 * every server accepts clients, has a route to every other and (JetStream) knows the meta leader.
 */
export async function startEmbeddedCluster(n = 3, opts: EmbeddedClusterOptions = {}): Promise<EmbeddedCluster> {
  if (!Number.isInteger(n) || n < 2) throw new EmbeddedServerError(`a cluster needs at least 2 servers, got ${n}`);
  if (opts.jetstream === true && n < MIN_JETSTREAM_SERVERS) {
    throw new EmbeddedServerError(`clustered JetStream needs at least ${MIN_JETSTREAM_SERVERS} servers, got ${n}`);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(n, opts);
    } catch (err) {
      const raced = err instanceof EmbeddedServerError && /address already in use/.test(err.message);
      if (!raced || attempt >= PORT_RACE_ATTEMPTS) throw err;
    }
  }
}

async function startOnce(n: number, opts: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
  opts.signal?.throwIfAborted();
  const clusterPorts = await freePorts(n, BIND_HOST);
  const root = opts.jetstream === true ? await mkdtemp(join(tmpdir(), "supernode-nats-cluster-")) : undefined;
  const routeUrl = (p: number) => `nats://${BIND_HOST}:${p}`;
  const started = await Promise.allSettled(clusterPorts.map(async (cp, i) => {
    const storeDir = root === undefined ? undefined : join(root, `nats-${i}`);
    if (storeDir !== undefined) await mkdir(storeDir);
    const args = [
      "-a", BIND_HOST, "-p", RANDOM_PORT, "-m", RANDOM_PORT, "--server_name", `nats-${i}`,
      "--cluster_name", opts.clusterName ?? DEFAULT_CLUSTER_NAME, "--cluster", routeUrl(cp),
      "--routes", clusterPorts.filter((_, j) => j !== i).map(routeUrl).join(","),
      ...(storeDir === undefined ? [] : ["-js", "-sd", storeDir]),
    ];
    const proc = await spawnServer(args, { signal: opts.signal, startTimeoutMs: opts.startTimeoutMs, log: opts.log && ((line) => opts.log!(i, line)) });
    return new Member(proc, `nats-${i}`, cp, storeDir);
  }));
  const members = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const cluster = new RunningCluster(members, root, opts.signal);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  try {
    if (failed) throw failed.reason;
    await waitClusterReady({
      monitorPorts: members.map((m) => m.monitorPort), host: BIND_HOST, jetstream: opts.jetstream === true,
      checkAlive: () => cluster.checkAlive(), deadline: Date.now() + (opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS), signal: opts.signal,
    });
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

class Member implements ClusterServer {
  readonly url: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly pid: number;
  constructor(private readonly proc: ServerProcess, readonly name: string, readonly clusterPort: number, readonly storeDir: string | undefined) {
    this.port = proc.port;
    this.url = `nats://${BIND_HOST}:${proc.port}`;
    this.monitorPort = proc.monitorPort ?? -1; // started with -m, so it logged one
    this.pid = proc.child.pid ?? -1;
  }
  get alive(): boolean { return this.proc.child.exitCode === null && this.proc.child.signalCode === null; }
  get tail(): readonly string[] { return this.proc.tail; }
  kill(): Promise<void> { return killHard(this.proc.child); }
  stop(): Promise<void> { return terminate(this.proc.child); }
}

class RunningCluster implements EmbeddedCluster {
  readonly urls: readonly string[];
  private stopping: Promise<void> | undefined;
  private readonly onAbort = (): void => void this.stop();

  constructor(readonly servers: readonly Member[], private readonly root: string | undefined, private readonly signal: AbortSignal | undefined) {
    this.urls = servers.map((s) => s.url);
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** During start: a server that exited (its route port was taken, say) fails the start with its output. */
  checkAlive(): void {
    const dead = this.servers.find((s) => !s.alive);
    if (dead) throw new EmbeddedServerError(`${dead.name} exited during startup; last output:\n${dead.tail.join("\n")}`);
  }

  async kill(i: number): Promise<void> {
    const s = this.servers[i];
    if (!Number.isInteger(i) || s === undefined) throw new EmbeddedServerError(`no server ${i} in a cluster of ${this.servers.length}`);
    await s.kill();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.signal?.removeEventListener("abort", this.onAbort);
      await Promise.all(this.servers.map((s) => s.stop()));
      if (this.root !== undefined) await rm(this.root, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { SupernodeError } from "../errors/index.js";
import { locateNatsServer, NatsServerNotFound } from "./locate.js";

/** How long `startEmbeddedServer` waits for "Server is ready" before giving up. */
export const DEFAULT_START_TIMEOUT_MS = 10_000;
/** How long `stop()` waits after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 3_000;
/** Lines of server output kept for error messages. */
export const OUTPUT_TAIL_LINES = 20;

const BIND_HOST = "127.0.0.1";
// nats-server treats port -1 as "pick a free one" and logs the port it bound: no probe-then-bind race.
const RANDOM_PORT = "-1";
const LISTENING_RE = /Listening for client connections on [^\s]*:(\d+)\s*$/;
const READY_RE = /Server is ready/;

/** Options of {@link startEmbeddedServer}. */
export interface EmbeddedServerOptions {
  /** Enable JetStream (`-js`) with a store dir. Default false. */
  readonly jetstream?: boolean;
  /** JetStream store dir. Default: a fresh temp dir, removed by `stop()`; a dir given here is left alone. */
  readonly storeDir?: string;
  /** Aborting cancels a pending start, or stops a running server. */
  readonly signal?: AbortSignal;
  /** Receives every line the server writes (it logs on stderr). */
  readonly log?: (line: string) => void;
  /** Wall-clock limit for the server to report ready, in ms. Default {@link DEFAULT_START_TIMEOUT_MS}. */
  readonly startTimeoutMs?: number;
}

/**
 * A `nats-server` child process on loopback, owned by the caller. No HTTP monitor port is opened.
 * States: running → stopped (via `stop()`, dispose, or the options' signal).
 */
export interface EmbeddedServer extends AsyncDisposable {
  /** Client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** Client port the server bound. */
  readonly port: number;
  /** OS process id of the server. */
  readonly pid: number;
  /** JetStream store dir, when JetStream is on. */
  readonly storeDir: string | undefined;
  /** SIGTERM, up to {@link STOP_GRACE_MS} grace, then SIGKILL; removes a temp store dir. Idempotent. */
  stop(): Promise<void>;
}

/** The server process could not be started or did not become ready in time. Message ends with its output tail. */
export class EmbeddedServerError extends SupernodeError {}

/** Starts `nats-server` on 127.0.0.1 and a free port; resolves once it accepts clients. */
export async function startEmbeddedServer(opts: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  opts.signal?.throwIfAborted();
  const bin = locateNatsServer();
  const tempDir = opts.jetstream === true && opts.storeDir === undefined ? await mkdtemp(join(tmpdir(), "supernode-nats-")) : undefined;
  const storeDir = opts.jetstream === true ? (opts.storeDir ?? tempDir) : undefined;
  const args = ["-a", BIND_HOST, "-p", RANDOM_PORT, ...(storeDir === undefined ? [] : ["-js", "-sd", storeDir])];
  // Not detached: it stays in our process group, so a terminal's Ctrl-C reaches it too.
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], detached: false });
  const tail: string[] = [];
  const watchers = new Set<(line: string) => void>();
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    opts.log?.(line);
    for (const w of watchers) w(line);
  };
  // Keep reading for the server's whole life: a full pipe would block its logging.
  forEachLine(child.stdout, onLine);
  forEachLine(child.stderr, onLine);
  try {
    const port = await waitReady(child, watchers, opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, opts.signal);
    return new RunningServer(child, port, storeDir, tempDir, opts.signal);
  } catch (err) {
    await terminate(child);
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
    if (isEnoent(err)) throw new NatsServerNotFound([bin], { cause: err }); // removed since it was located
    if (err instanceof EmbeddedServerError) {
      throw new EmbeddedServerError(`${err.message}; last output:\n${tail.join("\n")}`, { cause: err.cause });
    }
    throw err;
  }
}

class RunningServer implements EmbeddedServer {
  readonly url: string;
  readonly pid: number;
  private stopping: Promise<void> | undefined;
  private readonly onAbort = (): void => void this.stop();

  constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly storeDir: string | undefined,
    private readonly tempDir: string | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.url = `nats://${BIND_HOST}:${port}`;
    this.pid = child.pid ?? -1; // spawn succeeded (it reported ready), so the pid is set
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.signal?.removeEventListener("abort", this.onAbort);
      await terminate(this.child);
      if (this.tempDir !== undefined) await rm(this.tempDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Resolves with the bound port once the server logs it and "Server is ready". */
function waitReady(
  child: ChildProcess,
  watchers: Set<(line: string) => void>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let port: number | undefined;
    const onLine = (line: string): void => {
      const m = LISTENING_RE.exec(line);
      if (m?.[1] !== undefined) port = Number(m[1]);
      if (port !== undefined && READY_RE.test(line)) settle(() => resolve(port as number));
    };
    const onExit = (code: number | null, sig: NodeJS.Signals | null): void =>
      settle(() => reject(new EmbeddedServerError(`nats-server exited during startup (code ${code}, signal ${sig})`)));
    const onError = (err: Error): void =>
      settle(() => reject(new EmbeddedServerError(`nats-server could not be spawned: ${err.message}`, { cause: err })));
    const onAbort = (): void => settle(() => reject(signal?.reason));
    const timer = setTimeout(
      () => settle(() => reject(new EmbeddedServerError(`nats-server not ready within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const settle = (fn: () => void): void => {
      clearTimeout(timer);
      watchers.delete(onLine);
      child.off("close", onExit).off("error", onError);
      signal?.removeEventListener("abort", onAbort);
      fn();
    };
    watchers.add(onLine);
    // "close", not "exit": it comes after stdout/stderr end, so the tail holds the fatal line.
    child.once("close", onExit).once("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** SIGTERM, wait up to {@link STOP_GRACE_MS}, then SIGKILL; resolves once the process is reaped. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_GRACE_MS)));
  const timedOut = await Promise.race([exited.then(() => false), graceOver]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill("SIGKILL");
    await exited;
  }
}

/** Splits a stream into lines and calls `fn` for each. */
function forEachLine(stream: Readable | null, fn: (line: string) => void): void {
  if (stream === null) return;
  let partial = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) fn(line);
  });
}

function isEnoent(err: unknown): boolean {
  const cause = err instanceof Error ? err.cause : undefined;
  return typeof cause === "object" && cause !== null && (cause as NodeJS.ErrnoException).code === "ENOENT";
}

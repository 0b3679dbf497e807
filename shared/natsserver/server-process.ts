import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { SupernodeError } from "../errors/index.js";
import { locateNatsServer, NatsServerNotFound } from "./locate.js";

/** How long a start waits for "Server is ready" before giving up. */
export const DEFAULT_START_TIMEOUT_MS = 10_000;
/** How long `stop()` waits after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 3_000;
/** Lines of server output kept for error messages. */
export const OUTPUT_TAIL_LINES = 20;

/** Every embedded server listens on loopback only. */
export const BIND_HOST = "127.0.0.1";
// nats-server treats port -1 as "pick a free one" and logs the port it bound: no probe-then-bind race.
export const RANDOM_PORT = "-1";
const LISTENING_RE = /Listening for client connections on [^\s]*:(\d+)\s*$/;
const MONITOR_RE = /Starting http monitor on [^\s]*:(\d+)\s*$/;
const READY_RE = /Server is ready/;

/** The server process could not be started or did not become ready in time. Message ends with its output tail. */
export class EmbeddedServerError extends SupernodeError {}

/** Options of {@link spawnServer}: what every embedded start takes besides its arguments. */
export interface SpawnOptions {
  /** Aborting cancels a pending start. */
  readonly signal?: AbortSignal | undefined;
  /** Receives every line the server writes (it logs on stderr). */
  readonly log?: ((line: string) => void) | undefined;
  /** Wall-clock limit for the server to report ready, in ms. Default {@link DEFAULT_START_TIMEOUT_MS}. */
  readonly startTimeoutMs?: number | undefined;
}

/** A `nats-server` child that reported ready: its client port, and its HTTP monitor port when `-m` was given. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly monitorPort: number | undefined;
  /** The last {@link OUTPUT_TAIL_LINES} lines it wrote. */
  readonly tail: readonly string[];
}

/**
 * Spawns `nats-server <args>` and resolves once it accepts clients. On failure the child is reaped
 * and the error is {@link NatsServerNotFound} (binary gone) or {@link EmbeddedServerError} ending with
 * the server's last output.
 */
export async function spawnServer(args: readonly string[], opts: SpawnOptions = {}): Promise<ServerProcess> {
  opts.signal?.throwIfAborted();
  const bin = locateNatsServer();
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
    const { port, monitorPort } = await waitReady(child, watchers, opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, opts.signal);
    return { child, port, monitorPort, tail };
  } catch (err) {
    await terminate(child);
    if (isEnoent(err)) throw new NatsServerNotFound([bin], { cause: err }); // removed since it was located
    if (err instanceof EmbeddedServerError) {
      throw new EmbeddedServerError(`${err.message}; last output:\n${tail.join("\n")}`, { cause: err.cause });
    }
    throw err;
  }
}

/** Resolves with the bound ports once the server logs its client port and "Server is ready". */
function waitReady(
  child: ChildProcess,
  watchers: Set<(line: string) => void>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ port: number; monitorPort: number | undefined }> {
  return new Promise((resolve, reject) => {
    let port: number | undefined;
    let monitorPort: number | undefined;
    const onLine = (line: string): void => {
      const m = LISTENING_RE.exec(line);
      if (m?.[1] !== undefined) port = Number(m[1]);
      const h = MONITOR_RE.exec(line); // logged before the client listener
      if (h?.[1] !== undefined) monitorPort = Number(h[1]);
      if (port !== undefined && READY_RE.test(line)) settle(() => resolve({ port: port as number, monitorPort }));
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

const hasExited = (child: ChildProcess): boolean => child.pid === undefined || child.exitCode !== null || child.signalCode !== null;

/** SIGTERM, wait up to {@link STOP_GRACE_MS}, then SIGKILL; resolves once the process is reaped. */
export async function terminate(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
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

/** SIGKILL (no goodbye to clients or routes: a crash); resolves once the process is reaped. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await exited;
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

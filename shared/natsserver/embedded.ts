import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIND_HOST, RANDOM_PORT, spawnServer, terminate } from "./server-process.js";

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

/** Starts `nats-server` on 127.0.0.1 and a free port; resolves once it accepts clients. */
export async function startEmbeddedServer(opts: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  opts.signal?.throwIfAborted();
  const tempDir = opts.jetstream === true && opts.storeDir === undefined ? await mkdtemp(join(tmpdir(), "supernode-nats-")) : undefined;
  const storeDir = opts.jetstream === true ? (opts.storeDir ?? tempDir) : undefined;
  const args = ["-a", BIND_HOST, "-p", RANDOM_PORT, ...(storeDir === undefined ? [] : ["-js", "-sd", storeDir])];
  try {
    const { child, port } = await spawnServer(args, opts);
    return new RunningServer(child, port, storeDir, tempDir, opts.signal);
  } catch (err) {
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
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

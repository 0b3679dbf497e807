import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../shared/runtime/index.js";

/** Wall time a host gets to exit after SIGTERM before it is killed. */
export const HOST_STOP_GRACE_MS = 3_000;

// Where the actor host's entry may be, relative to this module, which is in the CLI bundle
// (dist/bundle/cli.bundle.cjs), in dist/services/coordinator/, or in the sources (tests).
/** The bundle's entry (scripts/cached-entry.cjs): one file, compiled code cached, so a host starts in tens of ms. */
const HOST_BUNDLES = ["./host.cjs", "../../bundle/host.cjs", "../../dist/bundle/host.cjs"] as const;
/** What tsc compiled: dist/services/host/main.js. */
const HOST_COMPILED = ["../services/host/main.js", "../host/main.js", "../../dist/services/host/main.js"] as const;

/** The host entry to spawn: the bundle when it is built and fresh, else the compiled files. */
export function hostMainPath(): string {
  const resolve = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
  const bundle = HOST_BUNDLES.map(resolve).find((p) => existsSync(p));
  if (bundle && bundleIsFresh(bundle)) return bundle;
  const compiled = HOST_COMPILED.map(resolve);
  const found = compiled.find((p) => existsSync(p));
  if (!found) throw new Error(`actor host not built (looked for ${[bundle, ...compiled].filter(Boolean).join(", ")}): run bash scripts/setup.sh`);
  return found;
}

/**
 * A bundle older than the last tsc build would run stale code (`npx tsc` alone does not rebundle;
 * scripts/setup.sh does both, bundling last): it is used only when no older than dist/.tsbuildinfo
 * (incremental builds) and dist/services/host/main.js (full builds).
 */
function bundleIsFresh(bundle: string): boolean {
  const dist = dirname(dirname(bundle));
  const bundledMs = statSync(bundle).mtimeMs;
  return [join(dist, ".tsbuildinfo"), join(dist, "services/host/main.js")].every((p) => !existsSync(p) || statSync(p).mtimeMs <= bundledMs);
}

/**
 * glibc's default mmap threshold (128 KiB), pinned: left to itself glibc raises it after the first
 * large free and then serves ~1 MB message buffers from the heap, which it rarely returns, so a flood
 * of refused 1 MB messages would leave a host tens of MB larger although the actor keeps nothing of it.
 */
export const HOST_MALLOC_MMAP_THRESHOLD = "131072";

/**
 * Node reads and parses the certificates NODE_EXTRA_CA_CERTS names when it starts, before any code
 * runs, TLS or not: a system bundle (~140 certificates) costs ~50 ms of CPU per process, more than
 * the rest of a host's start. A host that connects only to servers this coordinator started (plain
 * loopback, no TLS) never uses them.
 */
export const EXTRA_CA_CERTS_ENV = "NODE_EXTRA_CA_CERTS";

/**
 * The environment of a host process: ours, with the mmap threshold pinned unless it is set, and
 * without NODE_EXTRA_CA_CERTS when `loopbackOnly` (its servers are the embedded ones).
 */
export function hostEnv(env: NodeJS.ProcessEnv, loopbackOnly = false): NodeJS.ProcessEnv {
  const out = { ...env };
  out.MALLOC_MMAP_THRESHOLD_ ??= HOST_MALLOC_MMAP_THRESHOLD;
  if (loopbackOnly) delete out[EXTRA_CA_CERTS_ENV];
  return out;
}

/** Options of a {@link Launcher}. */
export interface LauncherOptions {
  /** The hosts connect only to embedded nats-servers (plain loopback): see {@link EXTRA_CA_CERTS_ENV}. */
  readonly loopbackOnly?: boolean;
}

/**
 * Node flags of every host process: semi-spaces of up to 32 MB (V8's default here is 16 MB), so a busy
 * host scavenges half as often. Measured on the full-scale DeepSeek-V3 step (49 processes, grouped,
 * 2026-12-03, two rounds, alternating): 134.5–144.0 s wall and 256.5–273.3 s CPU without, 117.4–137.9 s
 * and 224.5–262.1 s with; peak total RSS 6.0 → 7.0–7.2 GB. Hierarchical all-reduce 1 GiB on full CM384:
 * RSS 3.33–3.34 → 3.36–3.38 GB.
 */
const HOST_NODE_FLAGS = ["--max-semi-space-size=32"] as const;

/** A spawned host process and how it ended. */
export interface HostProcess {
  readonly child: ChildProcess;
  readonly actors: readonly number[];
  /** The host's arguments: a restart spawns the same host again (with its new --inc). */
  readonly args: readonly string[];
  exit: { code: number | null; signal: string | null } | undefined;
}

/**
 * Starts actor host processes and owns them: every child gets a stdin pipe it watches, so a
 * coordinator that dies leaves no orphans; `stop()` sends SIGTERM, then SIGKILL after a grace period.
 */
export class Launcher implements AsyncDisposable {
  readonly hosts: HostProcess[] = [];

  constructor(private readonly log: Logger, private readonly opts: LauncherOptions = {}) {}

  /**
   * Node flags for every host after HOST_NODE_FLAGS, e.g. `--cpu-prof` when profiling:
   * SUPERNODE_HOST_NODE_FLAGS, space-separated (of a V8 flag given twice, the later counts).
   */
  spawnHost(actors: readonly number[], args: readonly string[], nodeFlags: readonly string[] = (process.env.SUPERNODE_HOST_NODE_FLAGS ?? "").split(" ").filter(Boolean)): HostProcess {
    const child = spawn(process.execPath, [...HOST_NODE_FLAGS, ...nodeFlags, hostMainPath(), ...args, "--watch-stdin"], {
      stdio: ["pipe", "inherit", "inherit"],
      env: hostEnv(process.env, this.opts.loopbackOnly),
    });
    const h: HostProcess = { child, actors, args, exit: undefined };
    child.on("exit", (code, signal) => {
      h.exit = { code, signal };
      this.log.debug({ pid: child.pid, code, signal }, "host exited");
    });
    child.stdin?.on("error", () => {}); // the host may be gone already
    this.hosts.push(h);
    return h;
  }

  get pids(): number[] {
    return this.hosts.map((h) => h.child.pid ?? -1);
  }

  /**
   * Kills what is left of a host (SIGKILL also ends a stopped one) and starts it again as incarnation
   * `inc`; the old one leaves the list, so it no longer counts as exited.
   */
  async respawn(h: HostProcess, inc: number): Promise<HostProcess> {
    if (h.exit === undefined) {
      const gone = new Promise((r) => h.child.once("exit", r));
      h.child.kill("SIGKILL");
      await gone;
    }
    this.hosts.splice(this.hosts.indexOf(h), 1);
    const i = h.args.indexOf("--inc");
    const base = i < 0 ? h.args : [...h.args.slice(0, i), ...h.args.slice(i + 2)];
    return this.spawnHost(h.actors, [...base, "--inc", String(inc)]);
  }

  /** The host process an actor runs in. */
  hostOf(actor: number): HostProcess | undefined {
    return this.hosts.find((h) => h.actors.includes(actor));
  }

  /** Hosts that exited on their own, with their actors. */
  exited(): HostProcess[] {
    return this.hosts.filter((h) => h.exit !== undefined);
  }

  async stop(): Promise<void> {
    const live = this.hosts.filter((h) => h.exit === undefined && h.child.pid !== undefined);
    for (const h of live) h.child.kill("SIGTERM");
    // Resolves on the last exit, not on a polling tick: the end of every run waits on it.
    const exited = Promise.all(live.map((h) => (h.exit ? undefined : new Promise((r) => h.child.once("exit", r)))));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise((r) => { timer = setTimeout(r, HOST_STOP_GRACE_MS); });
    await Promise.race([exited, graceOver]);
    clearTimeout(timer);
    for (const h of live) if (h.exit === undefined) h.child.kill("SIGKILL");
    await exited;
  }

  async [Symbol.asyncDispose](): Promise<void> { await this.stop(); }
}

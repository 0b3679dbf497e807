import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../shared/runtime/index.js";

/** Wall time a host gets to exit after SIGTERM before it is killed. */
export const HOST_STOP_GRACE_MS = 3_000;

/** The compiled host entry, whether we run from dist/ or from sources (tests). */
export function hostMainPath(): string {
  const here = fileURLToPath(new URL("../host/main.js", import.meta.url));
  if (existsSync(here)) return here;
  const built = fileURLToPath(new URL("../../dist/services/host/main.js", import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`actor host not built (looked for ${here} and ${built}): run npm run build`);
}

/** A spawned host process and how it ended. */
export interface HostProcess {
  readonly child: ChildProcess;
  readonly actors: readonly number[];
  exit: { code: number | null; signal: string | null } | undefined;
}

/**
 * Starts actor host processes and owns them: every child gets a stdin pipe it watches, so a
 * coordinator that dies leaves no orphans; `stop()` sends SIGTERM, then SIGKILL after a grace period.
 */
export class Launcher implements AsyncDisposable {
  readonly hosts: HostProcess[] = [];

  constructor(private readonly log: Logger) {}

  /** Node flags for every host, e.g. `--cpu-prof` when profiling: SUPERNODE_HOST_NODE_FLAGS, space-separated. */
  spawnHost(actors: readonly number[], args: readonly string[], nodeFlags: readonly string[] = (process.env.SUPERNODE_HOST_NODE_FLAGS ?? "").split(" ").filter(Boolean)): HostProcess {
    const child = spawn(process.execPath, [...nodeFlags, hostMainPath(), ...args, "--watch-stdin"], {
      stdio: ["pipe", "inherit", "inherit"],
      env: process.env,
    });
    const h: HostProcess = { child, actors, exit: undefined };
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

  /** Hosts that exited on their own, with their actors. */
  exited(): HostProcess[] {
    return this.hosts.filter((h) => h.exit !== undefined);
  }

  async stop(): Promise<void> {
    const live = this.hosts.filter((h) => h.exit === undefined && h.child.pid !== undefined);
    for (const h of live) h.child.kill("SIGTERM");
    const deadline = Date.now() + HOST_STOP_GRACE_MS;
    while (live.some((h) => h.exit === undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    for (const h of live) if (h.exit === undefined) h.child.kill("SIGKILL");
    await Promise.all(live.map((h) => (h.exit ? undefined : new Promise((r) => h.child.once("exit", r)))));
  }

  async [Symbol.asyncDispose](): Promise<void> { await this.stop(); }
}

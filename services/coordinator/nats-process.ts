import { RunError } from "../../shared/errors/index.js";
import type { Logger, ProcessControl } from "../../shared/runtime/index.js";
import type { HostProcess, Launcher } from "./launcher.js";
import type { ActorRegistry } from "./registry.js";

export interface NatsProcessesOptions {
  readonly launcher: Launcher;
  readonly registry: ActorRegistry;
  readonly log: Logger;
  /** Every actor id of the run. */
  readonly ids: readonly number[];
  readonly names: (ids: readonly number[]) => string;
  readonly startTimeoutMs: number;
  /** How often a restart polls the registry for its actors. */
  readonly pollMs: number;
  readonly servers: () => number;
  readonly killServer: (i: number) => Promise<void>;
}

/**
 * The NATS engine's process layer for real: a crash is SIGKILL of the actor's host process, a hang
 * SIGSTOP, and a restart kills what is left and spawns the host again with the next incarnation,
 * then waits until its actors heartbeat as running with it. Only an actor alone in a process this
 * engine started can be crashed alone (placement per-actor; grouped hosts share a process per node).
 * A switch chip taken out (switch-crash) is one nobody waits for or counts as dead.
 */
export class NatsProcesses implements ProcessControl {
  /** Switch chips taken out for good (switch-crash). */
  private readonly removed = new Set<number>();

  constructor(private readonly o: NatsProcessesOptions) {}

  refuses(id: number): string | undefined {
    const h = this.o.launcher.hostOf(id);
    if (!h) return `${this.o.names([id])} runs in a process this coordinator did not start (placement external)`;
    if (h.actors.length > 1) return `${this.o.names([id])} shares its host process with ${h.actors.length - 1} other actors (placement grouped); killing it alone needs placement per-actor`;
    return undefined;
  }

  async crash(id: number): Promise<void> {
    const h = this.hostFor(id);
    const gone = new Promise((r) => (h.exit ? r(undefined) : h.child.once("exit", r)));
    h.child.kill("SIGKILL");
    await gone; // the watchdog sees the exit on its next tick
  }

  async hang(id: number): Promise<void> { this.hostFor(id).child.kill("SIGSTOP"); }

  async remove(id: number): Promise<string> {
    const h = this.o.launcher.hostOf(id);
    this.removed.add(id);
    if (!h) return "left running (its process is not this coordinator's): routed around";
    if (h.actors.length > 1) return `left running in its host process (shared with ${h.actors.length - 1} other actors): routed around`;
    const pid = h.child.pid;
    await this.crash(id);
    return `its process killed (SIGKILL, pid ${pid})`;
  }

  async readmit(ids: readonly number[], inc: number): Promise<void> {
    for (const id of ids) this.removed.delete(id);
    await this.restart(ids, inc);
  }

  servers(): number { return this.o.servers(); }
  killServer(i: number): Promise<void> { return this.o.killServer(i); }

  async restart(ids: readonly number[], inc: number): Promise<void> {
    const { launcher, registry, names } = this.o;
    // Actors whose processes others own (containers: Docker restarts them) are back when they heartbeat again.
    const external = ids.filter((id) => !launcher.hostOf(id));
    const since = Date.now();
    const hosts = [...new Set(ids.filter((id) => launcher.hostOf(id)).map((id) => this.hostFor(id)))];
    const fresh = await Promise.all(hosts.map((h) => launcher.respawn(h, inc)));
    const want = hosts.flatMap((h) => h.actors);
    const deadline = Date.now() + this.o.startTimeoutMs;
    for (;;) {
      const back = (id: number) => { const r = registry.get(id); return r !== undefined && r.phase === "running" && r.lastSeenMs > since; };
      const waiting = [...want.filter((id) => { const r = registry.get(id); return !r || r.inc !== inc || r.phase !== "running"; }), ...external.filter((id) => !back(id))];
      if (waiting.length === 0) break;
      // Only the hosts started here count: another that exited (an idle NPU a fault killed) is not this restart's failure.
      const crashed = fresh.filter((h) => h.exit !== undefined);
      if (crashed.length) throw new RunError(`restarted host exited (pid ${crashed[0]!.child.pid}, code ${crashed[0]!.exit?.code}); actors ${names(crashed[0]!.actors)}`);
      if (Date.now() > deadline) throw new RunError(`restarted actors did not register within ${this.o.startTimeoutMs} ms: ${names(waiting)}`);
      await new Promise<void>((r) => setTimeout(r, this.o.pollMs));
    }
    this.o.log.info({ actors: names(want), inc }, "actors restarted");
  }

  /** Every actor of the run but the removed ones. */
  liveIds(): number[] {
    return this.o.ids.filter((id) => !this.removed.has(id));
  }

  /** Hosts that exited, but those whose actors were all removed on purpose. */
  exitedLive(): HostProcess[] {
    return this.o.launcher.exited().filter((h) => !h.actors.every((a) => this.removed.has(a)));
  }

  private hostFor(id: number): HostProcess {
    const h = this.o.launcher.hostOf(id);
    if (!h) throw new RunError(`${this.o.names([id])} has no host process this coordinator started`);
    return h;
  }
}

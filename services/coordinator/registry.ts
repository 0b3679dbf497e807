import type { HeartbeatMsg } from "../../shared/protocol/index.js";

/** What the coordinator knows of one actor, from its heartbeats (wall time, injected clock). */
export interface ActorRecord {
  readonly id: number;
  pid: number;
  host: string;
  inc: number;
  phase: string;
  handled: number;
  rejected: number;
  topology: string;
  lastSeenMs: number;
}

/**
 * Registration and liveness. The first heartbeat registers an actor; an actor whose heartbeats stop
 * for longer than the timeout is dead. Total handled counts are the watchdog's progress signal.
 */
export class ActorRegistry {
  private readonly actors = new Map<number, ActorRecord>();
  private progressMark = 0;

  constructor(private readonly now: () => number, private readonly heartbeatTimeoutMs: number) {}

  onHeartbeat(m: HeartbeatMsg): void {
    const rec = this.actors.get(m.from);
    if (rec && rec.handled !== m.handled) this.progressMark++;
    this.actors.set(m.from, {
      id: m.from, pid: m.pid, host: m.host, inc: m.inc, phase: m.phase, handled: m.handled, rejected: m.rejected,
      topology: m.topology, lastSeenMs: this.now(),
    });
  }

  /** Bumped whenever some actor reports having handled more messages, or the coordinator sees progress. */
  get progress(): number { return this.progressMark; }
  noteProgress(): void { this.progressMark++; }

  get(id: number): ActorRecord | undefined { return this.actors.get(id); }

  /** Expected actors that have not registered as running. */
  missing(expected: readonly number[]): number[] {
    return expected.filter((id) => this.actors.get(id)?.phase !== "running");
  }

  /** Expected actors that stopped heartbeating, or report themselves failed. */
  dead(expected: readonly number[]): ActorRecord[] {
    const now = this.now();
    return expected
      .map((id) => this.actors.get(id))
      .filter((r): r is ActorRecord => r !== undefined && (now - r.lastSeenMs > this.heartbeatTimeoutMs || r.phase === "failed"));
  }

  /** Registered actors that built a different topology than the coordinator's. */
  foreign(topologyHash: string): ActorRecord[] {
    return [...this.actors.values()].filter((r) => r.topology !== topologyHash);
  }

  all(): ActorRecord[] { return [...this.actors.values()]; }
}

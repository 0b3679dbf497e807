import type { RecoveryPolicy } from "../../shared/config/index.js";
import type { OpSpec } from "../../shared/protocol/index.js";
import type { ProcessControl } from "../../shared/runtime/index.js";
import { groupByNode, type Topology } from "../../shared/topology/index.js";
import { npuId, type NpuId } from "../../shared/units/index.js";
import type { Incarnations } from "./epoch.js";

/** One NPU replaced by a spare: who failed, who took its place. */
export interface Swap {
  readonly failed: number;
  readonly spare: number;
  /** What the engine did to the failed NPU's process as it retired it (for the report). */
  readonly how: string;
}

/**
 * Who plays which rank (docs/chaos.md §7.4, policy spare). Ops name their ranks by the NPUs the plan
 * gave them (the first NPUs of the topology); once a spare has taken a failed NPU's place it plays
 * that NPU's ranks in every later op, the failed NPU is retired (taken out like a crashed switch chip:
 * nobody waits for it) and comes back only when the run ends. The spare is warm: it has run since the
 * start and heard every fault, so nothing is re-sent to it; its ranks' state (parameters) comes with
 * the op-start, as every rank's does.
 */
export class Membership {
  /** Planned NPU → the NPU playing it now (only those that changed). */
  private readonly playing = new Map<number, NpuId>();
  private readonly pool: NpuId[];
  readonly retired: number[] = [];

  /** `idOf`: device ids by name (the caller's map of the topology). */
  constructor(private readonly policy: RecoveryPolicy, private readonly t: Topology, private readonly idOf: ReadonlyMap<string, number>) {
    this.pool = policy.spares.map((n) => npuId(idOf.get(n)!));
  }

  get spares(): readonly number[] { return this.pool; }

  /** The op as the current members run it: its group through the swaps so far, its node groups again. */
  map(spec: OpSpec): OpSpec {
    if (this.playing.size === 0) return spec;
    const group = spec.group.map((id) => this.playing.get(id) ?? id);
    return { ...spec, group, nodeGroups: groupByNode(group, this.t) };
  }

  /**
   * Swaps spares in for the failed actors that play a rank of `spec` (as mapped), while spares last;
   * returns the swaps and the actors left to restart (not members, or no spare left).
   */
  async swap(failed: readonly number[], spec: OpSpec, proc: ProcessControl): Promise<{ swaps: Swap[]; restart: number[] }> {
    if (this.policy.policy !== "spare") return { swaps: [], restart: [...failed] };
    const members = new Set<number>(spec.group);
    const swaps: Swap[] = [], restart: number[] = [];
    for (const id of failed) {
      const spare = members.has(id) ? this.pool.shift() : undefined;
      if (spare === undefined) { restart.push(id); continue; }
      this.play(id, spare);
      const [how] = await this.retire([id], proc);
      swaps.push({ failed: id, spare, how: how! });
    }
    return { swaps, restart };
  }

  /**
   * A restarted coordinator resuming the run: the swaps of its history again (spare events), so the
   * spares go on playing the ranks they took. The actors are fresh, so nothing is retired.
   */
  replay(events: readonly { type: string; policy?: string; removed?: readonly string[]; added?: readonly string[] }[]): void {
    const idOf = this.idOf;
    for (const e of events) {
      if (e.type !== "membership" || e.policy !== "spare") continue;
      (e.removed ?? []).forEach((name, i) => {
        const failed = idOf.get(name)!, spare = npuId(idOf.get(e.added![i]!)!);
        this.pool.splice(this.pool.indexOf(spare), 1);
        this.play(failed, spare);
      });
    }
  }

  /** `spare` plays what `failed` played (a planned NPU, or an earlier spare). */
  private play(failed: number, spare: NpuId): void {
    for (const [planned, now] of this.playing) if (now === failed) this.playing.set(planned, spare);
    if (![...this.playing.values()].includes(spare)) this.playing.set(failed, spare); // a planned NPU's first swap
  }

  /** Takes failed NPUs out for the rest of the run (policy shrink); returns what was done to each. */
  async retire(ids: readonly number[], proc: ProcessControl): Promise<string[]> {
    const hows: string[] = [];
    for (const id of ids) {
      hows.push(proc.remove ? await proc.remove(id) : "left as it is");
      this.retired.push(id);
    }
    return hows;
  }

  /** The run is over: retired NPUs come back as new incarnations (the engine may run another scenario). */
  async close(proc: ProcessControl | undefined, incs: Incarnations): Promise<void> {
    if (this.retired.length && proc?.readmit) await proc.readmit(this.retired.splice(0), incs.next());
  }
}

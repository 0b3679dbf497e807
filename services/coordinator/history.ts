import { performance } from "node:perf_hooks";

/**
 * What a run did, in order, for the checker (Jepsen-style: record, then check; docs/chaos.md §8):
 * every attempt of an op, every fault injected, abort, restart, epoch change and commit.
 * `index` is the op's place in the run (0-based; a training step's retries share it), `op` the id
 * the attempt ran under.
 */
export type HistoryEvent =
  | { readonly seq: number; readonly wallMs: number; readonly type: "begin"; readonly index: number; readonly op: number; readonly epoch: number; readonly attempt: number; readonly virtualNs: number; readonly members: number }
  | { readonly seq: number; readonly wallMs: number; readonly type: "fault"; readonly index: number; readonly op: number; readonly fault: number; readonly kind: string; readonly target: string; readonly virtualNs: number }
  | { readonly seq: number; readonly wallMs: number; readonly type: "abort"; readonly index: number; readonly op: number; readonly epoch: number; readonly reason: string; readonly virtualNs: number }
  | { readonly seq: number; readonly wallMs: number; readonly type: "restart"; readonly actors: readonly string[]; readonly inc: number; readonly virtualNs: number }
  | { readonly seq: number; readonly wallMs: number; readonly type: "membership"; readonly index: number; readonly policy: "spare" | "shrink"; readonly removed: readonly string[]; readonly added: readonly string[]; readonly virtualNs: number }
  | { readonly seq: number; readonly wallMs: number; readonly type: "epoch"; readonly from: number; readonly to: number; readonly members: readonly string[] }
  | { readonly seq: number; readonly wallMs: number; readonly type: "commit"; readonly index: number; readonly op: number; readonly epoch: number; readonly step?: number; readonly digest?: string; readonly virtualNs: number }
  | { readonly seq: number; readonly wallMs: number; readonly type: "resume"; readonly fromStep: number; readonly epoch: number; readonly virtualNs: number };

type Body<E> = E extends unknown ? Omit<E, "seq" | "wallMs"> : never;
export type HistoryInput = Body<HistoryEvent>;

/** The run's history; wall ms since the run started, on an injectable clock. */
export class History {
  readonly events: HistoryEvent[] = [];
  private readonly t0: number;

  /** `before`: the history of the run so far, when a restarted coordinator resumes it (its wall time goes on from the last event). */
  constructor(private readonly now: () => number = () => performance.now(), before: readonly HistoryEvent[] = []) {
    this.events.push(...before);
    this.t0 = now() - (before.length ? before[before.length - 1]!.wallMs : 0);
  }

  /** Wall ms since the run started, to 0.1 ms. */
  wallMs(): number {
    return Math.round((this.now() - this.t0) * 10) / 10;
  }

  add(e: HistoryInput): void {
    this.events.push({ ...e, seq: this.events.length, wallMs: this.wallMs() } as HistoryEvent);
  }

  /** The epoch of the last begin (the one a commit belongs to), or undefined before any. */
  lastBegin(): Extract<HistoryEvent, { type: "begin" }> | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if (e.type === "begin") return e;
    }
    return undefined;
  }
}

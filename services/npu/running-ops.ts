import type { OpRun } from "./op-run.js";

/**
 * The ops running at one endpoint, by op id: a Map that remembers the op looked up last (nearly every
 * message is of the op before it), so a data message reads this object instead of probing the Map's
 * table, a cache miss or two on the hot path.
 */
export class RunningOps {
  private readonly runs = new Map<number, OpRun>();
  private lastOp = -1;
  private lastRun: OpRun | undefined;

  get(op: number): OpRun | undefined {
    if (op === this.lastOp) return this.lastRun;
    const r = this.runs.get(op);
    if (r) { this.lastOp = op; this.lastRun = r; }
    return r;
  }
  has(op: number): boolean { return this.runs.has(op); }
  set(op: number, run: OpRun): void { this.runs.set(op, run); this.forget(); }
  delete(op: number): void { this.runs.delete(op); this.forget(); }
  clear(): void { this.runs.clear(); this.forget(); }
  values(): IterableIterator<OpRun> { return this.runs.values(); }

  private forget(): void { this.lastOp = -1; this.lastRun = undefined; }
}

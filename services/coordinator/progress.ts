/** What a run counts: training steps (a run of training workloads only), or ops (a training step is one op too). */
export type ProgressUnit = "step" | "op";

/**
 * Progress events of a run, in wall time, for a person watching it; services/cli/progress.ts renders
 * them. The run calls `start` once, `update` as work starts and ends, and `stop` when it ends for any
 * reason (done, stalled, failed, aborted). `done` counts finished units; `phase` says what runs now
 * (`step 2/50 running`, `verifying step 2`, `op 3/10 all-reduce 64MiB`). Nothing here reaches the report.
 */
export interface Progress {
  start(total: number, unit: ProgressUnit, label: string): void;
  update(done: number, phase: string): void;
  stop(): void;
}

/** A run nobody watches: tests, sweeps, the control service. */
export const NO_PROGRESS: Progress = { start() {}, update() {}, stop() {} };

/** `p` seen from one workload of a run: it counts its own units, the run adds the `base` before it. */
export function offsetProgress(p: Progress, base: number): Progress {
  if (p === NO_PROGRESS || base === 0) return p;
  return { start: (total, unit, label) => p.start(total, unit, label), update: (done, phase) => p.update(base + done, phase), stop: () => p.stop() };
}

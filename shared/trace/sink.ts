/**
 * What actor logic may record for a trace (docs/training.md, "Trace"). The engine hands each actor a
 * sink in its context when tracing is on (`ctx.trace`), else nothing: one `if` per hot-path call.
 * Times are virtual ns; the writer turns them into the trace's µs. Nothing here reads a clock.
 */

/** How much a trace keeps, in increasing order (the scenario's `outputs.trace.detail`). */
export const TraceDetail = { Steps: "steps", Phases: "phases", Flows: "flows", Full: "full" } as const;
export type TraceDetail = (typeof TraceDetail)[keyof typeof TraceDetail];
export const TRACE_DETAILS: readonly TraceDetail[] = [TraceDetail.Steps, TraceDetail.Phases, TraceDetail.Flows, TraceDetail.Full];

export const DEFAULT_TRACE_DETAIL: TraceDetail = TraceDetail.Phases;
/** Events a trace holds at most (naming metadata aside): a full-scale step stays a file viewers open. */
export const DEFAULT_TRACE_MAX_EVENTS = 1_000_000;

/**
 * Kinds of slices, each kept from a detail level on:
 * step (an op on a rank, or on one of its streams) and mark instants from `steps`; phase (program
 * spans: layers, collective phases, buckets) and kernel (compute ops on the compute engine) from
 * `phases`; reduce (reductions of received data) only at `full`.
 */
export const SliceKind = { Step: "step", Phase: "phase", Kernel: "kernel", Reduce: "reduce" } as const;
export type SliceKind = (typeof SliceKind)[keyof typeof SliceKind];

export type TraceArgs = Readonly<Record<string, string | number | boolean>>;

/** The track of an actor a slice goes on: its main program (""), its compute engine, or a stream's name. */
export const MAIN_LANE = "";
export const COMPUTE_LANE = "compute";

/** One actor's view of the trace: every event lands on that actor's tracks. */
export interface TraceSink {
  /** Whether slices of `kind` are kept at this detail (callers skip building names for nothing). */
  wants(kind: SliceKind): boolean;
  /** A complete slice [startNs, startNs + durNs) on `lane`. */
  slice(kind: SliceKind, lane: string, name: string, cat: string, startNs: number, durNs: number, args?: TraceArgs): void;
  /** A mark of a program (kept from `steps` on). */
  instant(lane: string, name: string, cat: string, atNs: number, args?: TraceArgs): void;
  /** Transfer (op, fromRank → toRank, tag) left this actor's `lane` at `atNs` (sampled: the sink decides). */
  flowStart(op: number, fromRank: number, toRank: number, tag: number, lane: string, atNs: number, bytes: number): void;
  /** The same transfer, delivered to the stream on `lane` of its receiver at `atNs`. */
  flowEnd(op: number, fromRank: number, toRank: number, tag: number, lane: string, atNs: number): void;
  /**
   * A switch forwarded a stripe of `op` through the egress port of `linkId`: its head was ready there
   * at `readyNs`, it waited behind `queuedBytes` already queued, its tail reached the next device at
   * `tailNs`. Sampled into a queue-depth counter per port and a forwarding slice per op.
   */
  forwarded(op: number, linkId: number, readyNs: number, tailNs: number, queuedBytes: number): void;
}

/** What an engine needs to trace: a sink per actor (by device id). */
export interface TraceRecorder {
  sinkFor(actor: number): TraceSink;
}

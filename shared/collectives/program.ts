import type { MoeRankPart, OpSpec, TrainingPart } from "../protocol/index.js";
import type { TraceArgs } from "../trace/index.js";
import type { SimNs } from "../units/index.js";

/** A transfer as the receiving rank's program sees it. */
export interface Delivered {
  readonly data: Float64Array;
  /** Modelled bytes of the transfer. */
  readonly bytes: number;
  /** Virtual time the first byte reached this endpoint, and the time the whole transfer was delivered. */
  readonly firstByteNs: SimNs;
  readonly deliveredNs: SimNs;
}

/**
 * What a collective's per-rank program may ask of its endpoint. Ranks are communicator ranks; the
 * endpoint maps them to devices, stripes the bytes over the fabric and keeps virtual time.
 */
export type Command =
  | { readonly kind: "send"; readonly to: number; readonly tag: number; readonly bytes: number; readonly data: Float64Array }
  | { readonly kind: "recv"; readonly from: number; readonly tag: number }
  | { readonly kind: "reduce"; readonly operand: Delivered; readonly bytes: number }
  /**
   * A kernel on the endpoint's compute engine, costed by the roofline. It starts when the engine is
   * free and (unless `background`) the program's clock has reached it; a background kernel does not
   * hold the program up (e.g. a shared expert overlapping the dispatch), a foreground one does.
   */
  | { readonly kind: "compute"; readonly flops: number; readonly hbmBytes: number; readonly background: boolean; readonly label?: KernelLabel | undefined }
  /** Records the program's current virtual time (reported in op-done `marks`, in order). */
  | { readonly kind: "mark" }
  /** Sets the counts reported in op-done `tally` (the workload defines their meaning). */
  | { readonly kind: "tally"; readonly values: readonly number[] }
  /**
   * Starts `program` as a concurrent stream of this rank (e.g. gradient buckets reduced while the
   * backward pass goes on). Streams of one `queue` run one after another, each from the later of its
   * fork time and the previous one's end, like kernels on one GPU stream. A stream's reductions and
   * kernels use an engine of its own, so what it costs never depends on how deliveries interleave.
   */
  | { readonly kind: "fork"; readonly queue: string; readonly program: Program<unknown> }
  /** Blocks until every stream forked on `queue` has finished; the clock moves to the last one's end. */
  | { readonly kind: "join"; readonly queue: string }
  /** Moves the clock (and the compute engine) on by `ns`: work counted rather than emulated (repeated layers). */
  | { readonly kind: "advance"; readonly ns: number }
  /** Reads the clock: the program resumes with a delivery whose deliveredNs is the current virtual time. */
  | { readonly kind: "now" }
  /**
   * Opens a named span of this stream's time, closed by the next "span-end" (spans nest). For the
   * trace only: it moves no clock, and without a trace the endpoint skips it.
   */
  | { readonly kind: "span"; readonly name: string; readonly cat: string; readonly args?: TraceArgs | undefined }
  | { readonly kind: "span-end" }
  /**
   * Runs `program` as a sub-program of this stream and resumes the caller with its return value —
   * `yield* program`, except that the endpoint drives the sub-program directly, so its commands do
   * not resume every frame between it and the endpoint (see `call`).
   */
  | { readonly kind: "call"; readonly program: Program<unknown> };

/** What a kernel is, for the trace: its op class and its model FLOPs (before efficiency). */
export interface KernelLabel { readonly cls: string; readonly flops: number }

/** A rank's side of a collective: yields commands, gets back deliveries, returns its output buffer. */
export type Program<T = Float64Array> = Generator<Command, T, Delivered | undefined>;

export interface ProgramEnv {
  readonly rank: number;
  readonly size: number;
  readonly spec: OpSpec;
  /** This rank's input, made for this program alone: it may reduce into it in place (all-reduce does). */
  readonly input: Float64Array;
  /** moe-layer: this rank's part of the routing (op-start `part`). */
  readonly moePart?: MoeRankPart | undefined;
  /** training-step: this rank's parameters (op-start `part`). */
  readonly trainingPart?: TrainingPart | undefined;
}

/**
 * Commands yielded directly (`yield sendCmd(…)`, `received(yield recvCmd(…), …)`) rather than through
 * the generators below: on the hot loops of ring steps and all-to-alls that saves a generator object
 * per command and a resumption at every level of `yield*` between the program and its endpoint.
 */
export const sendCmd = (to: number, tag: number, bytes: number, data: Float64Array): Command => ({ kind: "send", to, tag, bytes, data });
export const recvCmd = (from: number, tag: number): Command => ({ kind: "recv", from, tag });
export const NOW: Command = { kind: "now" };

/** What a `recvCmd` resumed with: the delivery of (from, tag). */
export function received(d: Delivered | undefined, from: number, tag: number): Delivered {
  if (d === undefined) throw new Error(`recv(${from}, ${tag}) resumed without a delivery`);
  return d;
}

/** What a yielded NOW resumed with: the current virtual time. */
export function clockOf(d: Delivered | undefined): number {
  if (d === undefined) throw new Error("now() resumed without the time");
  return d.deliveredNs;
}

/** `reduceInto` as a plain function: adds `operand` into `into[at…]` and returns the reduce command to yield. */
export function reduceCmd(into: Float64Array, at: number, operand: Delivered): Command {
  const src = operand.data;
  for (let i = 0; i < src.length; i++) into[at + i] = (into[at + i] as number) + (src[i] as number);
  return { kind: "reduce", operand, bytes: operand.bytes };
}

/** The program's current virtual time (ns). */
export function* now(): Program<number> {
  const d = yield { kind: "now" };
  if (d === undefined) throw new Error("now() resumed without the time");
  return d.deliveredNs;
}

/** Non-blocking send of `bytes` modelled bytes carrying `data` to communicator rank `to`. */
export function* send(to: number, tag: number, bytes: number, data: Float64Array): Program<void> {
  yield { kind: "send", to, tag, bytes, data };
}

/** Blocks until the transfer (from, tag) is delivered; matching never depends on arrival order. */
export function* recv(from: number, tag: number): Program<Delivered> {
  const d = yield { kind: "recv", from, tag };
  if (d === undefined) throw new Error(`recv(${from}, ${tag}) resumed without a delivery`);
  return d;
}

/** Adds `operand` into `into[at…]` element by element, and charges the reduction's compute time. */
export function* reduceInto(into: Float64Array, at: number, operand: Delivered): Program<void> {
  const src = operand.data;
  for (let i = 0; i < src.length; i++) into[at + i] = (into[at + i] as number) + (src[i] as number);
  yield { kind: "reduce", operand, bytes: operand.bytes };
}

/** A kernel of `flops` reading `hbmBytes` from HBM (see Command "compute"). */
export function* compute(flops: number, hbmBytes: number, background = false, label?: KernelLabel): Program<void> {
  yield { kind: "compute", flops, hbmBytes, background, label };
}

/**
 * A span command, yielded directly (`yield span(…)` … `yield SPAN_END`) rather than wrapping the
 * spanned program, so tracing adds no generator layer to the commands inside it.
 */
export const span = (name: string, cat: string, args?: TraceArgs): Command => ({ kind: "span", name, cat, args });
export const SPAN_END: Command = { kind: "span-end" };

/**
 * `yield* call(p)` is `yield* p` for a sub-program with many commands deep in a program (a training
 * step's MoE exchange runs under six frames): the caller's frames are resumed twice (to start it, and
 * with its result) instead of at each of its commands.
 */
export function* call<T>(program: Program<T>): Program<T> {
  return (yield { kind: "call", program }) as unknown as T;
}

/** Marks the current virtual time. */
export function* mark(): Program<void> {
  yield { kind: "mark" };
}

export function* tally(values: readonly number[]): Program<void> {
  yield { kind: "tally", values };
}

/** Runs `program` concurrently on stream queue `queue` (see Command "fork"). */
export function* fork(queue: string, program: Program<unknown>): Program<void> {
  yield { kind: "fork", queue, program };
}

/** Waits for every stream of `queue`. */
export function* join(queue: string): Program<void> {
  yield { kind: "join", queue };
}

/** Advances the clock by `ns` of counted work. */
export function* advance(ns: number): Program<void> {
  if (ns > 0) yield { kind: "advance", ns };
}

export const mod = (a: number, n: number): number => ((a % n) + n) % n;

/** Tags of one phase of a multi-phase algorithm do not collide with another's. */
export const phaseTag = (phase: number, step: number): number => phase * 65_536 + step;

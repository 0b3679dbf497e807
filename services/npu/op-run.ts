import { inputFor, type Delivered, type Program } from "../../shared/collectives/index.js";
import { reductionNs, rooflineNs, scaledComputeNs, streamedComputeEnd } from "../../shared/linkmodel/index.js";
import { Collective, type MoeRankPart, type OpSpec, type TrainingPart } from "../../shared/protocol/index.js";
import { MAIN_LANE, type TraceSink } from "../../shared/trace/index.js";
import type { NpuId, SimNs } from "../../shared/units/index.js";
import { programFor } from "../../shared/workload/index.js";
import { Reassembly } from "./reassembly.js";
import { traceKernel, traceOpEnd, traceReduce, traceSpanEnd, type OpenSpan } from "./op-trace.js";
import { strikes, type ArmedHalt } from "./halt.js";

/**
 * Key of a transfer within an op of `size` ranks: (source rank, tag) as tag × size + rank — exact
 * (tag < 2^31, size < 2^21), and a small integer (a V8 Smi: cheaper map keys) while tag × size < 2^30.
 */
export const transferKey = (fromRank: number, tag: number, size: number): number => tag * size + fromRank;
export const splitTransferKey = (key: number, size: number): { fromRank: number; tag: number } =>
  ({ fromRank: key % size, tag: Math.floor(key / size) });

const NO_DATA = new Float64Array(0);

/** Waiting for the streams of a queue (joins), rather than for a transfer. */
const JOINING = -1;

/** One sequential program of a rank with its own clock: the op's main program, or a forked stream. */
interface Stream {
  readonly program: Program<unknown>;
  /** The generator being driven: `program`, or the innermost sub-program it `call`ed. */
  cur: Program<unknown>;
  /** The callers of `cur`, innermost last, each waiting for its sub-program's return value. */
  readonly callers: Program<unknown>[];
  nowNs: number;
  /** The transfer key it is blocked on, JOINING, or undefined when runnable or done. */
  waitingFor: number | undefined;
  /** Forked streams: their queue, and their own engine for reductions and kernels. */
  readonly queue: string | undefined;
  engineFreeNs: number;
  /** Spans open on this stream (filled only when the op is traced). */
  readonly spans: OpenSpan[];
}

/** Forked streams of one queue: the one running, those waiting their turn, and when the last ended. */
interface Queue {
  running: Stream | undefined;
  readonly pending: { readonly program: Program<unknown>; readonly readyNs: number }[];
  endNs: number;
}

/**
 * Member → rank of a group, by device id (-1: not a member), built once per group object: every rank
 * of an op in one process (the sim engine, a grouped host) shares it, instead of each building its
 * own (n² work and memory per op). An Int32Array, not a Map: every data message looks its source up,
 * and a small dense array stays in cache where a hash table's buckets are a miss or two (issue 11).
 */
const rankMaps = new WeakMap<readonly NpuId[], Int32Array>();
function ranksOf(group: readonly NpuId[]): Int32Array {
  let m = rankMaps.get(group);
  if (!m) {
    let top = -1;
    for (const id of group) top = Math.max(top, id);
    m = new Int32Array(top + 1).fill(-1);
    for (let r = 0; r < group.length; r++) m[group[r]!] = r;
    rankMaps.set(group, m);
  }
  return m;
}

/** One endpoint's part in one collective: its program, its clock for the op, and what has arrived. */
export class OpRun {
  /** Communicator rank of each member by device id, -1 for others (shared by the ranks of one op in this process). */
  private readonly ranks: Int32Array;
  readonly mailbox = new Map<number, Delivered>();
  /** Stripes in so far, per transfer; it also refuses a stripe seen before (a replay). */
  readonly reassembly: Reassembly;
  readonly main: Stream;
  /**
   * Blocked streams (the main one included) and the transfer keys they wait for, in the order they
   * blocked: one per running stream, so a few — a scan beats a map keyed by doubles (keys pass 2^30).
   */
  readonly blockedKeys: number[] = [];
  readonly blockedStreams: Stream[] = [];
  readonly queues = new Map<string, Queue>();
  /** The queue the main program is joining, while it waits for it. */
  joining: string | undefined;
  sent = 0;
  readonly marks: number[] = [];
  tally: readonly number[] | undefined;
  /** A mid-op npu-crash or npu-hang armed for this op (halt.ts); undefined in a run without one. */
  halt: ArmedHalt | undefined;

  constructor(
    readonly spec: OpSpec, readonly rank: number, readonly epoch: number, readonly startNs: number, part?: MoeRankPart | TrainingPart, maxTransfers = Infinity,
    /** The endpoint's trace sink when the run is traced. */
    readonly trace?: TraceSink,
  ) {
    this.reassembly = new Reassembly(maxTransfers);
    this.ranks = ranksOf(spec.group);
    const training = spec.collective === Collective.TrainingStep;
    const input = training ? new Float64Array(0) : inputFor(spec, rank);
    const program = programFor(spec, training
      ? { rank, size: spec.group.length, spec, input, trainingPart: part as TrainingPart | undefined }
      : { rank, size: spec.group.length, spec, input, moePart: part as MoeRankPart | undefined });
    this.main = { program, cur: program, callers: [], nowNs: startNs, waitingFor: undefined, queue: undefined, engineFreeNs: 0, spans: [] };
  }

  /** The communicator rank of device `id`, or undefined when it is not in the op's group (or no device id at all). */
  rankOf(id: number): number | undefined {
    const r = this.ranks[id];
    return r === undefined || r < 0 ? undefined : r;
  }

  /** The op's clock: its main program's. */
  get nowNs(): number { return this.main.nowNs; }

  /** Transfers some stream of this op is blocked on. */
  get waits(): number[] { return [...this.blockedKeys]; }

  /** Notes that `s` waits for `key` (a second wait for the same key takes the first one's place). */
  block(key: number, s: Stream): void {
    const i = this.blockedKeys.indexOf(key);
    if (i >= 0) { this.blockedStreams[i] = s; return; }
    this.blockedKeys.push(key);
    this.blockedStreams.push(s);
  }

  /** The stream waiting for `key`, no longer blocked; undefined when none waits. */
  unblock(key: number): Stream | undefined {
    const i = this.blockedKeys.indexOf(key);
    if (i < 0) return undefined;
    const s = this.blockedStreams[i]!;
    this.blockedKeys.splice(i, 1);
    this.blockedStreams.splice(i, 1);
    return s;
  }
}

/** What driving a program until it blocks produced. */
export type DriveOutcome =
  | { readonly kind: "blocked" }
  | { readonly kind: "done"; readonly result: Float64Array }
  /** The op's halt struck at `atNs`: the endpoint stops here (its process is killed or stopped). */
  | { readonly kind: "halted"; readonly atNs: number };

export interface DriveEffects {
  send(to: number, tag: number, bytes: number, data: Float64Array, nowNs: number): void;
  /** The endpoint's compute engine: free from this virtual time on. */
  computeFreeNs: number;
  /** Compute and reductions take this many times their roofline (a straggler fault; 1 otherwise). */
  readonly computeFactor?: number;
}

type Model = Parameters<typeof reductionNs>[2];

/** The trace lane of a stream: the main program's, or its queue's. */
const laneOf = (s: Stream): string => s.queue ?? MAIN_LANE;

/** Starts the op's main program; runs until every stream of the op is blocked or the op is done. */
export function drive(run: OpRun, fx: DriveEffects, model: Model): DriveOutcome {
  return step(run, run.main, undefined, fx, model);
}

/**
 * A transfer arrived whole: the stream waiting for it resumes (and whatever that unblocks runs);
 * if none waits yet, it waits in the mailbox. Undefined when nothing ran.
 */
export function deliver(run: OpRun, key: number, d: Delivered, fx: DriveEffects, model: Model): DriveOutcome | undefined {
  const s = run.unblock(key);
  if (!s) { run.mailbox.set(key, d); return undefined; }
  s.waitingFor = undefined;
  if (run.trace) { const k = splitTransferKey(key, run.spec.group.length); run.trace.flowEnd(run.spec.op, k.fromRank, run.rank, k.tag, laneOf(s), d.deliveredNs); }
  s.nowNs = Math.max(s.nowNs, d.deliveredNs);
  return step(run, s, d, fx, model);
}

/** Runs `s` (resumed with `resumeWith`) until it blocks or ends, then whatever its end unblocks. */
function step(run: OpRun, s: Stream, resumeWith: Delivered | undefined, fx: DriveEffects, model: Model): DriveOutcome {
  let next: Stream | undefined = s, resume = resumeWith;
  while (next) {
    const r = runStream(run, next, resume, fx, model);
    next = resume = undefined;
    if (r.kind === "main-done") {
      if (run.trace) traceOpEnd(run.trace, run.spec, run.rank, run.startNs, run.main.nowNs, run.queues.keys());
      return { kind: "done", result: r.result };
    }
    if (r.kind === "halted") return r;
    if (r.kind === "stream-done") next = afterStream(run, r.stream);
  }
  return BLOCKED;
}

type StreamEnd = { kind: "blocked" } | { kind: "main-done"; result: Float64Array } | { kind: "stream-done"; stream: Stream } | { kind: "halted"; atNs: number };
/** Outcomes that carry nothing, shared: a blocked stream allocates no result. */
const BLOCKED: DriveOutcome = { kind: "blocked" };
const BLOCKED_END: StreamEnd = { kind: "blocked" };

/** When a forked stream ends: the next of its queue starts, or a join waiting on the queue resumes. */
function afterStream(run: OpRun, done: Stream): Stream | undefined {
  const q = run.queues.get(done.queue!)!;
  q.endNs = Math.max(q.endNs, done.nowNs);
  q.running = undefined;
  const p = q.pending.shift();
  if (p) return startStream(run, q, done.queue!, p.program, p.readyNs);
  if (run.main.waitingFor === JOINING && run.joining === done.queue) {
    run.main.waitingFor = undefined;
    run.joining = undefined;
    run.main.nowNs = Math.max(run.main.nowNs, q.endNs);
    return run.main;
  }
  return undefined;
}

function startStream(run: OpRun, q: Queue, name: string, program: Program<unknown>, readyNs: number): Stream {
  const startNs = Math.max(readyNs, q.endNs);
  const s: Stream = { program, cur: program, callers: [], nowNs: startNs, waitingFor: undefined, queue: name, engineFreeNs: startNs, spans: [] };
  q.running = s;
  return s;
}

/**
 * Runs one stream until it waits for a transfer that has not arrived, or returns. Virtual time moves
 * only by deliveries and compute, never by the order in which messages happened to arrive.
 */
function runStream(run: OpRun, s: Stream, resumeWith: Delivered | undefined, fx: DriveEffects, model: Model): StreamEnd {
  const isMain = s === run.main;
  let r = s.cur.next(resumeWith);
  for (;;) {
    if (r.done) {
      const caller = s.callers.pop();
      if (caller !== undefined) { // a called sub-program returned: its caller goes on with the value
        s.cur = caller;
        r = caller.next(r.value as Delivered | undefined);
        continue;
      }
      if (isMain) {
        for (const q of run.queues.values()) if (q.running || q.pending.length) throw new Error("program returned with forked streams still running: join them first");
        return { kind: "main-done", result: r.value as Float64Array };
      }
      return { kind: "stream-done", stream: s };
    }
    const cmd = r.value;
    if (run.halt !== undefined && strikes(run.halt, s.nowNs, cmd)) return { kind: "halted", atNs: s.nowNs };
    switch (cmd.kind) {
      case "send":
        if (run.trace) run.trace.flowStart(run.spec.op, run.rank, cmd.to, cmd.tag, laneOf(s), s.nowNs, cmd.bytes);
        fx.send(cmd.to, cmd.tag, cmd.bytes, cmd.data, s.nowNs);
        run.sent++;
        r = s.cur.next(undefined);
        break;
      case "recv": {
        const key = transferKey(cmd.from, cmd.tag, run.spec.group.length);
        const d = run.mailbox.get(key);
        if (!d) { s.waitingFor = key; run.block(key, s); return BLOCKED_END; }
        run.mailbox.delete(key);
        if (run.trace) run.trace.flowEnd(run.spec.op, cmd.from, run.rank, cmd.tag, laneOf(s), d.deliveredNs);
        s.nowNs = Math.max(s.nowNs, d.deliveredNs);
        r = s.cur.next(d);
        break;
      }
      case "reduce": {
        const cost = scaledComputeNs(reductionNs(cmd.bytes, run.spec.elementBytes, model), fx.computeFactor ?? 1);
        const end = streamedComputeEnd(cmd.operand.firstByteNs, cmd.operand.deliveredNs, isMain ? fx.computeFreeNs : s.engineFreeNs, cost);
        if (run.trace) traceReduce(run.trace, s.queue, Math.max(cmd.operand.firstByteNs, isMain ? fx.computeFreeNs : s.engineFreeNs), end, cmd.bytes);
        if (isMain) fx.computeFreeNs = end; else s.engineFreeNs = end;
        s.nowNs = Math.max(s.nowNs, end);
        r = s.cur.next(undefined);
        break;
      }
      case "compute": {
        const free = isMain ? fx.computeFreeNs : s.engineFreeNs;
        const end = Math.max(free, s.nowNs) + scaledComputeNs(rooflineNs(cmd.flops, cmd.hbmBytes, model), fx.computeFactor ?? 1);
        if (run.trace) traceKernel(run.trace, s.queue, s.spans, Math.max(free, s.nowNs), end, cmd);
        if (isMain) fx.computeFreeNs = end; else s.engineFreeNs = end;
        if (!cmd.background) s.nowNs = end;
        r = s.cur.next(undefined);
        break;
      }
      case "advance":
        s.nowNs += cmd.ns;
        if (isMain) fx.computeFreeNs = Math.max(fx.computeFreeNs, s.nowNs);
        r = s.cur.next(undefined);
        break;
      case "now":
        r = s.cur.next({ data: NO_DATA, bytes: 0, firstByteNs: s.nowNs as SimNs, deliveredNs: s.nowNs as SimNs });
        break;
      case "span":
        if (run.trace) s.spans.push({ name: cmd.name, cat: cmd.cat, startNs: s.nowNs, args: cmd.args });
        r = s.cur.next(undefined);
        break;
      case "span-end":
        if (run.trace) traceSpanEnd(run.trace, laneOf(s), s.spans, s.nowNs);
        r = s.cur.next(undefined);
        break;
      case "mark":
        run.marks.push(s.nowNs);
        if (run.trace) run.trace.instant(laneOf(s), `mark ${run.marks.length - 1}`, "mark", s.nowNs);
        r = s.cur.next(undefined);
        break;
      case "call":
        s.callers.push(s.cur);
        s.cur = cmd.program;
        r = s.cur.next(undefined);
        break;
      case "tally":
        run.tally = cmd.values;
        r = s.cur.next(undefined);
        break;
      case "fork": {
        if (!isMain) throw new Error("only the main program forks streams");
        let q = run.queues.get(cmd.queue);
        if (!q) { q = { running: undefined, pending: [], endNs: 0 }; run.queues.set(cmd.queue, q); }
        if (q.running) q.pending.push({ program: cmd.program, readyNs: s.nowNs });
        else {
          // The child runs at once, until it blocks: its sends leave at its own clock. Its queue was
          // idle and the main program is running, so its end unblocks nobody.
          const child = startStream(run, q, cmd.queue, cmd.program, s.nowNs);
          const end = runStream(run, child, undefined, fx, model);
          if (end.kind === "halted") return end;
          if (end.kind === "stream-done") afterStream(run, child);
        }
        r = s.cur.next(undefined);
        break;
      }
      case "join": {
        if (!isMain) throw new Error("only the main program joins streams");
        const q = run.queues.get(cmd.queue);
        if (q && (q.running || q.pending.length)) { s.waitingFor = JOINING; run.joining = cmd.queue; return BLOCKED_END; }
        if (q) s.nowNs = Math.max(s.nowNs, q.endNs);
        r = s.cur.next(undefined);
        break;
      }
      default: {
        const never: never = cmd;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  }
}

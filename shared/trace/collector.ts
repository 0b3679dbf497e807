import { FlowSampler, PortEnvelope, type FlowRec } from "./sampling.js";
import { MAIN_LANE, SliceKind, TraceDetail, type TraceArgs, type TraceRecorder, type TraceSink } from "./sink.js";

/** A slice (durNs ≥ 0) or an instant (durNs < 0) on one of an actor's lanes. */
export interface SliceRec {
  readonly actor: number;
  readonly lane: string;
  readonly name: string;
  readonly cat: string;
  readonly startNs: number;
  readonly durNs: number;
  readonly args: TraceArgs | undefined;
}

export interface CounterSeries { readonly actor: number; readonly linkId: number; readonly samples: readonly (readonly [number, number])[] }

/** What the trace kept, and what it dropped or sampled. */
export interface TraceSummary {
  readonly detail: TraceDetail;
  readonly maxEvents: number;
  /** Events kept (a flow counts 2: its start and its finish), naming metadata aside. */
  readonly events: number;
  /** Events dropped because the trace reached `maxEvents` (the least important kinds go first). */
  readonly dropped: number;
  readonly flows: { readonly transfers: number; readonly kept: number; readonly sampled: string };
  readonly portBins: number;
  /** Slices the writer left out because they round to no time (set by the writer). */
  readonly zeroLengthOmitted?: number;
}

export interface TraceContent {
  /** In priority order: steps and marks, phases, kernels, switch forwarding, reductions. */
  readonly slices: readonly SliceRec[];
  readonly counters: readonly CounterSeries[];
  readonly flows: readonly FlowRec[];
  readonly summary: TraceSummary;
}

export interface TraceOptions {
  readonly detail: TraceDetail;
  readonly maxEvents: number;
}

/** Per detail: the slice kinds kept, the transfers sampled at most, the bins per port's counter. */
const LEVELS: Readonly<Record<TraceDetail, { kinds: readonly SliceKind[]; flows: number; portBins: number }>> = {
  steps: { kinds: [SliceKind.Step], flows: 0, portBins: 0 },
  phases: { kinds: [SliceKind.Step, SliceKind.Phase, SliceKind.Kernel], flows: 16_384, portBins: 64 },
  flows: { kinds: [SliceKind.Step, SliceKind.Phase, SliceKind.Kernel], flows: 65_536, portBins: 256 },
  full: { kinds: [SliceKind.Step, SliceKind.Phase, SliceKind.Kernel, SliceKind.Reduce], flows: Infinity, portBins: 4096 },
};

/** Priority classes (0 kept first when the cap bites). Counters follow class 3, flows are class 4. */
const CLASS = { step: 0, mark: 0, phase: 1, kernel: 2, port: 3, reduce: 5 } as const;
const CLASSES = 6;

/** A switch's forwarding of the op it is in: one slice per op on its track. */
interface Forwarding { op: number; firstNs: number; lastNs: number; stripes: number; maxQueuedBytes: number }

/**
 * Collects one run's trace in the engine's process (the sim engine: every actor is here). Memory is
 * bounded: each kind stops at `maxEvents`, flows and counters are sampled to fixed budgets.
 */
export class TraceCollector implements TraceRecorder {
  private readonly kinds: ReadonlySet<string>;
  private readonly classes: SliceRec[][] = Array.from({ length: CLASSES }, () => []);
  private droppedAtCollection = 0;
  private readonly flowSampler: FlowSampler;
  private readonly ports = new Map<number, { actor: number; env: PortEnvelope }>();
  private readonly forwarding = new Map<number, Forwarding>();
  private readonly portBins: number;

  constructor(readonly opts: TraceOptions) {
    const level = LEVELS[opts.detail];
    this.kinds = new Set(level.kinds);
    this.flowSampler = new FlowSampler(Math.min(level.flows, Math.floor(opts.maxEvents / 2)));
    this.portBins = level.portBins;
  }

  sinkFor(actor: number): TraceSink {
    return {
      wants: (kind) => this.kinds.has(kind),
      slice: (kind, lane, name, cat, startNs, durNs, args) => {
        if (this.kinds.has(kind)) this.keep(CLASS[kind], { actor, lane, name, cat, startNs, durNs, args });
      },
      instant: (lane, name, cat, atNs, args) => this.keep(CLASS.mark, { actor, lane, name, cat, startNs: atNs, durNs: -1, args }),
      flowStart: (op, from, to, tag, lane, atNs, bytes) => this.flowSampler.start(op, from, to, tag, { actor, lane, atNs }, bytes),
      flowEnd: (op, from, to, tag, lane, atNs) => this.flowSampler.end(op, from, to, tag, { actor, lane, atNs }),
      forwarded: (op, linkId, readyNs, tailNs, queuedBytes) => this.forwarded(actor, op, linkId, readyNs, tailNs, queuedBytes),
    };
  }

  private keep(cls: number, rec: SliceRec): void {
    const list = this.classes[cls]!;
    if (list.length >= this.opts.maxEvents) { this.droppedAtCollection++; return; }
    list.push(rec);
  }

  private forwarded(actor: number, op: number, linkId: number, readyNs: number, tailNs: number, queuedBytes: number): void {
    if (this.portBins === 0) return;
    let p = this.ports.get(linkId);
    if (!p) { p = { actor, env: new PortEnvelope(this.portBins) }; this.ports.set(linkId, p); }
    p.env.add(readyNs, queuedBytes, tailNs);
    let f = this.forwarding.get(actor);
    if (f && f.op !== op) { this.closeForwarding(actor, f); f = undefined; }
    if (!f) { f = { op, firstNs: readyNs, lastNs: tailNs, stripes: 0, maxQueuedBytes: 0 }; this.forwarding.set(actor, f); }
    f.firstNs = Math.min(f.firstNs, readyNs);
    f.lastNs = Math.max(f.lastNs, tailNs);
    f.stripes++;
    f.maxQueuedBytes = Math.max(f.maxQueuedBytes, queuedBytes);
  }

  private closeForwarding(actor: number, f: Forwarding): void {
    this.keep(CLASS.port, {
      actor, lane: MAIN_LANE, name: `forwarding · op ${f.op}`, cat: "port", startNs: f.firstNs, durNs: f.lastNs - f.firstNs,
      args: { op: f.op, stripes: f.stripes, maxQueuedBytes: Math.round(f.maxQueuedBytes) },
    });
  }

  /** Everything kept, cut to `maxEvents` by priority; call once, after the run. */
  drain(): TraceContent {
    for (const [actor, f] of this.forwarding) this.closeForwarding(actor, f);
    this.forwarding.clear();
    let room = this.opts.maxEvents, offered = this.droppedAtCollection;
    const take = <T>(list: readonly T[], cost = 1): T[] => {
      offered += list.length * cost;
      const n = Math.max(0, Math.min(list.length, Math.floor(room / cost)));
      room -= n * cost;
      return list.slice(0, n);
    };
    const slices = [0, 1, 2, 3].flatMap((c) => take(this.classes[c]!));
    const counters = [...this.ports].sort((a, b) => a[0] - b[0]).map(([linkId, p]) => ({ actor: p.actor, linkId, samples: take(p.env.samples()) }));
    const flows = take(this.flowSampler.complete(), 2);
    slices.push(...take(this.classes[5]!));
    const kept = this.opts.maxEvents - room;
    return {
      slices, counters: counters.filter((s) => s.samples.length > 0), flows,
      summary: {
        detail: this.opts.detail, maxEvents: this.opts.maxEvents, events: kept, dropped: offered - kept,
        flows: { transfers: this.flowSampler.seen, kept: flows.length, sampled: this.flowSampler.budget === 0 ? "none" : this.flowSampler.halvings === 0 ? "all" : `1 in ${2 ** this.flowSampler.halvings}, by hash` },
        portBins: this.portBins,
      },
    };
  }
}

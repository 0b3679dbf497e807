import type { FaultMsg, HaltMode, MoeRankPart, OpDoneMsg, OpSpec, RejectCounts, TrainingPart } from "../protocol/index.js";
import type { SimNs } from "../units/index.js";

/** What an engine reports for one operation. */
export interface OpOutcome {
  /** One per rank that finished (or failed) its part. */
  readonly done: readonly OpDoneMsg[];
  /** Data messages delivered to actors for this op (each stripe at each hop counts once). */
  readonly messages: number;
  /** Wall time from the op's start to its last rank's report (NATS engine; excludes bookkeeping after). */
  readonly activeWallMs?: number;
  /** Actors whose logic threw, by name. */
  readonly failedActors: readonly string[];
  /** Set when the op could not complete (e.g. ranks still waiting when nothing is left to deliver). */
  readonly stalled?: string;
  /** Set when recovery retried the op: the virtual start of the attempt these results are from. */
  readonly startedNs?: SimNs;
  /** NPUs a halt fault struck in this op (their last words, `halted`): when, virtual and wall. */
  readonly halted?: readonly HaltNote[];
}

/** One NPU's halt, as its engine heard of it. */
export interface HaltNote {
  readonly actor: number;
  readonly fault: number;
  readonly mode: HaltMode;
  readonly atNs: number;
  /** performance.now() when the engine heard of it (NATS: the message's arrival); absent: when the op ended. */
  readonly wallAt?: number;
}

/**
 * What the process layer does to actors (issue 12, docs/chaos.md §7), each engine its own way: the
 * NATS engine kills, stops and respawns host processes; the sim engine stops and resumes deliveries.
 */
export interface ProcessControl {
  /** Why this actor cannot be crashed or hung alone (it shares its process, or another owns it), else undefined. */
  refuses(actor: number): string | undefined;
  /** Kills the actor's process (SIGKILL) or stops delivering to it: it never answers again. */
  crash(actor: number): Promise<void>;
  /** Stops the actor's process (SIGSTOP) or its deliveries: alive to the kernel, silent to everyone. */
  hang(actor: number): Promise<void>;
  /** Replaces the actors with fresh ones of incarnation `inc` (what is left of them is killed) and waits until they run. */
  restart(actors: readonly number[], inc: number): Promise<void>;
  /**
   * Takes a switch chip out for good (switch-crash, docs/chaos.md §2): its process is killed where it
   * is alone in one (sim: its deliveries stop), and nobody waits for it or counts it as a failure since
   * routes avoid it. Returns what was done, for the report.
   */
  remove?(actor: number): Promise<string>;
  /** Brings removed actors back as incarnation `inc` (a switch-crash that ends) and waits until they run. */
  readmit?(actors: readonly number[], inc: number): Promise<void>;
  /** NATS servers this engine started and may kill (an embedded cluster); 0 where there are none. */
  servers?(): number;
  /** Kills server `i` of them (SIGKILL): clients reconnect to the others. */
  killServer?(i: number): Promise<void>;
}

/**
 * Runs operations on actors. Two implementations: the deterministic in-process engine (`sim`) and
 * the NATS engine (`nats`). Neither changes what the actor logic does.
 */
/** Per-rank op-start data, by communicator rank. */
export type RankParts = (rank: number) => MoeRankPart | TrainingPart | undefined;

/**
 * Recovery policy shrink (docs/chaos.md §7.4): the op again without the failed members, as whoever
 * planned it re-plans it — the survivors' spec and parts, the healthy NPUs it leaves idle, and what
 * changed (for the report) — or why it cannot (recovery then restarts them instead).
 */
export type Replan = (failed: readonly number[], current: OpSpec) =>
  | { readonly spec: OpSpec; readonly parts?: RankParts; readonly idle: readonly number[]; readonly note: string }
  | { readonly refused: string };

/**
 * A control message the coordinator sends to one actor before an op's op-open and op-starts (a fault,
 * docs/chaos.md): queued ahead of them in the sim engine, published ahead of them over NATS.
 */
export interface ControlTo {
  readonly to: number;
  readonly msg: FaultMsg;
}

/** Where an engine's actors are in op ids and virtual time: runs on one engine continue from here. */
export interface EngineCursor {
  /** The next op id to use (actors refuse an op id they already ran). */
  nextOp: number;
  /** Virtual time at which the last op ended: the next op starts there (actors' clocks never go back). */
  clockNs: number;
}

export interface Engine extends AsyncDisposable {
  readonly name: string;
  readonly cursor: EngineCursor;
  /** OS processes hosting actors (1 for the sim engine). */
  readonly processes: number;
  /** `parts` gives each rank its own share of the op (moe-layer: its routing), sent with its op-start. */
  runOp(spec: OpSpec, startNs: SimNs, epoch: number, signal?: AbortSignal, parts?: RankParts, before?: readonly ControlTo[], replan?: Replan): Promise<OpOutcome>;
  /** Messages refused so far, per actor id (-1: the coordinator); actors that refused nothing may be absent. */
  rejections(): ReadonlyMap<number, RejectCounts>;
  /** Crash, hang and restart of actors; absent where the engine cannot (external placement). */
  readonly process?: ProcessControl;
}

import type { WireError } from "../errors/index.js";
import type { Gating, MoeShape } from "./moe-shape.js";
import type { TrainingPart, TrainingSpec } from "./training-spec.js";
import type { LinkId, NpuId, SimNs } from "../units/index.js";
import type { RejectCounts } from "./rejections.js";
import type { FaultMsg, HaltMode } from "./fault.js";

export const PROTOCOL_VERSION = 1;

/** Tags of data messages are below this (2^31): with the source rank (< 2^22) they key a transfer in one safe integer. */
export const TAG_LIMIT = 2_147_483_648;

/** An actor address: a device id of the topology, or the coordinator. */
export type ActorRef = number;
export const COORDINATOR: ActorRef = -1;

/** Fields every message carries. `epoch` fences a run (or, later, a recovery); `inc` is the sender's incarnation. */
export interface Header {
  readonly v: typeof PROTOCOL_VERSION;
  readonly from: ActorRef;
  readonly epoch: number;
  readonly inc: number;
}

/** The collectives an operation can run. */
export const Collective = {
  AllReduce: "all-reduce",
  ReduceScatter: "reduce-scatter",
  AllGather: "all-gather",
  AllToAll: "all-to-all",
  AllToAllV: "all-to-all-v",
  Broadcast: "broadcast",
  /** One MoE layer: token dispatch to experts, expert compute, combine back (spec.moe says how). */
  MoeLayer: "moe-layer",
  /** One training step of a model over the whole plan (spec.training says how). */
  TrainingStep: "training-step",
} as const;
export type Collective = (typeof Collective)[keyof typeof Collective];

export const Algorithm = {
  Ring: "ring",
  Hierarchical: "hierarchical",
  /** Hierarchical, with a halving-doubling inter-node phase. */
  HierarchicalHd: "hierarchical-hd",
  Direct: "direct",
  HalvingDoubling: "halving-doubling",
  Pipeline: "pipeline",
} as const;
export type Algorithm = (typeof Algorithm)[keyof typeof Algorithm];

/** All-reduce algorithms over node tiers: they need every node of the group equally filled. */
export const isTiered = (a: Algorithm): boolean => a === Algorithm.Hierarchical || a === Algorithm.HierarchicalHd;

/** What every rank of a communicator needs to run one collective. Small: sizes and seeds, never data. */
export interface OpSpec {
  readonly op: number;
  readonly collective: Collective;
  readonly algorithm: Algorithm;
  /** NCCL-tests `size`: total bytes of the buffer being reduced/gathered/exchanged per rank. */
  readonly sizeBytes: number;
  /** Modelled bytes per element (2 for bf16): sets reduction flops. */
  readonly elementBytes: number;
  /** The communicator: endpoint ids in rank order. */
  readonly group: readonly NpuId[];
  /** Ranks of `group` per node, for hierarchical algorithms. */
  readonly nodeGroups: readonly (readonly number[])[];
  /** Real elements per rank, and seed of the real data. */
  readonly realElements: number;
  readonly seed: number;
  readonly root: number;
  /** Pipelined broadcast: bytes per chunk. */
  readonly chunkBytes: number;
  /** moe-layer only: the layer (the group is the EP ranks, `shape.ep` of them). */
  readonly moe?: MoeLayerSpec;
  /** training-step only: the step (the group is the dp × tp ranks). */
  readonly training?: TrainingSpec;
}

/**
 * One MoE layer. The coordinator plans it from the shape, the gating and the seed (spec.seed); ranks
 * get their routing in their op-start `part`, so the gating (which may hold every token's fixed
 * assignments) stays with the coordinator and is left out of what goes on the wire.
 */
export interface MoeLayerSpec {
  readonly shape: MoeShape;
  readonly gating?: Gating;
  /** Token copies per message to one peer (default 8, shared/moe/program.ts). */
  readonly chunkTokens?: number;
}

/** One stripe of a transfer, on its way through the fabric. */
export interface StripePart {
  readonly stripe: number;
  /** Modelled bytes of this stripe. */
  readonly bytes: number;
  /** Head and tail as seen at the input of the receiving device. */
  readonly headNs: SimNs;
  readonly tailNs: SimNs;
  readonly path: readonly LinkId[];
  /** Index in `path` of the link that brought this stripe to its receiver. */
  readonly hop: number;
  readonly payload: Float64Array;
  /** CRC-32 of the payload bytes, checked by the destination endpoint. */
  readonly crc: number;
}

/**
 * Stripes of one transfer that travel to the same next device at the same step, in one message
 * (VIRTUAL-TIME.md trap 6: fewer messages, same virtual times — each part keeps its own path and times).
 */
export interface DataMsg extends Header {
  readonly type: "data";
  readonly op: number;
  readonly src: NpuId;
  readonly dst: NpuId;
  /** Algorithm-defined step tag (< TAG_LIMIT); with (epoch, op, src, dst) it names the transfer. */
  readonly tag: number;
  /** Stripes in the whole transfer, and its modelled bytes. */
  readonly stripes: number;
  readonly totalBytes: number;
  /** Virtual time the source issued the transfer. */
  readonly sentNs: SimNs;
  readonly parts: readonly StripePart[];
}

/**
 * moe-layer: what one EP rank knows of the layer's routing — its own tokens' choices (its gate runs
 * locally), where its accepted copies go, and how many copies each peer sends it (the count exchange
 * real stacks run first). The coordinator plans the layer once and gives each rank its part.
 */
export interface MoeRankPart {
  /** Accepted copies of this rank's tokens, flat (dst rank, token, k, expert) in (token, k) order. */
  readonly sends: readonly number[];
  /** recvCounts[src]: copies rank src sends to this rank (src = this rank: copies kept local). */
  readonly recvCounts: readonly number[];
  /** This rank's tokens' k-th experts and gate weight units, flat in (token, k) order. */
  readonly experts: readonly number[];
  readonly weightUnits: readonly number[];
  readonly weightDenominator: number;
  /** Experts this rank holds (home and replica copies), ascending. */
  readonly held: readonly number[];
  /**
   * Hierarchical dispatch only (shared/moe/hier-routes.ts), by sending rank: tokens remote sources
   * send it as their receiver on this node, copies same-node receivers scatter to it. `recvCounts`
   * then holds only the copies same-node sources send it directly.
   */
  readonly cross?: readonly number[];
  readonly scatter?: readonly number[];
}

/** Coordinator → endpoint: run a collective, starting at a virtual time. */
export interface OpStartMsg extends Header {
  readonly type: "op-start";
  readonly spec: OpSpec;
  readonly startNs: SimNs;
  /** moe-layer: this rank's part of the layer's routing; training-step: its parameters. */
  readonly part?: MoeRankPart | TrainingPart;
}

/** Coordinator → endpoint: drop all state of an operation (it will be retried under a new op id). */
export interface OpAbortMsg extends Header {
  readonly type: "op-abort";
  readonly op: number;
  readonly reason: string;
}

/**
 * Coordinator → switch: an op begins. Switches charge port time only for stripes of open ops (of the
 * op's epoch); stripes of ops not yet open wait in a bounded buffer, and stripes of ops that closed are
 * stale. Sent to every switch before the op's op-starts.
 */
export interface OpOpenMsg extends Header {
  readonly type: "op-open";
  readonly op: number;
}

/** Coordinator → switch: an op ended (finished or aborted); its duplicate-detection window is released. */
export interface OpCloseMsg extends Header {
  readonly type: "op-close";
  readonly op: number;
}

/** Endpoint → coordinator: a rank finished (or failed) its part of an operation. */
export interface OpDoneMsg extends Header {
  readonly type: "op-done";
  readonly op: number;
  readonly rank: number;
  readonly startNs: SimNs;
  readonly endNs: SimNs;
  readonly result: Float64Array;
  readonly sentMessages: number;
  readonly error?: WireError;
  /** Virtual times the program marked (moe-layer: dispatch received, experts computed). */
  readonly marks?: readonly number[];
  /** Counts the program tallied (moe-layer: see MoeTally in shared/moe/program.ts). */
  readonly tally?: readonly number[];
}

/** Actor → coordinator, every heartbeat interval (the first one registers the actor). */
export interface HeartbeatMsg extends Header {
  readonly type: "heartbeat";
  readonly pid: number;
  readonly host: string;
  /** Lifecycle phase of the actor (init, running, draining, stopped, failed). */
  readonly phase: string;
  /** Messages this actor has handled, and rejected (undecodable, invalid, misaddressed). */
  readonly handled: number;
  readonly rejected: number;
  /** Hash of the topology the actor built (topologyHash): the coordinator refuses actors built from another. */
  readonly topology: string;
}

/** Coordinator → actor: report what you are waiting for. */
export interface StatusRequestMsg extends Header {
  readonly type: "status-req";
  readonly op: number;
}

/** One thing an endpoint waits for: the transfer (fromRank, tag) of an op, with the stripes it has. */
export interface WaitFor {
  readonly op: number;
  readonly rank: number;
  readonly fromRank: number;
  readonly fromActor: number;
  readonly tag: number;
}

/** Actor → coordinator: the answer to a status request. */
export interface StatusMsg extends Header {
  readonly type: "status";
  readonly op: number;
  readonly waits: readonly WaitFor[];
  /** Transfers with some but not all stripes in. */
  readonly partialTransfers: number;
  /** Data messages this actor has handled since it started (a message may carry several stripes). */
  readonly dataHandled: number;
  /** Messages this actor refused since it started, by reason (at its edge and in its logic). */
  readonly rejected: RejectCounts;
}

/**
 * NPU → coordinator, its last words: a halt fault (fault.ts) struck it at `atNs` of op `op`, and its
 * engine is about to kill or stop its process. For the report's accounting only (when it was
 * injected): the coordinator detects the failure as it detects any other, by host exit or silence.
 */
export interface HaltedMsg extends Header {
  readonly type: "halted";
  readonly op: number;
  readonly fault: number;
  readonly mode: HaltMode;
  readonly atNs: SimNs;
}

/**
 * Coordinator → actor, only with `deployment.timing: exact` (docs/nats-engine.md §9.1): handle the data
 * messages you hold whose virtual handling time is before `untilNs`, in virtual order, then report.
 * The coordinator sets `untilNs` to the earliest held time anywhere plus half the fabric's smallest
 * link latency, so nothing handled in a window can cause another event inside it.
 */
export interface WindowMsg extends Header {
  readonly type: "window";
  readonly op: number;
  readonly window: number;
  readonly untilNs: SimNs;
}

/**
 * Actor → coordinator, the answer to a window (sent again if data arrives after it): data messages
 * this actor has sent and received since it started, and the virtual time of the earliest it holds
 * (absent: none). When every actor has answered a window and the sums of sent and received agree, no
 * data is in flight, and the next window can start.
 */
export interface WindowReportMsg extends Header {
  readonly type: "window-report";
  readonly op: number;
  readonly window: number;
  readonly sent: number;
  readonly received: number;
  readonly nextNs?: SimNs;
}

/** The one union of everything actors say to each other. */
export type Message = DataMsg | OpStartMsg | OpAbortMsg | OpOpenMsg | OpCloseMsg | OpDoneMsg | HeartbeatMsg | StatusRequestMsg | StatusMsg | FaultMsg | HaltedMsg | WindowMsg | WindowReportMsg;
export type MessageType = Message["type"];
export const MESSAGE_TYPES: readonly MessageType[] = ["data", "op-start", "op-abort", "op-open", "op-close", "op-done", "heartbeat", "status-req", "status", "fault", "halted", "window", "window-report"];

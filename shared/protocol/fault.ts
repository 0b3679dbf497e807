import type { Header } from "./messages.js";

/**
 * The fault kinds an actor applies (docs/chaos.md). Process faults (npu-crash, npu-hang) are the
 * engine's, never sent; the rest of the catalogue (partition, nats-server-loss, random) is
 * refused when a scenario loads; none of it ever reaches the wire.
 */
export const FaultKind = {
  /** A link serves at bandwidth × `bandwidthFactor` and adds `latencyNs` (its owner's egress port). */
  LinkDegrade: "link-degrade",
  /** A link carries nothing: routes use only the stripes that avoid it. */
  LinkDown: "link-down",
  /** A switch chip forwards nothing: routes use only the stripes that avoid it. */
  SwitchCrash: "switch-crash",
  /** An NPU's compute and reductions take `factor` × their roofline time. */
  Straggler: "straggler",
  /** A link is down `duty` of every `periodNs`: transfers sent while it is down route around it. */
  LinkFlap: "link-flap",
  /** A device sends `pct`% of its outgoing data messages twice (the receivers refuse the copy). */
  MessageDuplicate: "message-duplicate",
  /** A device sends `pct`% of its outgoing data messages after its next one (wire order only). */
  MessageReorder: "message-reorder",
  /** The `targets` (device ids) and everyone else cannot reach each other: data across the cut is dropped where it arrives. */
  Partition: "partition",
  /**
   * An NPU stops itself in the middle of op `fromOp` (a mid-step npu-crash or npu-hang, docs/chaos.md
   * §3): at its program's first command at or after `afterNs` past the op's start, or as its program
   * opens the first span whose name contains `phase`. It tells the coordinator when (`halted`), then
   * its engine kills (`mode` crash: SIGKILL) or stops (hang: SIGSTOP) its process.
   */
  Halt: "halt",
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];
export const FAULT_KINDS: readonly FaultKind[] = Object.values(FaultKind);

/** Kinds that change routes: every actor must filter routes the same way, so they go to every actor. */
export const isRouteFault = (k: string): boolean => k === FaultKind.LinkDown || k === FaultKind.SwitchCrash;

/**
 * Kinds every actor must hold: route faults, and link-flap (its down windows change routes, by each
 * transfer's `sentNs`), which every endpoint and switch must filter the same way. A link-flap is not a
 * route fault for the load-time check: a pair it cuts waits for the link to come up (docs/chaos.md).
 */
export const isEveryActorFault = (k: string): boolean => isRouteFault(k) || k === FaultKind.LinkFlap || k === FaultKind.Partition;

/**
 * Coordinator → actor (channel `c`): from op `fromOp` on, and before `untilOp` (absent: to the end of
 * the run), apply a fault. Sent before the op-open and op-starts of `fromOp`; the actor keys it by op
 * id, so which ops it changes never depends on when (in wall time) it arrived. `targets` are link ids
 * (link-degrade, link-down, link-flap: every parallel lane of the declared from→to) or device ids
 * (switch-crash: switches; straggler: endpoints; message-*: the device itself). link-degrade goes to
 * the links' owners (and, with `corruptPct`, to the switches they end at, which then check CRCs),
 * straggler and message-* to their device, link-down, switch-crash and link-flap to every actor.
 */
export interface FaultMsg extends Header {
  readonly type: "fault";
  /** Index of the fault in the scenario's `faults:` list (and in report.json `faults[]`). */
  readonly fault: number;
  readonly kind: FaultKind;
  readonly targets: readonly number[];
  readonly fromOp: number;
  readonly untilOp?: number;
  /** link-degrade: in (0, 1], and ns added to the link's latency (on the 1/1024 ns grid). */
  readonly bandwidthFactor?: number;
  readonly latencyNs?: number;
  /** straggler: ≥ 1. */
  readonly factor?: number;
  /**
   * link-degrade, optional: % of stripes whose first copy the link drops / corrupts (the egress port
   * then sends it again, `retryNs` later; absent: 2 × link latency + switch latency). Sum ≤ 100.
   */
  readonly lossPct?: number;
  readonly corruptPct?: number;
  readonly retryNs?: number;
  /** link-flap: down during [originNs + phaseNs + k·periodNs, … + duty·periodNs) for k ≥ 0. */
  readonly periodNs?: number;
  readonly duty?: number;
  readonly phaseNs?: number;
  /** link-flap: the virtual start of op `fromOp`, from which the flap's periods count. */
  readonly originNs?: number;
  /** message-duplicate, message-reorder: % of outgoing data messages selected, in (0, 100]. */
  readonly pct?: number;
  /** Seed of the deterministic draws (message-*, link-degrade loss and corruption). */
  readonly seed?: number;
  /** halt: what becomes of the NPU's process, and its trigger (exactly one of afterNs and phase). */
  readonly mode?: HaltMode;
  readonly afterNs?: number;
  readonly phase?: string;
}

/** What a halting NPU's engine does to its process: kill it (SIGKILL) or stop it (SIGSTOP). */
export type HaltMode = "crash" | "hang";
export const HALT_MODES: readonly HaltMode[] = ["crash", "hang"];

/** Bounds of a fault message (the guard enforces them; the scenario checks the same). */
export const FAULT_LIMITS = {
  /** Link or device ids per message. */
  targets: 4096,
  /** Fault index. */
  faults: 4096,
  /** Added latency of a degraded link, ns (1 s). */
  latencyNs: 1e9,
  /** Straggler factor. */
  factor: 1000,
  /** Link-flap period, ns (1000 s). */
  periodNs: 1e12,
  /** Link-level retry latency, ns (1 s). */
  retryNs: 1e9,
  /** Seeds: 32-bit unsigned. */
  seed: 2 ** 32 - 1,
  /** A halt's trigger: ns after its op's start (an hour), and characters of its phase text. */
  afterNs: 3.6e12,
  phaseChars: 64,
} as const;

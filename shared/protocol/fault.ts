import type { Header } from "./messages.js";

/**
 * The fault kinds an actor applies (docs/chaos.md). The rest of the catalogue (npu-crash,
 * npu-hang, link-flap, partition, nats-server-loss, message-duplicate, message-reorder, random) is
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
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];
export const FAULT_KINDS: readonly FaultKind[] = Object.values(FaultKind);

/** Kinds that change routes: every actor must filter routes the same way, so they go to every actor. */
export const isRouteFault = (k: FaultKind): boolean => k === FaultKind.LinkDown || k === FaultKind.SwitchCrash;

/**
 * Coordinator → actor (channel `c`): from op `fromOp` on, and before `untilOp` (absent: to the end of
 * the run), apply a fault. Sent before the op-open and op-starts of `fromOp`; the actor keys it by op
 * id, so which ops it changes never depends on when (in wall time) it arrived. `targets` are link ids
 * (link-degrade, link-down: every parallel lane of the declared from→to) or device ids (switch-crash:
 * switches; straggler: endpoints). link-degrade goes to the links' owners, straggler to its NPU,
 * link-down and switch-crash to every actor.
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
}

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
} as const;

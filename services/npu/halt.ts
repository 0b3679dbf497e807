import type { Command } from "../../shared/collectives/index.js";
import { RejectReason, type FaultMsg, type HaltMode } from "../../shared/protocol/index.js";
import type { ActorContext } from "../../shared/runtime/index.js";

/** A halt fault as an endpoint keeps it until its op starts (docs/chaos.md §3). */
export interface HaltArm {
  readonly fault: number;
  readonly mode: HaltMode;
  readonly fromOp: number;
  readonly untilOp: number | undefined;
  readonly afterNs: number | undefined;
  readonly phase: string | undefined;
}

/** A halt armed in a running op: its trigger made absolute at the op's start (Infinity: by phase only). */
export interface ArmedHalt {
  readonly fault: number;
  readonly mode: HaltMode;
  readonly atNs: number;
  readonly phase: string | undefined;
}

/** Halts one endpoint may hold at once (a scenario arms one per fault; more is a flood). */
const MAX_HALTS = 64;

/** Takes a halt for a later op of this endpoint, or refuses and counts it (another device's, late, again, too many). */
export function takeHalt(halts: HaltArm[], m: FaultMsg, ctx: ActorContext, highestOp: number): void {
  const refuse = (reason: RejectReason, why: string) => ctx.reject(reason, m.from, { fault: m.fault, kind: m.kind }, `fault refused: ${why}`);
  if (m.targets.length !== 1 || m.targets[0] !== ctx.self) return refuse(RejectReason.Forged, "halt aimed at another device");
  if (halts.some((h) => h.fault === m.fault && h.fromOp === m.fromOp)) return refuse(RejectReason.Duplicate, `fault ${m.fault} from op ${m.fromOp} already taken`);
  if (m.fromOp <= highestOp) return refuse(RejectReason.Stale, `fault ${m.fault} from op ${m.fromOp}, but op ${highestOp} already started here`);
  if (halts.length >= MAX_HALTS) return refuse(RejectReason.Overflow, `more than ${MAX_HALTS} halts`);
  halts.push({ fault: m.fault, mode: m.mode ?? "crash", fromOp: m.fromOp, untilOp: m.untilOp, afterNs: m.afterNs, phase: m.phase });
}

/** The halt that applies to op `op` starting at `startNs`, if any. */
export function armFor(halts: readonly HaltArm[], op: number, startNs: number): ArmedHalt | undefined {
  const h = halts.find((x) => x.fromOp <= op && (x.untilOp === undefined || op < x.untilOp));
  return h && { fault: h.fault, mode: h.mode, atNs: h.afterNs !== undefined ? startNs + h.afterNs : Infinity, phase: h.phase };
}

/** Whether the halt strikes before `cmd`, the next command of a stream whose clock reads `nowNs`. */
export function strikes(h: ArmedHalt, nowNs: number, cmd: Command): boolean {
  return nowNs >= h.atNs || (h.phase !== undefined && cmd.kind === "span" && cmd.name.includes(h.phase));
}

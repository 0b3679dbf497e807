import { ProcessFaultKind, type PlannedFault } from "../../shared/config/index.js";
import { COORDINATOR, FaultKind, PROTOCOL_VERSION, type OpSpec } from "../../shared/protocol/index.js";
import type { ControlTo, OpOutcome, ProcessControl } from "../../shared/runtime/index.js";

/**
 * A mid-op crash or hang (at: { …, afterNs | phase }, or { virtualNs }: that far into an op that
 * starts at `startNs`) as the halt the NPU applies to itself in op `op`'s first attempt.
 */
export function haltOf(f: PlannedFault, op: number, epoch: number, startNs: number): ControlTo {
  const given = f.decl.at as { afterNs?: number; phase?: string; virtualNs?: number };
  const at = given.virtualNs !== undefined ? { afterNs: Math.max(0, given.virtualNs - startNs) } : given;
  const actor = f.targets[0]!;
  return {
    to: actor,
    msg: {
      v: PROTOCOL_VERSION, type: "fault", from: COORDINATOR, epoch, inc: 0, fault: f.index, kind: FaultKind.Halt, targets: [actor], fromOp: op, untilOp: op + 1,
      mode: f.decl.kind === ProcessFaultKind.NpuHang ? "hang" : "crash", ...(at.afterNs !== undefined ? { afterNs: at.afterNs } : { phase: at.phase! }),
    },
  };
}

/** Does a crash, hang or server loss to its target now (the engine's process layer). */
export function strike(proc: ProcessControl, f: PlannedFault): Promise<void> {
  const target = f.targets[0]!;
  if (f.decl.kind === ProcessFaultKind.NatsServerLoss) return proc.killServer!(target);
  return f.decl.kind === ProcessFaultKind.NpuCrash ? proc.crash(target) : proc.hang(target);
}

/** Why an attempt failed, and whether trying again can help; undefined when it succeeded. */
export function failureOf(out: OpOutcome, spec: OpSpec): { reason: string; retry: boolean } | undefined {
  if (out.stalled) return { reason: out.stalled, retry: true };
  const err = out.done.find((d) => d.error);
  if (err) return { reason: `rank ${err.rank}: ${err.error!.message}`, retry: false }; // the same inputs fail the same way
  if (out.failedActors.length) return { reason: `actor logic failed: ${out.failedActors.join(", ")}`, retry: true };
  if (out.done.length < spec.group.length) return { reason: `${spec.group.length - out.done.length} of ${spec.group.length} ranks did not report`, retry: true };
  return undefined;
}

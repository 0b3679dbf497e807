import { FAULT_KINDS, FAULT_LIMITS, FaultKind } from "./fault.js";
import { array, int, oneOf, real, reject, time, type Fields } from "./guard-fields.js";

const MAX_OP = Number.MAX_SAFE_INTEGER;

/**
 * A fault message (shared/protocol fault.ts): its kind, targets and bounds, and only the parameters
 * of its kind. The actor checks the targets against its topology (ids in range, owned by it).
 */
export function checkFault(m: Fields): void {
  const kind = oneOf(m.kind, FAULT_KINDS, "fault.kind");
  int(m.fault, "fault.fault", 0, FAULT_LIMITS.faults - 1);
  const targets = array(m.targets, "fault.targets", 1, FAULT_LIMITS.targets);
  for (let i = 0; i < targets.length; i++) int(targets[i], `fault.targets[${i}]`);
  const from = int(m.fromOp, "fault.fromOp", 0, MAX_OP);
  if (m.untilOp !== undefined) int(m.untilOp, "fault.untilOp", from + 1, MAX_OP);
  const only = (keys: readonly string[]) => {
    for (const k of ["bandwidthFactor", "latencyNs", "factor"]) {
      if (!keys.includes(k) && m[k] !== undefined) reject(`fault.${k}`, `nothing for a ${kind}`, m[k]);
    }
  };
  switch (kind) {
    case FaultKind.LinkDegrade:
      only(["bandwidthFactor", "latencyNs"]);
      real(m.bandwidthFactor, "fault.bandwidthFactor", 0, 1);
      time(m.latencyNs, "fault.latencyNs");
      if ((m.latencyNs as number) > FAULT_LIMITS.latencyNs) reject("fault.latencyNs", `≤ ${FAULT_LIMITS.latencyNs}`, m.latencyNs);
      break;
    case FaultKind.Straggler:
      only(["factor"]);
      if (typeof m.factor !== "number" || !(m.factor >= 1 && m.factor <= FAULT_LIMITS.factor)) reject("fault.factor", `a number in [1, ${FAULT_LIMITS.factor}]`, m.factor);
      break;
    case FaultKind.LinkDown:
    case FaultKind.SwitchCrash:
      only([]);
      break;
    default: {
      const never: never = kind;
      reject("fault.kind", "a fault kind", never);
    }
  }
}

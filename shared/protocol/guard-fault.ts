import { FAULT_KINDS, FAULT_LIMITS, FaultKind, HALT_MODES } from "./fault.js";
import { array, int, oneOf, real, reject, text, time, type Fields } from "./guard-fields.js";

const MAX_OP = Number.MAX_SAFE_INTEGER;

/** Every kind's parameter keys: a key of another kind is malformed. */
const PARAMS = ["bandwidthFactor", "latencyNs", "factor", "lossPct", "corruptPct", "retryNs", "periodNs", "duty", "phaseNs", "originNs", "pct", "seed", "mode", "afterNs", "phase"] as const;

/** A percentage in [0, 100]. */
function pct0(x: unknown, field: string): number {
  if (typeof x !== "number" || !Number.isFinite(x) || x < 0 || x > 100) reject(field, "a number in [0, 100]", x);
  return x;
}

const seedOf = (x: unknown) => int(x, "fault.seed", 0, FAULT_LIMITS.seed);

/** link-degrade: bandwidth and latency (required), loss and corruption with their retry (optional). */
function checkDegrade(m: Fields): void {
  real(m.bandwidthFactor, "fault.bandwidthFactor", 0, 1);
  time(m.latencyNs, "fault.latencyNs");
  if ((m.latencyNs as number) > FAULT_LIMITS.latencyNs) reject("fault.latencyNs", `≤ ${FAULT_LIMITS.latencyNs}`, m.latencyNs);
  const loss = m.lossPct === undefined ? 0 : pct0(m.lossPct, "fault.lossPct");
  const corrupt = m.corruptPct === undefined ? 0 : pct0(m.corruptPct, "fault.corruptPct");
  if (loss + corrupt > 100) reject("fault.corruptPct", `at most 100 − lossPct = ${100 - loss}`, m.corruptPct);
  if (m.retryNs !== undefined && time(m.retryNs, "fault.retryNs") > FAULT_LIMITS.retryNs) reject("fault.retryNs", `≤ ${FAULT_LIMITS.retryNs}`, m.retryNs);
  if (m.lossPct !== undefined || m.corruptPct !== undefined) seedOf(m.seed);
  else if (m.seed !== undefined || m.retryNs !== undefined) reject(m.seed !== undefined ? "fault.seed" : "fault.retryNs", "nothing without lossPct or corruptPct", m.seed ?? m.retryNs);
}

/** link-flap: its period, the fraction of it the link is down, its phase, and the time periods count from. */
function checkFlap(m: Fields): void {
  real(m.periodNs, "fault.periodNs", 0, FAULT_LIMITS.periodNs);
  if (typeof m.duty !== "number" || !(m.duty > 0 && m.duty < 1)) reject("fault.duty", "a number in (0, 1)", m.duty);
  if (time(m.phaseNs, "fault.phaseNs") > FAULT_LIMITS.periodNs) reject("fault.phaseNs", `≤ ${FAULT_LIMITS.periodNs}`, m.phaseNs);
  time(m.originNs, "fault.originNs");
}

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
    for (const k of PARAMS) {
      if (!keys.includes(k) && m[k] !== undefined) reject(`fault.${k}`, `nothing for a ${kind}`, m[k]);
    }
  };
  switch (kind) {
    case FaultKind.LinkDegrade:
      only(["bandwidthFactor", "latencyNs", "lossPct", "corruptPct", "retryNs", "seed"]);
      checkDegrade(m);
      break;
    case FaultKind.Straggler:
      only(["factor"]);
      if (typeof m.factor !== "number" || !(m.factor >= 1 && m.factor <= FAULT_LIMITS.factor)) reject("fault.factor", `a number in [1, ${FAULT_LIMITS.factor}]`, m.factor);
      break;
    case FaultKind.LinkFlap:
      only(["periodNs", "duty", "phaseNs", "originNs"]);
      checkFlap(m);
      break;
    case FaultKind.MessageDuplicate:
    case FaultKind.MessageReorder:
      only(["pct", "seed"]);
      real(m.pct, "fault.pct", 0, 100);
      seedOf(m.seed);
      break;
    case FaultKind.LinkDown:
    case FaultKind.SwitchCrash:
    case FaultKind.Partition:
      only([]);
      break;
    case FaultKind.Halt:
      only(["mode", "afterNs", "phase"]);
      oneOf(m.mode, HALT_MODES, "fault.mode");
      if (targets.length !== 1) reject("fault.targets", "one NPU for a halt", targets);
      if ((m.afterNs === undefined) === (m.phase === undefined)) reject("fault.afterNs", "exactly one of afterNs and phase for a halt", m.afterNs);
      if (m.afterNs !== undefined && time(m.afterNs, "fault.afterNs") > FAULT_LIMITS.afterNs) reject("fault.afterNs", `≤ ${FAULT_LIMITS.afterNs}`, m.afterNs);
      if (m.phase !== undefined && text(m.phase, "fault.phase", FAULT_LIMITS.phaseChars).length === 0) reject("fault.phase", "a non-empty text", m.phase);
      break;
    default: {
      const never: never = kind;
      reject("fault.kind", "a fault kind", never);
    }
  }
}

import { drawPct, type FaultTable, type FaultTally, type MessagePick } from "../../shared/faults/index.js";
import type { DataMsg } from "../../shared/protocol/index.js";
import type { Outbound } from "../../shared/runtime/index.js";

/** Whether any of a device's message faults picks this data message (a seeded draw over what names it and where). */
function picked(picks: readonly MessagePick[], m: DataMsg): boolean {
  const p = m.parts[0]!;
  for (const f of picks) {
    const u = drawPct({ fault: f.fault, seed: f.seed, epoch: m.epoch, op: m.op, src: m.src, dst: m.dst, tag: m.tag, stripe: p.stripe, where: p.hop });
    if (u < f.pct) return true;
  }
  return false;
}

/** A data message with parts of its own (payloads are never written to, so they are shared). */
function copyOf(m: DataMsg): DataMsg {
  return { ...m, parts: m.parts.map((p) => ({ ...p })) };
}

/**
 * message-duplicate and message-reorder on a step's outgoing messages (docs/chaos.md §2): a picked
 * duplicate goes out twice, the copy right after the original (same times, same bytes; a copy of
 * its own, since a switch moves a message it received on in place); a picked reorder is held back and goes out right after the step's next data message, or at
 * the end of the step when none follows. Only the order of the outbound list changes — for the NATS
 * engine, the publish order; for the sim engine, the order of events at equal virtual times. The
 * messages' own times are untouched. Returns `out` itself when nothing is picked.
 */
export function applyWireFaults(faults: FaultTable, out: Outbound[], tally: FaultTally): Outbound[] {
  let res: Outbound[] | undefined;
  let held: Outbound[] | undefined;
  for (let i = 0; i < out.length; i++) {
    const o = out[i]!;
    const w = o.msg.type === "data" ? faults.at(o.msg.op)?.wire : undefined;
    if (w === undefined && held === undefined) { res?.push(o); continue; }
    res ??= out.slice(0, i);
    if (o.msg.type !== "data") { res.push(o); continue; }
    const m = o.msg;
    const unit = w && w.duplicate.length && picked(w.duplicate, m) ? [o, { to: o.to, atNs: o.atNs, msg: copyOf(m) }] : [o];
    if (unit.length === 2) { tally.duplicated++; tally.duplicatedStripes += m.parts.length; }
    if (held) { res.push(...unit, ...held); held = undefined; continue; }
    if (w && w.reorder.length && picked(w.reorder, m)) { held = unit; tally.reordered++; continue; }
    res.push(...unit);
  }
  if (held) res!.push(...held);
  return res ?? out;
}

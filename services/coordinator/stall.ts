import type { StatusMsg } from "../../shared/protocol/index.js";
import type { Topology } from "../../shared/topology/index.js";
import type { ActorRecord } from "./registry.js";

/** Wait-for entries printed in a stall report before "… and N more". */
export const MAX_WAITS_SHOWN = 12;

/**
 * The watchdog's verdict in one paragraph: which actors are dead, and who waits on which transfer
 * from whom — the wait-for list a user needs to see where a collective hung.
 */
export function describeStall(t: Topology, reason: string, dead: readonly ActorRecord[], statuses: readonly StatusMsg[], nowMs: number): string {
  const name = (id: number) => t.devices[id]?.name ?? `actor ${id}`;
  const parts = [reason];
  if (dead.length) {
    parts.push(`dead: ${dead.map((d) => `${name(d.id)} (pid ${d.pid}, ${d.phase === "failed" ? "failed" : `last heartbeat ${((nowMs - d.lastSeenMs) / 1000).toFixed(1)} s ago`})`).join(", ")}`);
  }
  const waits = statuses.flatMap((s) => s.waits.map((w) => `${name(s.from)} (rank ${w.rank}) waits for op ${w.op} phase ${Math.floor(w.tag / 65_536)} step ${w.tag % 65_536} from ${name(w.fromActor)} (rank ${w.fromRank})`));
  if (waits.length) {
    const more = waits.length > MAX_WAITS_SHOWN ? `; … and ${waits.length - MAX_WAITS_SHOWN} more` : "";
    parts.push(`waiting: ${waits.slice(0, MAX_WAITS_SHOWN).join("; ")}${more}`);
  }
  return parts.join(" · ");
}

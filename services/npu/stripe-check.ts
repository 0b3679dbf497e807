import type { DataMsg, StripePart } from "../../shared/protocol/index.js";
import type { FaultTable } from "../../shared/faults/index.js";
import type { Path, Topology } from "../../shared/topology/index.js";

function samePath(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The stripe paths a data message's transfer may use, or why none: its source and destination must
 * be two endpoints and its stripe count its route's — around the dead links and switches of `faults`
 * for the message's op (and the links a link-flap had down at its `sentNs`), as every actor holding
 * them filters it. Checked once per message; each
 * stripe then with {@link stripeFault}.
 */
export function routeOf(t: Topology, m: DataMsg, faults?: FaultTable): readonly Path[] | string {
  // isSwitch is undefined for an id that is not a device (out of range, not an integer): refused too.
  if (t.isSwitch[m.src] !== 0 || t.isSwitch[m.dst] !== 0 || m.src === m.dst) {
    return "source or destination is not another endpoint";
  }
  // Faults: the same filtered route as the sender's (link-flaps: by the transfer's send time, the same in every copy).
  const route = (faults?.at(m.op)?.route(m.src, m.dst, m.sentNs) ?? t.route(m.src, m.dst)).stripes;
  return m.stripes === route.length ? route : `claims ${m.stripes} stripes, the route has ${route.length}`;
}

/**
 * Why a stripe cannot be what it claims on arriving at device `self`, or undefined. Its path must be
 * its transfer's route for that stripe, reach `self` at the stated hop, and come from the message's
 * sender — so a sender can speak only as itself, on the path the topology gives (a stripe claiming
 * another source, or a shortcut through the fabric, is forged). `atEnd`: `self` is the destination.
 */
export function stripeFault(t: Topology, route: readonly Path[], m: DataMsg, p: StripePart, self: number, atEnd: boolean): string | undefined {
  if (!samePath(route[p.stripe]!, p.path)) return "path is not its route's stripe";
  const inLink = p.path[p.hop]!;
  if (t.linkTo[inLink] !== self) return "path does not reach this device at this hop";
  if (t.linkFrom[inLink] !== m.from) return "the sender is not the device before this one on the path";
  if (atEnd !== (p.hop === p.path.length - 1)) return atEnd ? "path does not end at this endpoint" : "path ends at a switch";
  return undefined;
}

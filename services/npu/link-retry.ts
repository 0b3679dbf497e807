import { drawPct, type DrawKey, type FaultTally, type LinkLoss } from "../../shared/faults/index.js";
import { traverse, type HopTimes, type Port } from "../../shared/linkmodel/index.js";
import type { StripePart } from "../../shared/protocol/index.js";
import { DeviceKind, type Link, type Topology } from "../../shared/topology/index.js";

/** What names a stripe's draw on a link: its transfer and its index (the link is the draw's `where`). */
export type StripeKey = Omit<DrawKey, "fault" | "seed" | "where">;

/**
 * The default link-level retry latency (UB / PCIe data-link replay): the bad copy's tail crosses the
 * link (1 × latency), the receiver's link layer finds the CRC bad or the sequence number missing and
 * its NAK crosses back (1 × latency), and the sender's replay logic turns around in about one switch
 * pipeline (the switch latency of the switch at either end: every link here has one). So the replay
 * starts 2 × latency + switch latency after the bad copy left the port; the good copy then pays the
 * link's latency again in `traverse`, like any copy.
 */
export function defaultRetryNs(t: Topology, link: Link): number {
  const to = t.devices[link.to]!, from = t.devices[link.from]!;
  const sw = to.kind === DeviceKind.Switch ? to.switchLatencyNs : from.kind === DeviceKind.Switch ? from.switchLatencyNs : 0;
  return 2 * link.latencyNs + sw;
}

/** A stripe's first copy on a lossy link: dropped, corrupted, or good. One draw per stripe, link and fault, in fault order. */
function badCopy(losses: readonly LinkLoss[], k: StripeKey, linkId: number): { loss: LinkLoss; corrupt: boolean } | undefined {
  for (const loss of losses) {
    const u = drawPct({ fault: loss.fault, seed: loss.seed, epoch: k.epoch, op: k.op, src: k.src, dst: k.dst, tag: k.tag, stripe: k.stripe, where: linkId });
    if (u < loss.lossPct) return { loss, corrupt: false };
    if (u < loss.lossPct + loss.corruptPct) return { loss, corrupt: true };
  }
  return undefined;
}

/** The times of the good copy, and those of the corrupted first copy when there is one (it is really sent). */
export interface RetriedHop {
  readonly hop: HopTimes;
  readonly corrupt: HopTimes | undefined;
}

/**
 * One stripe through an egress port whose link drops or corrupts (link-degrade lossPct / corruptPct):
 * a stripe drawn bad takes the port for its serialization time — the copy is lost, or goes on
 * corrupted — and the good copy is ready `retryNs` after that copy's tail left the port, and queues
 * for the port again. One retry per stripe and link: the replay is good (see docs/chaos.md §2 for
 * why). With retryNs R and serialization s, an uncontended stripe so leaves s + R later than it would.
 */
export function retryHop(t: Topology, port: Port, link: Link, losses: readonly LinkLoss[], k: StripeKey, bytes: number, readyNs: number, tailInNs: number, tally: FaultTally): RetriedHop {
  const bad = badCopy(losses, k, link.id);
  if (!bad) return { hop: traverse(port, link, bytes, readyNs, tailInNs), corrupt: undefined };
  const first = traverse(port, link, bytes, readyNs, tailInNs);
  const retryAt = port.lastEndNs + (bad.loss.retryNs ?? defaultRetryNs(t, link));
  const hop = traverse(port, link, bytes, retryAt, retryAt); // its tail is here by now: the sender holds it for replay
  if (bad.corrupt) tally.corrupted++; else tally.lost++;
  return { hop, corrupt: bad.corrupt ? first : undefined };
}

/**
 * The corrupted copy of a stripe as it goes on the wire: one bit of its payload flipped (the low
 * mantissa byte of one element: still a finite number, and CRC-32 detects every single-bit error)
 * and its original CRC, so the next hop refuses it as `corrupt`. A stripe with no real elements has
 * no byte to flip: the hit is on its CRC field instead. Never the sender's own array (the sim engine
 * passes payloads by reference).
 */
export function corruptedPart(p: StripePart, times: HopTimes, flip: number): StripePart {
  let payload = p.payload, crc = p.crc;
  if (payload.length === 0) crc = (crc ^ 1) >>> 0;
  else {
    payload = payload.slice();
    const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
    const i = (flip % payload.length) * 8;
    bytes[i] = (bytes[i] ?? 0) ^ (1 << (flip % 8));
  }
  return { stripe: p.stripe, bytes: p.bytes, headNs: times.headNs, tailNs: times.tailNs, path: p.path, hop: p.hop, payload, crc };
}

import { crc32 } from "../../shared/codec/index.js";
import { handleAtNs, traverseInto, traverseOwn, type MutableHopTimes, type Ports } from "../../shared/linkmodel/index.js";
import { PROTOCOL_VERSION, type DataMsg, type StripePart } from "../../shared/protocol/index.js";
import { pushReused, type Outbound } from "../../shared/runtime/index.js";
import type { Topology } from "../../shared/topology/index.js";
import { f64Slice, type NpuId, type SimNs } from "../../shared/units/index.js";
import { RunError } from "../../shared/errors/index.js";
import { emptyFaultTally, type FaultTable, type FaultTally } from "../../shared/faults/index.js";
import { corruptedPart, retryHop } from "./link-retry.js";

export interface TransferSpec {
  readonly op: number;
  readonly epoch: number;
  readonly inc: number;
  readonly src: NpuId;
  readonly dst: NpuId;
  readonly tag: number;
  readonly bytes: number;
  readonly data: Float64Array;
  readonly nowNs: number;
}

/** The hop times of the stripe being sent: read into its part before the next stripe's hop. */
const HOP: MutableHopTimes = { headNs: 0 as SimNs, tailNs: 0 as SimNs, queuedNs: 0 };

/** The next device of each stripe being sent (its first n entries), read by `bundle` before the next transfer. */
const TOS: number[] = [];

/** Stripes with no real elements (small chunks over many stripes) share one empty payload. */
const EMPTY = new Float64Array(0);

/** The transfer-wide fields of a data message (everything but the sender and the parts). */
export type DataEnvelope = Omit<DataMsg, "parts" | "from">;

/**
 * Sends stripes that go on to the same device as one message each (their parts keep their own paths
 * and times). A switch handles a message when its earliest head arrives; an endpoint when its last
 * part is delivered. Messages are built field by field, in one shape, on this hot path.
 */
export function bundle(t: Topology, from: number, env: DataEnvelope, tos: readonly number[], parts: readonly StripePart[], out: Outbound[], reuse?: DataMsg): void {
  const first = tos[0]!, n = parts.length; // tos may be a longer scratch array: its first n entries are the parts'
  let same = true;
  for (let i = 1; i < n && same; i++) same = tos[i] === first;
  if (same) { // the common case (one stripe, or the lanes of one plane): no grouping needed
    const toSwitch = t.isSwitch[first] === 1;
    let at = handleAtNs(t, first, parts[0]!.headNs, parts[0]!.tailNs) as number;
    for (let i = 1; i < n; i++) {
      const when = handleAtNs(t, first, parts[i]!.headNs, parts[i]!.tailNs);
      at = toSwitch ? Math.min(at, when) : Math.max(at, when);
    }
    pushReused(out, first, at, reuse ? moveOn(reuse, from, parts) : dataMsg(env, from, parts as StripePart[]));
    return;
  }
  // Several next hops (the stripes of one transfer leaving on different planes): one message per
  // device, in the order devices first appear, each with its parts in stripe order — built without
  // per-group records (n is a handful of stripes, so the quadratic scan is shorter than a map).
  for (let i = 0; i < n; i++) {
    const to = tos[i]!;
    let seen = false, count = 1;
    for (let j = 0; j < i && !seen; j++) seen = tos[j] === to;
    if (seen) continue;
    for (let j = i + 1; j < n; j++) if (tos[j] === to) count++;
    const toSwitch = t.isSwitch[to] === 1;
    const mine = new Array<StripePart>(count);
    let at = handleAtNs(t, to, parts[i]!.headNs, parts[i]!.tailNs) as number;
    mine[0] = parts[i]!;
    for (let j = i + 1, c = 1; j < n; j++) {
      if (tos[j] !== to) continue;
      const p = parts[j]!, when = handleAtNs(t, to, p.headNs, p.tailNs);
      at = toSwitch ? Math.min(at, when) : Math.max(at, when);
      mine[c++] = p;
    }
    pushReused(out, to, at, dataMsg(env, from, mine));
  }
}

/** A switch's received message sent on as itself: the new sender and the parts that go on. */
function moveOn(m: DataMsg, from: number, parts: readonly StripePart[]): DataMsg {
  const w = m as { -readonly [K in keyof DataMsg]: DataMsg[K] };
  w.from = from;
  w.parts = parts;
  return m;
}

function dataMsg(env: DataEnvelope, from: number, parts: StripePart[]): DataMsg {
  return {
    v: env.v, type: "data", from, epoch: env.epoch, inc: env.inc, op: env.op, src: env.src, dst: env.dst, tag: env.tag,
    stripes: env.stripes, totalBytes: env.totalBytes, sentNs: env.sentNs, parts,
  };
}

/**
 * Sends one transfer: stripes the modelled bytes and the real elements evenly over the route's
 * stripes (those that avoid the op's dead links and switches, and the links a link-flap has down at
 * the send time), and pushes each stripe through the source's egress port of its first link (as a
 * link-degrade leaves it: slower, and with loss or corruption retried at the link, link-retry.ts).
 * A transfer whose every stripe crosses a flapping link that is down waits until it comes up.
 */
export function transmit(t: Topology, ports: Ports, x: TransferSpec, out: Outbound[], faults?: FaultTable, tally?: FaultTally): void {
  const fab = faults?.at(x.op); // the op's faults: routes around dead links and switches, degraded links
  let sendNs = x.nowNs;
  let stripes = (fab ? fab.route(x.src, x.dst, sendNs) : t.route(x.src, x.dst)).stripes;
  if (stripes.length === 0 && fab?.flaps) {
    const up = fab.flaps.firstUp(x.src, x.dst, sendNs);
    if (tally && up.route.stripes.length > 0) { tally.flapWaits++; tally.flapWaitNs += up.sendNs - sendNs; }
    stripes = up.route.stripes;
    sendNs = up.sendNs;
  }
  const n = stripes.length;
  if (n === 0) throw new RunError(`no route from ${t.devices[x.src]!.name} to ${t.devices[x.dst]!.name} survives the faults of op ${x.op}: every stripe crosses a dead link or switch`);
  // splitEven of the bytes and splitOffsets of the elements, without their arrays: part i has
  // ⌊total/n⌋ + (i < total mod n) units and starts at i·⌊total/n⌋ + min(i, total mod n).
  const bBase = Math.floor(x.bytes / n), bExtra = x.bytes - bBase * n;
  const eBase = Math.floor(x.data.length / n), eExtra = x.data.length - eBase * n;
  const tos = TOS, parts = new Array<StripePart>(n); // sized: a pushed-to empty array gets room for 17
  let bad: { tos: number[]; parts: StripePart[] } | undefined; // corrupted first copies, sent ahead of the good ones
  for (let i = 0; i < n; i++) {
    const path = stripes[i]!, id = path[0]!;
    const e0 = i * eBase + Math.min(i, eExtra), e1 = e0 + eBase + (i < eExtra ? 1 : 0);
    const payload = e0 === e1 ? EMPTY : f64Slice(x.data, e0, e1);
    const bytes = bBase + (i < bExtra ? 1 : 0);
    tos[i] = t.linkTo[id]!;
    // Fault-free, the port knows its link's figures (no Link object read); else the faulted link's.
    const port = ports.get(id), link = fab?.link(id), losses = link && fab!.lossOf(link.id);
    if (losses === undefined) {
      const hop = link ? traverseInto(HOP, port, link, bytes, sendNs, sendNs) : traverseOwn(HOP, port, bytes, sendNs, sendNs);
      parts[i] = { stripe: i, bytes, headNs: hop.headNs, tailNs: hop.tailNs, path, hop: 0, payload, crc: crc32(payload) };
      continue;
    }
    const k = { epoch: x.epoch, op: x.op, src: x.src, dst: x.dst, tag: x.tag, stripe: i };
    const r = retryHop(t, port, link!, losses, k, bytes, sendNs, sendNs, tally ?? emptyFaultTally());
    const part: StripePart = { stripe: i, bytes, headNs: r.hop.headNs, tailNs: r.hop.tailNs, path, hop: 0, payload, crc: crc32(payload) };
    parts[i] = part;
    if (r.corrupt) {
      bad ??= { tos: [], parts: [] };
      bad.tos.push(link!.to);
      bad.parts.push(corruptedPart(part, r.corrupt, x.op + x.tag + i));
    }
  }
  // The message itself (in dataMsg's field order: one shape), sent as it is when its stripes go to one device.
  const msg: DataMsg = {
    v: PROTOCOL_VERSION, type: "data", from: x.src, epoch: x.epoch, inc: x.inc, op: x.op, src: x.src, dst: x.dst, tag: x.tag,
    stripes: n, totalBytes: x.bytes, sentNs: sendNs as SimNs, parts,
  };
  if (bad) bundle(t, x.src, msg, bad.tos, bad.parts, out);
  bundle(t, x.src, msg, tos, parts, out, bad ? undefined : msg);
}

import type { EndpointModel, Link, Route, Topology } from "../topology/index.js";
import { onGrid, type SimNs } from "../units/index.js";
import type { Port } from "./port.js";

/**
 * The timing formulas of the fabric model. Nothing else in the code base turns bytes into time.
 * Bandwidth in GB/s is bytes per ns. Every duration is rounded up to the 1/1024 ns grid of
 * shared/units (onGrid): exact sums in any order, yet a 41-byte message costs 0.41 ns, not a whole ns.
 */

/** Time for `bytes` to pass a port of `bandwidthGBps`, rounded up to the grid. */
export function serializationNs(bytes: number, bandwidthGBps: number): number {
  return bytes <= 0 ? 0 : onGrid(bytes / bandwidthGBps);
}

/** Head and tail of a message as seen at the input of the next device. */
export interface HopTimes {
  readonly headNs: SimNs;
  readonly tailNs: SimNs;
  /** ns the message waited for the port behind earlier reservations. */
  readonly queuedNs: number;
}

/**
 * One cut-through hop through an egress port. The port gives the message `bytes / bandwidth` of its
 * time, in the earliest free slot at or after the head is ready; the tail leaves when that work is
 * done, but never before the tail has arrived from upstream. The head leaves as early as the message's
 * spread allows: the output keeps the input's duration (head-to-tail), shifted only by the delay the
 * tail suffered. So an uncontended path costs Σ latencies + bytes / bottleneck (not h × bytes / bw),
 * a message queued behind others is delayed head and tail alike, and several slow streams sharing a
 * fast port pass through it side by side, as interleaved packets would.
 */
export function traverse(port: Port, link: Link, bytes: number, readyNs: number, tailInNs: number): HopTimes {
  return traverseInto({ headNs: 0 as SimNs, tailNs: 0 as SimNs, queuedNs: 0 }, port, link, bytes, readyNs, tailInNs);
}

/**
 * {@link traverse}, writing the times into `out` (a hot path's scratch, read before its next use)
 * instead of a new object. `link` gives only its bandwidth and latency: a Link, or a Port (its own link's).
 */
export function traverseInto(out: MutableHopTimes, port: Port, link: Pick<Link, "bandwidthGBps" | "latencyNs">, bytes: number, readyNs: number, tailInNs: number): HopTimes {
  const ser = serializationNs(bytes, link.bandwidthGBps);
  port.take(readyNs, tailInNs, ser);
  const tailOut = port.lastEndNs;
  const headOut = tailOut - Math.max(ser, tailInNs - readyNs);
  out.headNs = (headOut + link.latencyNs) as SimNs;
  out.tailNs = (tailOut + link.latencyNs) as SimNs;
  out.queuedNs = headOut - readyNs;
  return out;
}

/**
 * {@link traverseInto} over the port's own link as the topology gives it (bandwidth and latency from
 * the port's slot): the fault-free hop, which so reads no Link object (a cache miss per stripe). A
 * degraded link (faults) has other figures: its hop goes through traverseInto with the faulted Link.
 */
export function traverseOwn(out: MutableHopTimes, port: Port, bytes: number, readyNs: number, tailInNs: number): HopTimes {
  return traverseInto(out, port, port, bytes, readyNs, tailInNs);
}

export type MutableHopTimes = { -readonly [K in keyof HopTimes]: HopTimes[K] };

/** When a message is handed to the receiving endpoint: its tail has arrived and the endpoint overhead is paid. */
export function deliveredAtNs(tailNs: number, endpointOverheadNs: number): SimNs {
  return (tailNs + endpointOverheadNs) as SimNs;
}

/** Roofline time of a kernel: max(flops at peak × efficiency, bytes at HBM bandwidth × efficiency). */
export function rooflineNs(flops: number, hbmBytes: number, m: EndpointModel): number {
  const computeNs = flops / (m.peakTflops * 1e3 * m.computeEfficiency); // 1 TFLOPS = 1e3 flop/ns
  const memoryNs = hbmBytes / (m.hbmBandwidthGBps * m.hbmEfficiency);
  return onGrid(Math.max(computeNs, memoryNs));
}

/** Element-wise sum of a received buffer into a local one: 1 flop per element; read two, write one. */
export function reductionNs(bytes: number, bytesPerElement: number, m: EndpointModel): number {
  return rooflineNs(bytes / bytesPerElement, 3 * bytes, m);
}

/**
 * A reduction streamed as its operand arrives (how NCCL/HCCL pipeline a ring step): it may start when
 * the first byte arrives and the compute engine is free, and it ends no earlier than the delivery.
 * So when compute is faster than the link, the reduction hides entirely behind the transfer.
 */
export function streamedComputeEnd(firstByteNs: number, deliveredNs: number, engineFreeNs: number, computeNs: number): SimNs {
  const start = Math.max(firstByteNs, engineFreeNs);
  return Math.max(deliveredNs, start + computeNs) as SimNs;
}

/**
 * α-β summary of a route: α = overhead + Σ link and switch latencies, β = Σ over stripes of the
 * bottleneck (when the stripes are alike, as on every fault-free fabric here).
 */
export interface AlphaBeta {
  readonly alphaNs: number;
  readonly betaGBps: number;
}

export function routeAlphaBeta(t: Topology, route: Route): AlphaBeta {
  let alpha = Infinity, beta = 0, latest = 0, slowest = Infinity, uniform = true;
  for (const stripe of route.stripes) {
    let lat = t.endpointOverheadNs as number, bottleneck = Infinity;
    for (let i = 0; i < stripe.length; i++) {
      const l = t.links[stripe[i]!]!;
      lat += l.latencyNs;
      if (i > 0) lat += t.devices[l.from]!.switchLatencyNs;
      bottleneck = Math.min(bottleneck, l.bandwidthGBps);
    }
    if (beta > 0 && (lat !== latest || bottleneck !== slowest)) uniform = false;
    alpha = Math.min(alpha, lat);
    beta += bottleneck;
    latest = Math.max(latest, lat);
    slowest = Math.min(slowest, bottleneck);
  }
  // Stripes carry equal shares (splitEven), so a transfer ends with its slowest stripe: on a route whose
  // stripes differ (a degraded lane, docs/chaos.md) that is n × the slowest bottleneck, after the longest latency.
  return uniform ? { alphaNs: alpha, betaGBps: beta } : { alphaNs: latest, betaGBps: route.stripes.length * slowest };
}

/** Virtual time at which `to` handles a message: a switch when the head arrives, an endpoint on delivery. */
export function handleAtNs(t: Topology, to: number, headNs: number, tailNs: number): SimNs {
  return t.isSwitch[to] === 1 ? (headNs as SimNs) : deliveredAtNs(tailNs, t.endpointOverheadNs);
}


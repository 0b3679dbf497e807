import {
  deviceId, gbps, linkId, onGrid, simNs,
  type DeviceId, type LinkId, type NpuId, type SwitchId,
} from "../units/index.js";
import { DeviceKind, type Device, type Link } from "./types.js";

/** Accumulates devices and directed links with dense ids; used by every topology builder. */
export class GraphBuilder {
  readonly devices: Device[] = [];
  readonly links: Link[] = [];
  readonly endpoints: NpuId[] = [];
  readonly switches: SwitchId[] = [];

  endpoint(name: string, node: number): NpuId {
    const id = this.add({ kind: DeviceKind.Npu, name, node, tier: 0, switchLatencyNs: 0 });
    this.endpoints.push(id as NpuId);
    return id as NpuId;
  }

  switch(name: string, node: number, tier: number, switchLatencyNs: number): SwitchId {
    const id = this.add({ kind: DeviceKind.Switch, name, node, tier, switchLatencyNs });
    this.switches.push(id as SwitchId);
    return id as SwitchId;
  }

  /** Adds one directed link; returns its id. */
  link(from: DeviceId, to: DeviceId, bandwidthGBps: number, latencyNs: number): LinkId {
    const id = linkId(this.links.length);
    this.links.push({ id, from, to, bandwidthGBps: gbps(bandwidthGBps), latencyNs: simNs(onGrid(latencyNs)) });
    return id;
  }

  /** Adds a full-duplex pair of links; returns [a->b, b->a]. */
  duplex(a: DeviceId, b: DeviceId, bandwidthGBps: number, latencyNs: number): [LinkId, LinkId] {
    return [this.link(a, b, bandwidthGBps, latencyNs), this.link(b, a, bandwidthGBps, latencyNs)];
  }

  /** Dense per-device port numbers: link → index among its source's egress links, and each device's links by port. */
  ports(): { portIndex: Int32Array; portCount: Int32Array; portStart: Int32Array; portLinks: Int32Array; linkFrom: Int32Array; linkTo: Int32Array; isSwitch: Uint8Array } {
    const portIndex = new Int32Array(this.links.length), portCount = new Int32Array(this.devices.length);
    const linkFrom = new Int32Array(this.links.length), linkTo = new Int32Array(this.links.length);
    for (const l of this.links) { portIndex[l.id] = portCount[l.from]!++; linkFrom[l.id] = l.from; linkTo[l.id] = l.to; }
    const portStart = new Int32Array(this.devices.length + 1), portLinks = new Int32Array(this.links.length);
    for (let d = 0; d < this.devices.length; d++) portStart[d + 1] = portStart[d]! + portCount[d]!;
    for (const l of this.links) portLinks[portStart[l.from]! + portIndex[l.id]!] = l.id;
    const isSwitch = Uint8Array.from(this.devices, (d) => (d.kind === DeviceKind.Switch ? 1 : 0));
    return { portIndex, portCount, portStart, portLinks, linkFrom, linkTo, isSwitch };
  }

  private add(d: Omit<Device, "id" | "switchLatencyNs"> & { switchLatencyNs: number }): DeviceId {
    const id = deviceId(this.devices.length);
    this.devices.push({ ...d, id, switchLatencyNs: simNs(onGrid(d.switchLatencyNs)) });
    return id;
  }
}

/** Endpoints up to which the route cache is a dense table (2,048² pointers = 32 MiB at most), a map beyond. */
const DENSE_ROUTE_ENDPOINTS = 2048;

/**
 * Caches routes per ordered endpoint pair; routes are pure functions of the topology. Every stripe
 * check looks its transfer's route up (once per message at every device it reaches), so up to
 * DENSE_ROUTE_ENDPOINTS endpoints the cache is one table of routes indexed by the pair's endpoint
 * ordinals: a lookup is one load from a small ordinal array and one from the table (an all-to-all
 * looks up a different pair at nearly every message, so each level of indirection is a cache miss).
 * Anything that is not a pair of endpoints goes to `compute`, which throws.
 */
export function memoRoutes<R>(compute: (src: NpuId, dst: NpuId) => R, devices: number, endpoints: readonly number[]): (src: NpuId, dst: NpuId) => R {
  const e = endpoints.length;
  if (e > DENSE_ROUTE_ENDPOINTS) {
    const cache = new Map<number, R>();
    return (src, dst) => {
      const key = src * 1_048_576 + dst;
      let r = cache.get(key);
      if (r === undefined) {
        r = compute(src, dst);
        cache.set(key, r);
      }
      return r;
    };
  }
  const ord = new Int32Array(devices).fill(-1);
  endpoints.forEach((id, i) => { ord[id] = i; });
  const table = new Array<R | undefined>(e * e);
  return (src, dst) => {
    // Undefined for an id out of range or not an integer, -1 for a switch: compute, which throws for no such route.
    const a = ord[src], b = ord[dst];
    if (a === undefined || b === undefined || a < 0 || b < 0) return compute(src, dst);
    const k = a * e + b;
    let r = table[k];
    if (r === undefined) table[k] = r = compute(src, dst);
    return r;
  };
}

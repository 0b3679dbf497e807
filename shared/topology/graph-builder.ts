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

  /** Dense per-device port numbers: link → index among its source's egress links. */
  ports(): { portIndex: Int32Array; portCount: Int32Array } {
    const portIndex = new Int32Array(this.links.length), portCount = new Int32Array(this.devices.length);
    for (const l of this.links) portIndex[l.id] = portCount[l.from]!++;
    return { portIndex, portCount };
  }

  private add(d: Omit<Device, "id" | "switchLatencyNs"> & { switchLatencyNs: number }): DeviceId {
    const id = deviceId(this.devices.length);
    this.devices.push({ ...d, id, switchLatencyNs: simNs(onGrid(d.switchLatencyNs)) });
    return id;
  }
}

/** Devices up to which the route cache is a dense table (2,048² × 4 B = 16 MiB at most), a map beyond. */
const DENSE_ROUTE_DEVICES = 2048;

/**
 * Caches routes per ordered endpoint pair; routes are pure functions of the topology. Every stripe
 * check looks its transfer's route up (a few times per message), so up to DENSE_ROUTE_DEVICES devices
 * the cache is an index table (pair → position in a list + 1) instead of a hashed map.
 */
export function memoRoutes<R>(compute: (src: NpuId, dst: NpuId) => R, devices: number): (src: NpuId, dst: NpuId) => R {
  if (devices > DENSE_ROUTE_DEVICES) {
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
  const at = new Int32Array(devices * devices), list: R[] = [];
  return (src, dst) => {
    // No slot (either id out of range or not an integer): compute, which throws for no such device.
    const i = dst >= 0 && dst < devices && (src | 0) === src ? at[src * devices + dst] : undefined;
    if (i === undefined) return compute(src, dst);
    if (i !== 0) return list[i - 1]!;
    const r = compute(src, dst);
    list.push(r);
    at[src * devices + dst] = list.length;
    return r;
  };
}

import { ScenarioError } from "../errors/index.js";
import { gbps, onGrid, type DeviceId, type LinkId, type NpuId } from "../units/index.js";
import { GraphBuilder, memoRoutes } from "./graph-builder.js";
import { DeviceKind, RankUnit, SwitchGranularity, type Route, type Topology } from "./types.js";

/** A declared fabric. A device with `count: n` expands to `name0 … name{n-1}`. */
export interface CustomSpec {
  readonly devices: readonly { name: string; kind: "npu" | "switch"; count?: number | undefined; switchLatencyNs?: number | undefined }[];
  readonly links: readonly { from: string; to: string; bandwidthGBps: number; latencyNs: number; duplex?: boolean | undefined }[];
  readonly switchLatencyNs: number;
  readonly endpointOverheadNs: number;
  readonly npuPeakTflopsBf16: number;
  readonly hbmBandwidthGBps: number;
  readonly hbmGB: number;
  readonly computeEfficiency: number;
  readonly hbmEfficiency: number;
  readonly linkEfficiency: number;
}

/**
 * Resolves a link end: `sw` (one device), `npu*` (every device of group `npu`), `npu[0-3]` (a range).
 * A link between two sets joins every member of `from` to every member of `to`.
 */
function select(sel: string, groups: Map<string, DeviceId[]>, byName: Map<string, DeviceId>, path: string): DeviceId[] {
  const one = byName.get(sel);
  if (one !== undefined) return [one];
  const star = /^([A-Za-z_][\w.-]*)\*$/.exec(sel);
  if (star && groups.has(star[1]!)) return groups.get(star[1]!)!;
  const range = /^([A-Za-z_][\w.-]*)\[(\d+)-(\d+)\]$/.exec(sel);
  if (range && groups.has(range[1]!)) {
    const all = groups.get(range[1]!)!, lo = Number(range[2]), hi = Number(range[3]);
    if (lo <= hi && hi < all.length) return all.slice(lo, hi + 1);
  }
  throw new ScenarioError(path, `no device or group matches "${sel}" (use a name, group*, or group[a-b])`);
}

/** Builds a declared fabric. Routes: one shortest path (fewest hops, lowest link ids first) per pair. */
export function buildCustom(spec: CustomSpec, base = "topology.custom"): Topology {
  const g = new GraphBuilder();
  const groups = new Map<string, DeviceId[]>(), byName = new Map<string, DeviceId>();
  spec.devices.forEach((d, i) => {
    const names = d.count === undefined ? [d.name] : Array.from({ length: d.count }, (_, k) => `${d.name}${k}`);
    const ids = names.map((name) => {
      if (byName.has(name)) throw new ScenarioError(`${base}.devices[${i}].name`, `duplicate device "${name}"`);
      const id = d.kind === DeviceKind.Npu ? g.endpoint(name, -1) : g.switch(name, -1, 1, d.switchLatencyNs ?? spec.switchLatencyNs);
      byName.set(name, id);
      return id;
    });
    groups.set(d.name, ids);
  });
  spec.links.forEach((l, i) => {
    const from = select(l.from, groups, byName, `${base}.links[${i}].from`);
    const to = select(l.to, groups, byName, `${base}.links[${i}].to`);
    for (const a of from) for (const b of to) {
      if (a === b) continue;
      if (l.duplex === false) g.link(a, b, l.bandwidthGBps * spec.linkEfficiency, l.latencyNs);
      else g.duplex(a, b, l.bandwidthGBps * spec.linkEfficiency, l.latencyNs);
    }
  });
  if (g.endpoints.length === 0) throw new ScenarioError(`${base}.devices`, "declares no npu devices");

  const out: LinkId[][] = g.devices.map(() => []);
  for (const l of g.links) out[l.from]!.push(l.id);
  const isSwitch = (id: DeviceId) => g.devices[id]!.kind === DeviceKind.Switch;

  const route = memoRoutes((src: NpuId, dst: NpuId): Route => {
    const via = new Map<DeviceId, LinkId>();
    const queue: DeviceId[] = [src];
    for (let qi = 0; qi < queue.length && !via.has(dst); qi++) {
      const at = queue[qi]!;
      if (at !== src && !isSwitch(at)) continue; // endpoints do not forward
      for (const lid of out[at]!) {
        const to = g.links[lid]!.to;
        if (to === src || via.has(to)) continue;
        via.set(to, lid);
        queue.push(to);
      }
    }
    if (!via.has(dst)) throw new ScenarioError(`${base}.links`, `no path from ${g.devices[src]!.name} to ${g.devices[dst]!.name}`);
    const path: LinkId[] = [];
    for (let at: DeviceId = dst; at !== src;) {
      const lid = via.get(at)!;
      path.unshift(lid);
      at = g.links[lid]!.from;
    }
    return { stripes: [path] };
  }, g.devices.length, g.endpoints);

  // A node is the set of endpoints behind the same first switch (a leaf), in declaration order.
  const nodeOf = new Map<DeviceId, NpuId[]>();
  for (const e of g.endpoints) {
    const first = out[e]![0];
    const leaf = first === undefined ? e : g.links[first]!.to;
    if (!nodeOf.has(leaf)) nodeOf.set(leaf, []);
    nodeOf.get(leaf)!.push(e);
  }
  // Fail at build time, not mid-run, when some endpoint cannot reach the others.
  const [first, ...rest] = g.endpoints;
  for (const e of rest) { route(first!, e); route(e, first!); }
  return {
    preset: "custom",
    switchGranularity: SwitchGranularity.Physical,
    rankUnit: RankUnit.Npu,
    devices: g.devices,
    links: g.links,
    endpoints: g.endpoints,
    switches: g.switches,
    endpointOverheadNs: onGrid(spec.endpointOverheadNs) as Topology["endpointOverheadNs"],
    endpoint: {
      peakTflops: spec.npuPeakTflopsBf16,
      hbmBandwidthGBps: gbps(spec.hbmBandwidthGBps),
      hbmGB: spec.hbmGB,
      computeEfficiency: spec.computeEfficiency,
      hbmEfficiency: spec.hbmEfficiency,
    },
    nodes: [...nodeOf.values()],
    params: { ...spec },
    ...g.ports(),
    route,
  };
}

import { gbps, onGrid, type LinkId, type NpuId } from "../units/index.js";
import { GraphBuilder, memoRoutes } from "./graph-builder.js";
import { RankUnit, SwitchGranularity, type Path, type Route, type Topology } from "./types.js";

/** Resolved parameters of an NVL72-like single tier: every endpoint links to every switch chip. */
export interface SingleTierParams {
  readonly preset: string;
  readonly nodes: number;
  readonly npusPerNode: number;
  readonly planes: number;
  readonly linksPerNpuPerSwitch: number;
  readonly linkBandwidthGBps: number;
  readonly linkLatencyNs: number;
  readonly switchLatencyNs: number;
  readonly endpointOverheadNs: number;
  readonly npuPeakTflopsBf16: number;
  readonly hbmBandwidthGBps: number;
  readonly hbmGB: number;
  readonly computeEfficiency: number;
  readonly hbmEfficiency: number;
  readonly linkEfficiency: number;
  readonly rankUnit: RankUnit;
  readonly switches: SwitchGranularity;
}

/**
 * Builds the single-tier fabric. A transfer is striped evenly over every (switch chip, lane): one
 * switch hop, two links. Aggregated switches merge the chips into one with summed bandwidth.
 */
export function buildSingleTier(p: SingleTierParams): Topology {
  if (p.rankUnit !== RankUnit.Npu) throw new Error("single-tier presets expose each GPU as one device");
  const agg = p.switches === SwitchGranularity.Aggregated;
  const planes = agg ? 1 : p.planes;
  const bw = p.linkBandwidthGBps * (agg ? p.planes : 1) * p.linkEfficiency;
  const lanes = p.linksPerNpuPerSwitch;
  const g = new GraphBuilder();
  const nodes: NpuId[][] = [];
  for (let n = 0; n < p.nodes; n++) {
    nodes.push(Array.from({ length: p.npusPerNode }, (_, e) => g.endpoint(`gpu.n${n}.${e}`, n)));
  }
  const sw = Array.from({ length: planes }, (_, s) => g.switch(agg ? "nvsw" : `nvsw.${s}`, -1, 1, p.switchLatencyNs));
  const up = new Map<NpuId, LinkId[][]>(), down = new Map<NpuId, LinkId[][]>();
  for (const id of nodes.flat()) {
    const u: LinkId[][] = [], d: LinkId[][] = [];
    for (const s of sw) {
      const lu: LinkId[] = [], ld: LinkId[] = [];
      for (let c = 0; c < lanes; c++) {
        const [a, b] = g.duplex(id, s, bw, p.linkLatencyNs);
        lu.push(a); ld.push(b);
      }
      u.push(lu); d.push(ld);
    }
    up.set(id, u); down.set(id, d);
  }
  const route = memoRoutes((src: NpuId, dst: NpuId): Route => {
    const u = up.get(src), d = down.get(dst);
    if (!u || !d || src === dst) throw new Error(`no route from device ${src} to ${dst}`);
    const stripes: Path[] = [];
    for (let s = 0; s < planes; s++) for (let c = 0; c < lanes; c++) stripes.push([u[s]![c]!, d[s]![c]!]);
    return { stripes };
  }, g.devices.length, g.endpoints);
  return {
    preset: p.preset,
    switchGranularity: p.switches,
    rankUnit: p.rankUnit,
    devices: g.devices,
    links: g.links,
    endpoints: g.endpoints,
    switches: g.switches,
    endpointOverheadNs: onGrid(p.endpointOverheadNs) as Topology["endpointOverheadNs"],
    endpoint: {
      peakTflops: p.npuPeakTflopsBf16,
      hbmBandwidthGBps: gbps(p.hbmBandwidthGBps),
      hbmGB: p.hbmGB,
      computeEfficiency: p.computeEfficiency,
      hbmEfficiency: p.hbmEfficiency,
    },
    nodes,
    params: { ...p },
    ...g.ports(),
    route,
  };
}

import { gbps, onGrid, type LinkId, type NpuId } from "../units/index.js";
import { GraphBuilder, memoRoutes } from "./graph-builder.js";
import { RankUnit, SwitchGranularity, type Path, type Route, type Topology } from "./types.js";

/** Resolved parameters of a CloudMatrix-like two-tier Clos with parallel planes. */
export interface TwoTierParams {
  readonly preset: string;
  readonly nodes: number;
  readonly npusPerNode: number;
  readonly planes: number;
  readonly l2PerPlane: number;
  readonly linksPerNpuPerL1: number;
  readonly linkBandwidthGBps: number;
  readonly uplinkBandwidthGBps: number;
  readonly intraNodeLinkLatencyNs: number;
  readonly interNodeLinkLatencyNs: number;
  readonly switchLatencyNs: number;
  readonly endpointOverheadNs: number;
  readonly diesPerNpu: number;
  readonly dieToDieBandwidthGBps: number;
  readonly dieToDieLatencyNs: number;
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
 * Builds the two-tier fabric. Wiring (S1 Fig. 5): endpoint lane c -> L1[node][plane] for every plane;
 * every L1[node][p] -> every L2[p][k]. With `aggregated` switches the planes merge into one chip
 * per position with `planes` x the bandwidth; lanes stay separate, since they are separate wires.
 *
 * Routing rule (documented in docs/fabric-model.md): a transfer is striped evenly over every
 * (plane p, lane c) of the source endpoint; an inter-node stripe crosses spine chip
 * k = (dstLocalIndex * lanes + c) mod l2PerPlane, i.e. destination-based (D-mod-k) spreading, so
 * the spine's down-links toward one endpoint carry only that endpoint's traffic.
 */
export function buildTwoTier(p: TwoTierParams): Topology {
  const agg = p.switches === SwitchGranularity.Aggregated;
  const dies = p.rankUnit === RankUnit.Die ? p.diesPerNpu : 1;
  const epPerNode = p.npusPerNode * dies;
  const lanes = p.linksPerNpuPerL1 / dies; // lanes per endpoint per plane
  const planes = agg ? 1 : p.planes;
  const merge = agg ? p.planes : 1;
  const linkBw = p.linkBandwidthGBps * merge * p.linkEfficiency;
  const upBw = p.uplinkBandwidthGBps * merge * p.linkEfficiency;
  const g = new GraphBuilder();

  const ep: NpuId[][] = [];
  for (let n = 0; n < p.nodes; n++) {
    const row: NpuId[] = [];
    for (let e = 0; e < epPerNode; e++) {
      const name = dies > 1 ? `npu.n${n}.${Math.floor(e / dies)}.d${e % dies}` : `npu.n${n}.${e}`;
      row.push(g.endpoint(name, n));
    }
    ep.push(row);
  }
  const l1 = ep.map((_, n) =>
    Array.from({ length: planes }, (_, pl) => g.switch(agg ? `l1.n${n}` : `l1.n${n}.p${pl}`, n, 1, p.switchLatencyNs)));
  const hasSpine = p.nodes > 1;
  const l2 = hasSpine
    ? Array.from({ length: planes }, (_, pl) => Array.from({ length: p.l2PerPlane }, (_, k) =>
      g.switch(agg ? `l2.k${k}` : `l2.p${pl}.k${k}`, -1, 2, p.switchLatencyNs)))
    : [];

  // up[n][e][pl][c], down[n][e][pl][c]: endpoint <-> L1 lanes
  const up: LinkId[][][][] = [];
  const down: LinkId[][][][] = [];
  for (let n = 0; n < p.nodes; n++) {
    up.push([]); down.push([]);
    for (let e = 0; e < epPerNode; e++) {
      const u: LinkId[][] = [], d: LinkId[][] = [];
      for (let pl = 0; pl < planes; pl++) {
        u.push([]); d.push([]);
        for (let c = 0; c < lanes; c++) {
          const [a, b] = g.duplex(ep[n]![e]!, l1[n]![pl]!, linkBw, p.intraNodeLinkLatencyNs);
          u[pl]!.push(a); d[pl]!.push(b);
        }
      }
      up[n]!.push(u); down[n]!.push(d);
    }
  }
  // spineUp[n][pl][k], spineDown[n][pl][k]: L1 <-> L2
  const spineUp: LinkId[][][] = [], spineDown: LinkId[][][] = [];
  for (let n = 0; n < p.nodes && hasSpine; n++) {
    spineUp.push([]); spineDown.push([]);
    for (let pl = 0; pl < planes; pl++) {
      const u: LinkId[] = [], d: LinkId[] = [];
      for (let k = 0; k < p.l2PerPlane; k++) {
        const [a, b] = g.duplex(l1[n]![pl]!, l2[pl]![k]!, upBw, p.interNodeLinkLatencyNs);
        u.push(a); d.push(b);
      }
      spineUp[n]!.push(u); spineDown[n]!.push(d);
    }
  }
  // d2d[n][pkg]: [die0->die1, die1->die0]
  const d2d = new Map<number, LinkId>();
  if (dies === 2) {
    for (let n = 0; n < p.nodes; n++) {
      for (let k = 0; k < p.npusPerNode; k++) {
        const a = ep[n]![2 * k]!, b = ep[n]![2 * k + 1]!;
        const [ab, ba] = g.duplex(a, b, p.dieToDieBandwidthGBps * p.linkEfficiency, p.dieToDieLatencyNs);
        d2d.set(a * 1_048_576 + b, ab); d2d.set(b * 1_048_576 + a, ba);
      }
    }
  }

  const where = new Map<number, { n: number; e: number }>();
  ep.forEach((row, n) => row.forEach((id, e) => where.set(id, { n, e })));

  const route = memoRoutes((src: NpuId, dst: NpuId): Route => {
    const s = where.get(src), d = where.get(dst);
    if (!s || !d || src === dst) throw new Error(`no route from device ${src} to ${dst}`);
    const direct = d2d.get(src * 1_048_576 + dst);
    if (direct !== undefined) return { stripes: [[direct]] };
    const stripes: Path[] = [];
    for (let pl = 0; pl < planes; pl++) {
      for (let c = 0; c < lanes; c++) {
        const first = up[s.n]![s.e]![pl]![c]!, last = down[d.n]![d.e]![pl]![c]!;
        if (s.n === d.n) { stripes.push([first, last]); continue; }
        const k = (d.e * lanes + c) % p.l2PerPlane;
        stripes.push([first, spineUp[s.n]![pl]![k]!, spineDown[d.n]![pl]![k]!, last]);
      }
    }
    return { stripes };
  }, g.devices.length, g.endpoints);

  const share = 1 / dies;
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
      peakTflops: p.npuPeakTflopsBf16 * share,
      hbmBandwidthGBps: gbps(p.hbmBandwidthGBps * share),
      hbmGB: p.hbmGB * share,
      computeEfficiency: p.computeEfficiency,
      hbmEfficiency: p.hbmEfficiency,
    },
    nodes: ep,
    params: { ...p },
    ...g.ports(),
    route,
  };
}

import type { DeviceId, GBps, LinkId, NpuId, SimNs, SwitchId } from "../units/index.js";

export const DeviceKind = { Npu: "npu", Switch: "switch" } as const;
export type DeviceKind = (typeof DeviceKind)[keyof typeof DeviceKind];

export const SwitchGranularity = { Physical: "physical", Aggregated: "aggregated" } as const;
export type SwitchGranularity = (typeof SwitchGranularity)[keyof typeof SwitchGranularity];

export const RankUnit = { Npu: "npu", Die: "die" } as const;
export type RankUnit = (typeof RankUnit)[keyof typeof RankUnit];

/** A device of the fabric: an endpoint (NPU or die) or a switch chip (or an aggregated group of chips). */
export interface Device {
  readonly id: DeviceId;
  readonly kind: DeviceKind;
  /** Stable human name, e.g. `npu.n3.5`, `l1.n3.p2`, `l2.p6.k15`, `nvsw.7`. */
  readonly name: string;
  /** Node (server board / compute tray) of an endpoint or L1 chip; -1 for spine chips. */
  readonly node: number;
  /** 0 = endpoint, 1 = first switch tier, 2 = second tier. */
  readonly tier: number;
  /** Traversal latency of a switch; 0 for endpoints. */
  readonly switchLatencyNs: SimNs;
}

/** A directed link: the egress port of `from`, which serializes what it carries. */
export interface Link {
  readonly id: LinkId;
  readonly from: DeviceId;
  readonly to: DeviceId;
  readonly bandwidthGBps: GBps;
  readonly latencyNs: SimNs;
}

/** One stripe of a transfer: the ordered directed links it crosses, first owned by the source endpoint. */
export type Path = readonly LinkId[];

/** How a transfer from one endpoint to another is striped: bytes split evenly over `stripes`. */
export interface Route {
  readonly stripes: readonly Path[];
}

/** Compute and memory of one endpoint, for roofline costs. */
export interface EndpointModel {
  readonly peakTflops: number;
  readonly hbmBandwidthGBps: GBps;
  readonly hbmGB: number;
  readonly computeEfficiency: number;
  readonly hbmEfficiency: number;
}

/** A compiled, immutable fabric: what every engine and every actor process builds from the same scenario. */
export interface Topology {
  readonly preset: string;
  readonly switchGranularity: SwitchGranularity;
  readonly rankUnit: RankUnit;
  readonly devices: readonly Device[];
  readonly links: readonly Link[];
  /** Endpoints in rank order: rank r of `ranks: all` is endpoints[r]. */
  readonly endpoints: readonly NpuId[];
  readonly switches: readonly SwitchId[];
  readonly endpointOverheadNs: SimNs;
  readonly endpoint: EndpointModel;
  /** Endpoint ids grouped by node, in rank order within the node. */
  readonly nodes: readonly (readonly NpuId[])[];
  /** The resolved hardware parameters, as used (for the report). */
  readonly params: Readonly<Record<string, unknown>>;
  /** For each link, its index among the egress links of its source device (a dense port number). */
  readonly portIndex: Int32Array;
  /** Egress link count per device. */
  readonly portCount: Int32Array;
  /** The egress links of device d by port number: portLinks[portStart[d] + k] (portStart has devices + 1 entries). */
  readonly portStart: Int32Array;
  readonly portLinks: Int32Array;
  /**
   * Each link's source and destination device, by link id: links[id].from and .to in two small typed
   * arrays, for the per-stripe checks of every hop (a Link object is a cache miss there; these stay cached).
   */
  readonly linkFrom: Int32Array;
  readonly linkTo: Int32Array;
  /**
   * 1 for a switch chip, 0 for an endpoint, by device id: the kind of devices[id] in one small array
   * for the per-message checks of every hop (a Device object is a cache miss there; this stays cached).
   */
  readonly isSwitch: Uint8Array;
  route(src: NpuId, dst: NpuId): Route;
}

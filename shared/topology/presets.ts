/**
 * Hardware presets. Every number is from ../shared/reference/hardware.md (source ids S1..S28 there);
 * EST marks modelling estimates that are fitted, not published, and are meant to be tuned.
 */
export const CLOUDMATRIX384 = {
  kind: "two-tier",
  nodes: 48, // S1 §3.3.3
  npusPerNode: 8, // S1 §3.3.2
  planes: 7, // 7 L1 chips per node, L1 chip i in plane i (S1 §3.3.2-3.3.3)
  l2PerPlane: 16, // 7 x 16 = 112 L2 chips (S1 §3.3.3)
  linksPerNpuPerL1: 2, // inferred: 1 link per die per plane, 8 x 2 x 28 = 448 = L1 uplink (M)
  linkBandwidthGBps: 28, // 224 Gbps UB link, unidirectional (S1 §3.3.1, Fig. 5)
  uplinkBandwidthGBps: 28, // L1 -> L2 link: 16 x 28 GB/s per L1 chip (S1 §3.3.2)
  intraNodeLinkLatencyNs: 25, // EST: fitted to S1 v2 Table 1 (1.2 us intra / 1.9 us inter read)
  interNodeLinkLatencyNs: 25, // EST: same fit, LPO optics + fibre
  switchLatencyNs: 150, // EST: same fit; vendor claims 200 ns single hop (S2)
  endpointOverheadNs: 400, // EST: per one-way message, both ends together (fit to Table 1)
  diesPerNpu: 2, // S1 §3.3.1
  dieToDieBandwidthGBps: 270, // 540 GB/s total on-package, per direction (S1 §3.3.1)
  dieToDieLatencyNs: 25, // EST: unpublished; on-package, taken equal to a UB link
  npuPeakTflopsBf16: 752, // S3: 6.0 PF FP16 / 8 NPUs; S2: 288.7 PF / 384
  hbmBandwidthGBps: 3200, // S1 §3.3.1; S2; S3
  hbmGB: 128, // S1 §3.3.1
  computeEfficiency: 1, // fraction of peak; tunable
  hbmEfficiency: 1, // fraction of HBM peak; tunable
  linkEfficiency: 1, // fraction of line rate; S1 v2 Table 1 measures ~0.84 for a die's reads
} as const;

export const NVL72 = {
  kind: "single-tier",
  nodes: 18, // 18 compute trays (S6/S7)
  npusPerNode: 4, // 2 superchips x 2 GPUs per tray (S6; S25)
  planes: 18, // 18 NVSwitch chips, one link from every GPU to each (S25, M)
  linksPerNpuPerSwitch: 1, // S25 (M)
  linkBandwidthGBps: 50, // NVLink 5: 100 GB/s bidir per link (S6); 18 x 50 = 900 GB/s per GPU (S5)
  linkLatencyNs: 25, // EST: not published (S17)
  switchLatencyNs: 150, // EST: not published; taken equal to the CM384 fit
  endpointOverheadNs: 400, // EST
  npuPeakTflopsBf16: 2500, // S5: 10 PF sparse per superchip / 2 GPUs / 2 (dense)
  hbmBandwidthGBps: 8000, // S5
  hbmGB: 186, // S5
  computeEfficiency: 1,
  hbmEfficiency: 1,
  linkEfficiency: 1,
} as const;

export const PRESETS = { cloudmatrix384: CLOUDMATRIX384, nvl72: NVL72 } as const;
export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

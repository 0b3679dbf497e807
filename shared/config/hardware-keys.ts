import { ScenarioError } from "../errors/index.js";

/** How a hardware parameter is validated. */
type Kind = "count" | "positive" | "nonneg" | "fraction";

/** Every overridable hardware parameter, with its validation rule. Names follow hardware.json. */
export const HW_KEYS: Readonly<Record<string, Kind>> = {
  nodes: "count", npusPerNode: "count", planes: "count", l2PerPlane: "count",
  linksPerNpuPerL1: "count", linksPerNpuPerSwitch: "count", diesPerNpu: "count",
  linkBandwidthGBps: "positive", uplinkBandwidthGBps: "positive", dieToDieBandwidthGBps: "positive",
  linkLatencyNs: "nonneg", intraNodeLinkLatencyNs: "nonneg", interNodeLinkLatencyNs: "nonneg",
  switchLatencyNs: "nonneg", endpointOverheadNs: "nonneg", dieToDieLatencyNs: "nonneg",
  npuPeakTflopsBf16: "positive", hbmBandwidthGBps: "positive", hbmGB: "positive",
  computeEfficiency: "fraction", hbmEfficiency: "fraction", linkEfficiency: "fraction",
};

export function checkHardwareValue(path: string, kind: Kind, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ScenarioError(path, `must be a number, got ${JSON.stringify(v)}`);
  switch (kind) {
    case "count": if (!Number.isInteger(v) || v < 1) throw new ScenarioError(path, `must be a positive integer, got ${v}`); break;
    case "positive": if (v <= 0) throw new ScenarioError(path, `must be > 0, got ${v}`); break;
    case "nonneg": if (v < 0) throw new ScenarioError(path, `must be ≥ 0, got ${v}`); break;
    case "fraction": if (v <= 0 || v > 1) throw new ScenarioError(path, `must be in (0, 1], got ${v}`); break;
  }
  return v;
}

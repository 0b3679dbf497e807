// MoE figures for `npm run bench`: one DeepSeek-V3 layer per EP degree on the full CloudMatrix384
// (sim engine, each point its own process), and EP 256 on the NATS engine through the CLI.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { watchMem } from "./nats-bench.js";

const CLI = fileURLToPath(new URL("../../services/cli/main.js", import.meta.url));

/** DeepSeek-V3 layer (hardware.md §6), 128 tokens per rank, uniform gating, CM384 message sizes. */
export const DSV3_LAYER = { kind: "moe-layer", hidden: 7168, experts: 256, topK: 8, expertIntermediate: 2048, sharedExperts: 1, tokensPerRank: 128, gating: { kind: "uniform" } };

export function simMoeCase(ep: number): unknown {
  return { topology: { preset: "cloudmatrix384", switches: "aggregated" }, workload: { ...DSV3_LAYER, ep }, engine: "sim", seed: 1 };
}

export interface NatsMoe { wallS: number; layerWallS: number; processes: number; peakRssMB: number; peakPssMB: number; messages: number; dispatchUs: number; combineUs: number; layerUs: number; verified: boolean }

/** EP `ep` on the full CM384 (aggregated, grouped placement) through `supernode run --engine nats`. */
export async function natsMoe(ep: number, localDelivery = true, nodesPerHost: "auto" | number = "auto"): Promise<NatsMoe> {
  const t0 = Date.now();
  let peak = { rss: 0, pss: 0 };
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile(process.execPath, ["--max-semi-space-size=64", CLI, "run", "--engine", "nats", "--preset", "cloudmatrix384", "--placement", "grouped",
      "--set", `workload=${JSON.stringify({ ...DSV3_LAYER, ep })}`, "--set", `deployment.localDelivery=${localDelivery}`, "--set", `deployment.nodesPerHost=${nodesPerHost}`, "--json", "--out", "/tmp/supernode-bench-moe"],
      { maxBuffer: 64 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    peak = watchMem(child);
  });
  const r = JSON.parse(out) as { status: string; processes: number; moe: { wallMs: number; messages: number; dispatchNs: number; combineNs: number; layerNs: number }[] };
  const m = r.moe[0]!;
  return {
    wallS: (Date.now() - t0) / 1000, layerWallS: m.wallMs / 1000, processes: r.processes, peakRssMB: peak.rss, peakPssMB: peak.pss, messages: m.messages,
    dispatchUs: m.dispatchNs / 1000, combineUs: m.combineNs / 1000, layerUs: m.layerNs / 1000, verified: r.status === "ok",
  };
}

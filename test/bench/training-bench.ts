// The full-scale training step of issue 10's benchmark: DeepSeek-V3 on all 384 NPUs of CloudMatrix384
// (DP 384 × EP 128, ZeRO-1, full recomputation, bf16 gradients, all 61 layers counted from 2 emulated),
// one step through the CLI on each engine: wall time including start and stop, peak RSS of the whole
// process tree, and the step's virtual figures (which must agree between the engines).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PSS_NOTE, watchMem } from "./nats-bench.js";

const CLI = fileURLToPath(new URL("../../services/cli/main.js", import.meta.url));
export const DSV3_FULL_STEP = "workload={kind: training, model: deepseek-v3, parallel: {dp: 384, ep: 128}, globalBatch: 1536, steps: 1, recompute: full, gradBytes: 2}";

export interface TrainingBench {
  engine: string; wallS: number; peakRssMB: number; peakPssMB: number; processes: number; messages: number;
  stepMs: number; mfu: number; digest: string; verified: boolean;
}

interface StepReport { status: string; processes: number; steps: { virtualTimeNs: number; mfu: number; paramDigest: string; messages: number; verified: boolean }[] }

/** One full-scale step on `engine` (the NATS engine with grouped placement, nodesPerHost auto: 5 processes on 2 cores). */
export async function trainingStep(engine: "sim" | "nats", nodesPerHost: "auto" | number = "auto"): Promise<TrainingBench> {
  const out = `/tmp/supernode-bench-training-${engine}`;
  const t0 = Date.now();
  let peak = { rss: 0, pss: 0 };
  await new Promise<void>((resolve, reject) => {
    const child = execFile(process.execPath, ["--max-semi-space-size=64", CLI, "run", "--engine", engine, "--preset", "cloudmatrix384",
      ...(engine === "nats" ? ["--placement", "grouped", "--set", `deployment.nodesPerHost=${nodesPerHost}`] : []), "--set", DSV3_FULL_STEP, "--quiet", "--out", out],
      { maxBuffer: 64 << 20 }, (err) => (err ? reject(err) : resolve()));
    peak = watchMem(child);
  });
  const r = JSON.parse(readFileSync(`${out}/report.json`, "utf8")) as StepReport;
  const s = r.steps[0]!;
  return {
    engine: engine === "nats" && nodesPerHost !== "auto" ? `nats, ${nodesPerHost} node a host` : engine, wallS: (Date.now() - t0) / 1000, peakRssMB: peak.rss, peakPssMB: peak.pss, processes: r.processes, messages: s.messages,
    stepMs: s.virtualTimeNs / 1e6, mfu: s.mfu, digest: s.paramDigest, verified: r.status === "ok" && s.verified,
  };
}

export function printTraining(rows: readonly TrainingBench[]): void {
  console.log("## Training: DeepSeek-V3 step on full CloudMatrix384 (DP 384 × EP 128, 61 layers from 2 emulated), through the CLI");
  console.log("targets (issue 10): sim ≤ 30 s, NATS ≤ 120 s, ≤ 8 GB total RSS");
  console.log("| engine | wall s (incl. start/stop) | processes | peak total RSS MB | peak total PSS MB | messages | step ms (virtual) | MFU % | param digest | verified |");
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  console.log(PSS_NOTE);
  for (const r of rows) {
    console.log(`| ${r.engine} | ${r.wallS.toFixed(1)} | ${r.processes} | ${r.peakRssMB.toFixed(0)} | ${r.peakPssMB.toFixed(0)} | ${r.messages} | ${r.stepMs.toFixed(1)} | ${(100 * r.mfu).toFixed(1)} | ${r.digest} | ${r.verified ? "yes" : "NO"} |`);
  }
  const a = rows[0]!;
  for (const b of rows.slice(1)) {
    console.log(`${a.engine} vs ${b.engine}: digests ${a.digest === b.digest ? "equal" : "DIFFER"}, step times differ by ${(100 * Math.abs(b.stepMs - a.stepMs) / a.stepMs).toFixed(3)}%`);
  }
}

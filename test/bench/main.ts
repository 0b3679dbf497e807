// `npm run bench`: wall-clock figures of the engines on this machine (not a test: nothing here fails a build).
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { DSV3_LAYER, natsMoe, simMoeCase } from "./moe-bench.js";
import { compareRing, fullScale, typicalDataMessageBytes } from "./nats-bench.js";

interface CaseResult {
  status: string; actors: number; wallMs: number; messages: number; maxRssMB: number;
  results: { size: number; virtualUs: number; errorPct: number; verified: boolean }[];
  moe: { ep: number; dispatchUs: number; combineUs: number; layerUs: number; errorPct: number; verified: boolean }[];
}

/** `npm run bench -- moe nats` runs only those sections (sim, nats, full, moe); no argument runs all. */
const only = new Set(process.argv.slice(2));
const section = (name: string) => only.size === 0 || only.has(name);

const CASE = fileURLToPath(new URL("./case.js", import.meta.url));
const NODE_FLAGS = ["--max-semi-space-size=64"];

function runCase(raw: unknown): CaseResult {
  const out = execFileSync(process.execPath, [...NODE_FLAGS, CASE, JSON.stringify(raw)], { encoding: "utf8", maxBuffer: 64 << 20 });
  return JSON.parse(out.trim().split("\n").pop()!) as CaseResult;
}

const collective = (topology: object, collective: string, algorithm: string, sizes: string[]) =>
  ({ topology, workload: { kind: "collective", collective, algorithm, sizes, ranks: "all" }, engine: "sim", seed: 1 });

const CASES: [string, unknown][] = [
  ["sim · CM384 physical (832 actors) · ring all-reduce 1GiB", collective({ preset: "cloudmatrix384", switches: "physical" }, "all-reduce", "ring", ["1GiB"])],
  ["sim · CM384 aggregated (448 actors) · ring all-reduce 1GiB", collective({ preset: "cloudmatrix384", switches: "aggregated" }, "all-reduce", "ring", ["1GiB"])],
  ["sim · CM384 aggregated · hierarchical all-reduce 1GiB", collective({ preset: "cloudmatrix384", switches: "aggregated" }, "all-reduce", "hierarchical", ["1GiB"])],
  ["sim · CM384 aggregated · direct all-to-all 64MiB", collective({ preset: "cloudmatrix384", switches: "aggregated" }, "all-to-all", "direct", ["64MiB"])],
  ["sim · NVL72 physical (90 actors) · ring all-reduce 1GiB", collective({ preset: "nvl72", switches: "physical" }, "all-reduce", "ring", ["1GiB"])],
];

console.log(`# supernode bench · ${new Date().toISOString().slice(0, 10)} · ${cpus().length} cores · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · node ${process.version}`);
if (section("sim")) {
console.log("| case | wall s | messages | messages/s | peak RSS MB | virtual µs | verified |");
console.log("|---|---|---|---|---|---|---|");
}
for (const [name, raw] of section("sim") ? CASES : []) {
  const r = runCase(raw);
  const v = r.results.map((x) => x.virtualUs.toFixed(1)).join(", ");
  console.log(`| ${name} | ${(r.wallMs / 1000).toFixed(2)} | ${r.messages} | ${Math.round(r.messages / (r.wallMs / 1000))} | ${r.maxRssMB.toFixed(0)} | ${v} | ${r.results.every((x) => x.verified) ? "yes" : "NO"} |`);
}

if (section("nats")) {
console.log("");
console.log("## NATS engine (real nats-server, one OS process per actor unless noted)");
console.log("| ring all-reduce on | processes | (a) raw NATS ring hops/s | (b) emulator hops/s | (b)/(a) | verified |");
console.log("|---|---|---|---|---|---|");
}
for (const [name, topology] of !section("nats") ? [] : [
  ["one CM384 node, physical switches (8 NPUs, 7 L1 chips)", { preset: "cloudmatrix384", nodes: 1, npusPerNode: 8, switches: "physical" }],
  ["default slice: 2 nodes × 4 NPUs, aggregated", { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" }],
] as const) {
  const ring = await compareRing(topology);
  console.log(`| ${name} | ${ring.processes} | ${Math.round(ring.rawHopsPerSec)} | ${Math.round(ring.emulatorHopsPerSec)} | ${ring.ratio.toFixed(2)} | ${ring.verified ? "yes" : "NO"} |`);
}
if (section("nats")) console.log(`(a): the same number of processes pass ${typicalDataMessageBytes()} B messages (an encoded data message) around a ring, one in flight per process.`);
if (section("full")) {
console.log("(c) full CloudMatrix384, aggregated switches (448 actors), grouped placement, 1 GiB all-reduce through the CLI:");
console.log("| algorithm | wall s (incl. start/stop) | processes | peak total RSS MB | messages | virtual µs | verified |");
console.log("|---|---|---|---|---|---|---|");
}
for (const algorithm of section("full") ? ["hierarchical", "ring"] : []) {
  const f = await fullScale(algorithm);
  console.log(`| ${f.algorithm} | ${f.wallS.toFixed(1)} | ${f.processes} | ${f.peakRssMB.toFixed(0)} | ${f.messages} | ${f.virtualUs.toFixed(1)} | ${f.verified ? "yes" : "NO"} |`);
}

if (section("moe")) {
  console.log("");
  console.log(`## MoE layer: DeepSeek-V3 (${DSV3_LAYER.experts} experts, top-${DSV3_LAYER.topK}, ${DSV3_LAYER.tokensPerRank} tokens/rank, uniform), full CloudMatrix384 aggregated`);
  console.log("(d) sim engine, each EP point in its own process:");
  console.log("| EP | wall s | messages | peak RSS MB | dispatch µs | combine µs | layer µs | dispatch vs bound % | verified |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const ep of [8, 16, 32, 64, 128, 256]) {
    const r = runCase(simMoeCase(ep));
    const m = r.moe[0]!;
    console.log(`| ${ep} | ${(r.wallMs / 1000).toFixed(2)} | ${r.messages} | ${r.maxRssMB.toFixed(0)} | ${m.dispatchUs.toFixed(2)} | ${m.combineUs.toFixed(2)} | ${m.layerUs.toFixed(2)} | ${m.errorPct.toFixed(2)} | ${m.verified ? "yes" : "NO"} |`);
  }
  console.log("(e) NATS engine, EP 256, grouped placement, through the CLI:");
  console.log("| EP | wall s (incl. start/stop) | layer wall s | processes | peak total RSS MB | messages | layer µs | verified |");
  console.log("|---|---|---|---|---|---|---|---|");
  const n = await natsMoe(256);
  console.log(`| 256 | ${n.wallS.toFixed(1)} | ${n.layerWallS.toFixed(1)} | ${n.processes} | ${n.peakRssMB.toFixed(0)} | ${n.messages} | ${n.layerUs.toFixed(2)} | ${n.verified ? "yes" : "NO"} |`);
}

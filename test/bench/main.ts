// `npm run bench`: wall-clock figures of the engines on this machine (not a test: nothing here fails a build).
import { cpus, totalmem } from "node:os";
import { DEFAULT_REPEAT, runBaseline } from "./baseline.js";
import { DSV3_LAYER, natsMoe, simMoeCase } from "./moe-bench.js";
import { compareRing, fullScale, RING_HOPS, PSS_NOTE, typicalDataMessageBytes } from "./nats-bench.js";
import { runCase, SIM_CASES } from "./run-case.js";
import { printScale, runScale } from "./scale-bench.js";
import { printTraining, trainingStep } from "./training-bench.js";

const USAGE = `usage: npm run bench -- [section…] [--baseline <git rev> [--repeat N]]
  sections: sim nats full moe (all four when none is named), scale (only when named: 20–35 min here, most of it the 8,192-NPU case),
            training (only when named: the full-scale DeepSeek-V3 step on both engines, several minutes)
  --baseline <rev>: the sim cases (sections sim and moe; default sim) on <rev> and on this tree,
                    alternately, --repeat N times each (default ${DEFAULT_REPEAT}), min-of-N side by side`;

/** Parses `[section…] [--baseline rev] [--repeat N]` (also `--flag=value`). */
function parseArgs(argv: readonly string[]): { sections: Set<string>; baseline?: string; repeat: number } {
  const sections = new Set<string>();
  let baseline: string | undefined, repeat = DEFAULT_REPEAT;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if (!flag.startsWith("--")) { sections.add(flag); continue; }
    if (flag !== "--baseline" && flag !== "--repeat") fail(`unknown option ${flag}`);
    const value = inline ?? argv[++i];
    if (value === undefined) fail(`${flag} needs a value`);
    if (flag === "--baseline") baseline = value;
    else {
      repeat = Number(value);
      if (!Number.isInteger(repeat) || repeat < 1) fail(`--repeat must be a positive integer, got ${value}`);
    }
  }
  const known = ["sim", "nats", "full", "moe", "scale", "training"];
  for (const s of sections) if (!known.includes(s)) fail(`unknown section ${s}`);
  return { sections, repeat, ...(baseline !== undefined ? { baseline } : {}) };
}

function fail(why: string): never {
  process.stderr.write(`bench: ${why}\n${USAGE}\n`);
  process.exit(2);
}

const MOE_EPS = [8, 16, 32, 64, 128, 256] as const;
const args = parseArgs(process.argv.slice(2));
/** No section named runs sim, nats, full and moe; `scale` runs only when named. */
const section = (name: string) => args.sections.has(name) || (args.sections.size === 0 && name !== "scale" && name !== "training");
const progress = (line: string) => process.stderr.write(`${line}\n`);

console.log(`# supernode bench · ${new Date().toISOString().slice(0, 10)} · ${cpus().length} cores · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · node ${process.version}`);
if (args.baseline !== undefined) {
  const wanted = args.sections.size === 0 ? new Set(["sim"]) : args.sections;
  for (const s of wanted) if (s !== "sim" && s !== "moe") fail(`--baseline compares sim-engine cases only (sections sim, moe), not ${s}`);
  const cases = [
    ...(wanted.has("sim") ? SIM_CASES : []),
    ...(wanted.has("moe") ? MOE_EPS.map((ep) => [`sim · MoE DeepSeek-V3 layer, EP ${ep}, CM384 aggregated`, simMoeCase(ep)] as const) : []),
  ];
  // Signals are ours in this mode: abort the running case so the baseline worktree is removed before we exit.
  const stop = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => stop.abort(new Error(`interrupted (${sig})`)));
  try {
    await runBaseline(args.baseline, cases, args.repeat, stop.signal, progress);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.exit(0);
}
if (section("sim")) {
console.log("| case | wall s | messages | messages/s | peak RSS MB | virtual µs | verified |");
console.log("|---|---|---|---|---|---|---|");
}
for (const [name, raw] of section("sim") ? SIM_CASES : []) {
  const { result: r } = await runCase(raw);
  const v = r.results.map((x) => x.virtualUs.toFixed(1)).join(", ");
  console.log(`| ${name} | ${(r.wallMs / 1000).toFixed(2)} | ${r.messages} | ${Math.round(r.messages / (r.wallMs / 1000))} | ${r.maxRssMB.toFixed(0)} | ${v} | ${r.results.every((x) => x.verified) ? "yes" : "NO"} |`);
}

if (section("nats")) {
console.log("");
console.log("## NATS engine (real nats-server, one OS process per actor unless noted)");
console.log("| ring all-reduce on | processes | (b) ops | (a) raw NATS ring hops/s | (b) emulator hops/s | (b)/(a) | (a) CPU µs/hop | (b) CPU µs/hop | (b) in flight | (a') raw ring at that, hops/s | (b)/(a') | (a') CPU µs/hop | verified |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
}
for (const [name, topology] of !section("nats") ? [] : [
  ["one CM384 node, physical switches (8 NPUs, 7 L1 chips)", { preset: "cloudmatrix384", nodes: 1, npusPerNode: 8, switches: "physical" }],
  ["default slice: 2 nodes × 4 NPUs, aggregated", { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" }],
] as const) {
  const ring = await compareRing(topology);
  console.log(`| ${name} | ${ring.processes} | ${ring.ops} | ${Math.round(ring.rawHopsPerSec)} | ${Math.round(ring.emulatorHopsPerSec)} | ${ring.ratio.toFixed(2)} | ${ring.rawCpuUsPerHop.toFixed(0)} | ${ring.emulatorCpuUsPerHop.toFixed(0)} | ${ring.inFlight} | ${Math.round(ring.rawSameHopsPerSec)} | ${ring.sameRatio.toFixed(2)} | ${ring.rawSameCpuUsPerHop.toFixed(0)} | ${ring.verified ? "yes" : "NO"} |`);
}
if (section("nats")) console.log(`(a): the same number of processes pass ${typicalDataMessageBytes()} B messages (an encoded data message) around a ring, one in flight per process, ${RING_HOPS} hops; (b) runs as many 64 MiB ops as make at least as many hops. CPU µs/hop: user + system time of every process of the side (bench process, actors or ring nodes, nats-server) over its run, per hop; (b) includes each op's control and status round. (a'): the raw ring with as many messages in flight as (b) keeps (each rank's transfer, one message per first hop): the same processes at the same concurrency.`);
if (section("full")) {
console.log("(c) full CloudMatrix384, aggregated switches (448 actors), grouped placement, 1 GiB all-reduce through the CLI (nodes a host: deployment.nodesPerHost; auto aims at two host processes per core):");
console.log("| algorithm | localDelivery | nodes a host | wall s (incl. start/stop) | processes | peak total RSS MB | peak total PSS MB | messages | virtual µs | verified |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
console.log(PSS_NOTE);
}
for (const [algorithm, local, perHost] of section("full") ? [["hierarchical", true, "auto"], ["ring", true, "auto"], ["hierarchical", false, "auto"], ["ring", false, "auto"], ["hierarchical", true, 1]] as const : []) {
  const f = await fullScale(algorithm, local, perHost);
  console.log(`| ${f.algorithm} | ${f.localDelivery} | ${perHost} | ${f.wallS.toFixed(1)} | ${f.processes} | ${f.peakRssMB.toFixed(0)} | ${f.peakPssMB.toFixed(0)} | ${f.messages} | ${f.virtualUs.toFixed(1)} | ${f.verified ? "yes" : "NO"} |`);
}

if (section("moe")) {
  console.log("");
  console.log(`## MoE layer: DeepSeek-V3 (${DSV3_LAYER.experts} experts, top-${DSV3_LAYER.topK}, ${DSV3_LAYER.tokensPerRank} tokens/rank, uniform), full CloudMatrix384 aggregated`);
  console.log("(d) sim engine, each EP point in its own process:");
  console.log("| EP | wall s | messages | peak RSS MB | dispatch µs | combine µs | layer µs | dispatch vs bound % | verified |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const ep of MOE_EPS) {
    const { result: r } = await runCase(simMoeCase(ep));
    const m = r.moe[0]!;
    console.log(`| ${ep} | ${(r.wallMs / 1000).toFixed(2)} | ${r.messages} | ${r.maxRssMB.toFixed(0)} | ${m.dispatchUs.toFixed(2)} | ${m.combineUs.toFixed(2)} | ${m.layerUs.toFixed(2)} | ${m.errorPct.toFixed(2)} | ${m.verified ? "yes" : "NO"} |`);
  }
  console.log("(e) NATS engine, EP 256, grouped placement, through the CLI:");
  console.log("| EP | localDelivery | nodes a host | wall s (incl. start/stop) | layer wall s | processes | peak total RSS MB | peak total PSS MB | messages | layer µs | verified |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  console.log(PSS_NOTE);
  for (const [local, perHost] of [[true, "auto"], [false, "auto"], [true, 1]] as const) {
    const n = await natsMoe(256, local, perHost);
    console.log(`| 256 | ${local} | ${perHost} | ${n.wallS.toFixed(1)} | ${n.layerWallS.toFixed(1)} | ${n.processes} | ${n.peakRssMB.toFixed(0)} | ${n.peakPssMB.toFixed(0)} | ${n.messages} | ${n.layerUs.toFixed(2)} | ${n.verified ? "yes" : "NO"} |`);
  }
}

if (section("training")) {
  console.log("");
  const rows = [];
  for (const [engine, perHost] of [["sim", "auto"], ["nats", "auto"], ["nats", 1]] as const) {
    progress(`training: full-scale DeepSeek-V3 step on the ${engine} engine${engine === "nats" ? ` (nodesPerHost ${perHost})` : ""}…`);
    rows.push(await trainingStep(engine, perHost));
  }
  printTraining(rows);
}

if (section("scale")) {
  console.log("");
  printScale(await runScale(progress));
}

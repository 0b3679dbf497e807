// NATS-engine figures for `npm run bench`: the emulator's hop rate against a raw NATS ring of the same
// size, and full-scale CloudMatrix384 wall time and memory.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { encode } from "../../shared/codec/index.js";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedServer } from "../../shared/natsserver/index.js";
import { PROTOCOL_VERSION, type DataMsg } from "../../shared/protocol/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario } from "../../services/coordinator/index.js";
import { descendantsOf } from "../helpers/procs.js";
import { simEngine } from "../helpers/run.js";
import { runRawRing } from "./raw-ring.js";

const CLI = fileURLToPath(new URL("../../services/cli/main.js", import.meta.url));

/** Encoded size of a typical data stripe (one real element): the raw ring passes messages this big. */
export function typicalDataMessageBytes(): number {
  const m: DataMsg = {
    v: PROTOCOL_VERSION, type: "data", from: 3, epoch: 1, inc: 0, op: 4, src: 3 as never, dst: 17 as never, tag: 65_540, stripes: 2,
    totalBytes: 134_217_728, sentNs: 123_456.5 as never,
    parts: [{ stripe: 1, bytes: 67_108_864, headNs: 123_999.25 as never, tailNs: 466_000.75 as never, path: [12, 345, 678, 90] as never, hop: 0, payload: new Float64Array([3]), crc: 123_456_789 }],
  };
  return encode(m).byteLength;
}

export interface RingComparison {
  processes: number; payloadBytes: number; ops: number;
  /** Messages the emulator's ring keeps in flight (each rank's transfer, one message per first hop), and the raw ring run at that concurrency. */
  inFlight: number; rawSameHopsPerSec: number; sameRatio: number; rawSameCpuUsPerHop: number;
  rawHopsPerSec: number; emulatorHopsPerSec: number; ratio: number; verified: boolean;
  /** CPU µs per hop, every process of the side (this one, its actors or ring nodes, nats-server), over its whole run. */
  rawCpuUsPerHop: number; emulatorCpuUsPerHop: number;
}

/** CPU ms (user + system) of this process and all its descendants, from /proc (clock ticks of 10 ms). */
export function treeCpuMs(root = process.pid): number {
  let ticks = 0;
  for (const pid of [root, ...descendantsOf(root)]) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15 of proc(5))
    } catch { /* gone */ }
  }
  return ticks * 10;
}

/** Hops each side of the ring comparison makes: the raw ring's publishes, and (at least) the emulator's. */
export const RING_HOPS = 200_000;

/**
 * (a) raw ring: `processes` processes pass messages of the emulator's data-message size around a ring;
 * (b) the emulator's ring all-reduce (64 MiB ops) on the same topology, one actor per process: every
 * publish counts (NPU→switch, switch→switch, switch→NPU). Same server, same run. Both sides make about
 * RING_HOPS hops: the emulator runs as many ops as that takes (its messages per op counted first on the
 * sim engine, which sends the same messages), so neither side's figure is mostly its JIT warm-up (40
 * ops, 15 K hops on the default slice, measured half the steady rate).
 */
export async function compareRing(topology: Readonly<Record<string, unknown>> = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" }): Promise<RingComparison> {
  await using server = await startEmbeddedServer();
  const workload = (ops: number) => ({ kind: "collective", collective: "all-reduce", algorithm: "ring", sizes: Array.from({ length: ops }, () => "64MiB") });
  const probe = loadScenario({ raw: { topology: { ...topology }, workload: workload(1), engine: "sim" } });
  let perOp: number;
  {
    await using sim = simEngine(probe);
    perOp = (await runScenario(probe, sim)).results[0]!.messages;
  }
  const ops = Math.ceil(RING_HOPS / perOp);
  const raw = loadScenario({ raw: {
    topology: { ...topology }, workload: workload(ops),
    engine: "nats", deployment: { nats: server.url, placement: "per-actor" },
  } });
  const payloadBytes = typicalDataMessageBytes();
  let emulator: { hops: number; ms: number; verified: boolean; cpuMs: number };
  {
    await using engine = await NatsEngine.start(raw, silentLogger);
    const cpu0 = treeCpuMs();
    const report = await runScenario(raw, engine);
    const cpuMs = treeCpuMs() - cpu0; // the whole run: data, per-op control and status, heartbeats
    emulator = {
      hops: report.results.reduce((s, r) => s + r.messages, 0),
      ms: report.results.reduce((s, r) => s + (r.messages / r.wallHopsPerSec) * 1000, 0),
      verified: report.status === "ok", cpuMs,
    };
  }
  const processes = raw.topology.devices.length;
  const ring = await rawRing(server.url, processes, payloadBytes);
  // The emulator's ring keeps one transfer per rank in flight, sent as one message per first hop (its
  // stripes bundled by next device): on the default slice 8 against the raw ring's 26. (a') is the raw
  // ring at that concurrency.
  const t = raw.topology, ends = t.endpoints;
  const inFlight = ends.reduce((s, e, i) => s + new Set(t.route(e, ends[(i + 1) % ends.length]!).stripes.map((p) => t.linkTo[p[0]!])).size, 0);
  const same = await rawRing(server.url, processes, payloadBytes, inFlight);
  const emulatorHopsPerSec = emulator.hops / (emulator.ms / 1000);
  return {
    processes, payloadBytes, ops, inFlight, rawHopsPerSec: ring.hopsPerSec, emulatorHopsPerSec, ratio: emulatorHopsPerSec / ring.hopsPerSec, verified: emulator.verified,
    rawCpuUsPerHop: ring.cpuUsPerHop, emulatorCpuUsPerHop: (emulator.cpuMs * 1000) / emulator.hops,
    rawSameHopsPerSec: same.hopsPerSec, sameRatio: emulatorHopsPerSec / same.hopsPerSec, rawSameCpuUsPerHop: same.cpuUsPerHop,
  };
}

/** A raw ring of RING_HOPS hops: hops/s, and CPU µs per hop of its nodes and the server over its window. */
async function rawRing(url: string, processes: number, payloadBytes: number, inFlight?: number): Promise<{ hopsPerSec: number; cpuUsPerHop: number }> {
  let cpu0 = 0, cpuMs = 0;
  const r = await runRawRing({
    url, processes, payloadBytes, hops: RING_HOPS, timeoutMs: 120_000, ...(inFlight !== undefined ? { inFlight } : {}),
    onWindow: (phase) => { if (phase === "start") cpu0 = treeCpuMs(); else cpuMs = treeCpuMs() - cpu0; },
  });
  return { hopsPerSec: r.wallHopsPerSec, cpuUsPerHop: (cpuMs * 1000) / r.hops };
}

/** Printed under each table with both columns. */
export const PSS_NOTE = "(total RSS, what the targets name, counts the pages processes share once per process — the node binary, ~41 MB per host; total PSS divides them among their sharers: what the run takes from the machine)";

/**
 * The memory of a process tree: the sum of RSS (what the issues' targets name) and the sum of PSS.
 * RSS counts the pages processes share — the node binary's text and read-only data, about 41 MB per
 * host process — once per process; PSS divides each shared page among its sharers, so its sum is what
 * the tree takes from the machine (Linux smaps_rollup).
 */
export function treeMemMB(root: number): { rss: number; pss: number } {
  let rss = 0, pss = 0;
  for (const pid of [root, ...descendantsOf(root)]) {
    try {
      const s = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      rss += Number(/^Rss:\s+(\d+)/m.exec(s)?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+)/m.exec(s)?.[1] ?? 0);
    } catch { /* gone */ }
  }
  return { rss: rss / 1024, pss: pss / 1024 };
}

/** Samples a child's tree every 250 ms until it exits: the peaks of both sums. */
export function watchMem(child: { pid?: number | undefined; on(e: "exit", f: () => void): unknown }): { rss: number; pss: number } {
  const peak = { rss: 0, pss: 0 };
  const timer = setInterval(() => {
    if (!child.pid) return;
    const m = treeMemMB(child.pid);
    peak.rss = Math.max(peak.rss, m.rss);
    peak.pss = Math.max(peak.pss, m.pss);
  }, 250);
  child.on("exit", () => clearInterval(timer));
  return peak;
}

export interface FullScale { algorithm: string; localDelivery: boolean; wallS: number; peakRssMB: number; peakPssMB: number; processes: number; virtualUs: number; verified: boolean; messages: number }

/**
 * (c) full CloudMatrix384, aggregated switches, grouped placement, through the CLI: wall time and peak
 * RSS of the whole process tree; `localDelivery: false` sends co-located actors' messages over NATS too;
 * `nodesPerHost` as the scenario field (auto: about two host processes per core; 1: a process per node).
 */
export async function fullScale(algorithm: string, localDelivery = true, nodesPerHost: "auto" | number = "auto"): Promise<FullScale> {
  const t0 = Date.now();
  let peak = { rss: 0, pss: 0 };
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile(process.execPath, ["--max-semi-space-size=64", CLI, "run", "--engine", "nats", "--preset", "cloudmatrix384", "--placement", "grouped",
      "--set", `workload.algorithm=${algorithm}`, "--set", "workload.sizes=[1GiB]", "--set", `deployment.localDelivery=${localDelivery}`, "--set", `deployment.nodesPerHost=${nodesPerHost}`, "--json", "--out", "/tmp/supernode-bench"],
      { maxBuffer: 64 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    peak = watchMem(child);
  });
  const r = JSON.parse(out) as { status: string; processes: number; results: { virtualTimeNs: number; messages: number }[] };
  return { algorithm, localDelivery, wallS: (Date.now() - t0) / 1000, peakRssMB: peak.rss, peakPssMB: peak.pss, processes: r.processes, virtualUs: r.results[0]!.virtualTimeNs / 1000, verified: r.status === "ok", messages: r.results[0]!.messages };
}

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { SimEngine, type ActorLogic } from "../../shared/runtime/index.js";
import { finishTrace, traceFor } from "../../services/cli/trace-out.js";
import { runScenario } from "../../services/coordinator/index.js";
import { npuLogic } from "../../services/npu/index.js";
import { switchLogic } from "../../services/switch/index.js";
import { nsOf, runTraced, type ChromeEvent, type ChromeTrace } from "../helpers/trace.js";

/**
 * `--trace` on the sim engine: trace.json is Chrome trace-event JSON whose structure holds (slices
 * inside their rank's step, flows from send to delivery, tracks named), whose step slices are the
 * report's step times, and whose size respects the cap.
 */
const TINY_MOE = { base: "deepseek-v3", layers: 4, denseLayers: 1, hidden: 1024, heads: 8, headDim: 128, vHeadDim: 128, kvHeads: 8, ffnIntermediate: 2048, vocab: 8192, experts: 16, topK: 4, expertIntermediate: 256 };
const TOPOLOGY = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 };
const NPUS = 8;

/** DP 8 × EP 4 over 2 nodes, ZeRO-1, overlapped buckets, 2 repeated layers each standing for more: every kind of slice. */
function training(trace: Record<string, unknown>, workload: Record<string, unknown> = {}): unknown {
  return {
    topology: TOPOLOGY, engine: "sim", seed: 3, outputs: { trace },
    workload: { kind: "training", model: TINY_MOE, parallel: { dp: 8, ep: 4 }, globalBatch: 16, seqLen: 1024, steps: 2, zero: 1, repeatLayers: true, ...workload },
  };
}

interface Threads { readonly name: Map<string, string>; readonly processes: Map<number, string> }

const key = (e: { pid: number; tid: number }) => `${e.pid}:${e.tid}`;

function threads(t: ChromeTrace): Threads {
  const name = new Map<string, string>(), processes = new Map<number, string>();
  for (const e of t.traceEvents) {
    if (e.ph === "M" && e.name === "thread_name") name.set(key(e), String(e.args!.name));
    if (e.ph === "M" && e.name === "process_name") processes.set(e.pid, String(e.args!.name));
  }
  return { name, processes };
}

/** The actor a thread belongs to: its main lane is named by the device, the others `device · lane`. */
const actorOf = (th: Threads, e: ChromeEvent): string => th.name.get(key(e))!.split(" · ")[0]!;

const slices = (t: ChromeTrace) => t.traceEvents.filter((e) => e.ph === "X");

/** The step slices of an actor's main lane, as [startNs, endNs] with their op. */
function stepsByActor(t: ChromeTrace, th: Threads): Map<string, { op: number; start: number; end: number }[]> {
  const m = new Map<string, { op: number; start: number; end: number }[]>();
  for (const e of slices(t)) {
    if (e.cat !== "step" || th.name.get(key(e))!.includes(" · ")) continue;
    const a = actorOf(th, e);
    if (!m.has(a)) m.set(a, []);
    m.get(a)!.push({ op: Number(e.args!.op), start: nsOf(e.ts!), end: nsOf(e.ts! + e.dur!) });
  }
  return m;
}

describe("trace.json of a training run", async () => {
  const { report, trace } = await runTraced(training({ detail: "flows" }));
  const th = threads(trace);
  const steps = stepsByActor(trace, th);

  it("is Chrome trace-event JSON: an object with traceEvents, every event of a known phase with pid, tid and (but M) ts", () => {
    expect(report.status).toBe("ok");
    expect(Array.isArray(trace.traceEvents)).toBe(true);
    expect(trace.displayTimeUnit).toBe("ns");
    for (const e of trace.traceEvents) {
      expect(["M", "X", "i", "C", "s", "f"]).toContain(e.ph);
      expect(Number.isInteger(e.pid) && Number.isInteger(e.tid)).toBe(true);
      if (e.ph !== "M") expect(typeof e.ts).toBe("number");
    }
    expect(trace.otherData.trace).toMatchObject({ detail: "flows", dropped: 0 });
    expect(trace.otherData.trace.events).toBe(trace.traceEvents.filter((e) => e.ph !== "M").length);
  });

  it("names a process per node and a thread per NPU and per switch that appears; every track used is named", () => {
    expect([...new Set(th.processes.values())].filter((n) => n.startsWith("node ")).sort()).toEqual(["node 0", "node 1"]);
    const names = new Set(th.name.values());
    for (let n = 0; n < 2; n++) for (let k = 0; k < 4; k++) expect(names).toContain(`npu.n${n}.${k}`);
    expect(names).toContain("l1.n0");
    expect(names).toContain("l1.n1");
    expect([...names].some((n) => n.startsWith("l2."))).toBe(true);
    for (const e of trace.traceEvents) if (e.ph !== "M") expect(th.name.has(key(e)), `${e.ph} ${e.name} on an unnamed track`).toBe(true);
  });

  it("has a step slice per rank per step, phases, kernels with their op class and FLOPs, and port slices", () => {
    expect([...steps.keys()].sort()).toHaveLength(NPUS);
    for (const list of steps.values()) expect(list.map((s) => s.op)).toEqual([1, 2]);
    const names = slices(trace).map((e) => e.name);
    for (const phase of ["fwd L1 moe", "fwd L1 EP dispatch", "bwd L1 EP combine", "fwd L2–L3 moe (2 counted)", "DP bucket 0 reduce-scatter (hierarchical)", "expert-DP bucket 1 reduce-scatter", "DP embedding bucket all-gather", "DP wait (exposed)", "optimizer", "micro-step 1"]) {
      expect(names, phase).toContain(phase);
    }
    const kernels = slices(trace).filter((e) => e.cat === "kernel");
    expect(kernels.length).toBeGreaterThan(0);
    for (const k of kernels) {
      expect(["matmul", "attention", "elementwise", "optimizer"]).toContain(k.args!.class);
      expect(k.args!.flops as number).toBeGreaterThan(0);
      expect(th.name.get(key(k))).toMatch(/ · compute$/);
    }
    expect(slices(trace).some((e) => e.cat === "port" && th.name.get(key(e))!.startsWith("l1."))).toBe(true);
  });

  it("puts every slice inside its rank's step slice (switches': inside the op's span over ranks), with ts ≥ 0 and dur ≥ 0", () => {
    const opSpan = new Map<number, { start: number; end: number }>();
    for (const list of steps.values()) for (const s of list) {
      const o = opSpan.get(s.op) ?? { start: Infinity, end: -Infinity };
      opSpan.set(s.op, { start: Math.min(o.start, s.start), end: Math.max(o.end, s.end) });
    }
    let checked = 0;
    for (const e of slices(trace)) {
      expect(e.ts!).toBeGreaterThanOrEqual(0);
      expect(e.dur!).toBeGreaterThanOrEqual(0);
      const start = nsOf(e.ts!), end = nsOf(e.ts! + e.dur!);
      const outer = e.cat === "port" ? [opSpan.get(Number(e.args!.op))!] : steps.get(actorOf(th, e))!;
      expect(outer.some((s) => s.start <= start && end <= s.end), `${e.name} [${start}, ${end}] on ${th.name.get(key(e))}`).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it("gives every flow exactly one start and one finish, start ≤ finish, each point inside a slice of its track (so viewers bind it)", () => {
    const starts = new Map<number, ChromeEvent[]>(), finishes = new Map<number, ChromeEvent[]>();
    for (const e of trace.traceEvents) {
      if (e.ph === "s") starts.set(e.id!, [...(starts.get(e.id!) ?? []), e]);
      if (e.ph === "f") finishes.set(e.id!, [...(finishes.get(e.id!) ?? []), e]);
    }
    expect(starts.size).toBeGreaterThan(100);
    expect([...finishes.keys()].sort((a, b) => a - b)).toEqual([...starts.keys()].sort((a, b) => a - b));
    const byTrack = new Map<string, [number, number][]>();
    for (const e of slices(trace)) byTrack.set(key(e), [...(byTrack.get(key(e)) ?? []), [nsOf(e.ts!), nsOf(e.ts! + e.dur!)]]);
    // Perfetto closes a slice at its end before binding a flow point there: a point must be strictly before the end.
    const bound = (e: ChromeEvent) => (byTrack.get(key(e)) ?? []).some(([s, t]) => s <= nsOf(e.ts!) && nsOf(e.ts!) < t);
    for (const [id, [s]] of starts) {
      const f = finishes.get(id)!;
      expect(finishes.get(id)).toHaveLength(1);
      expect(starts.get(id)).toHaveLength(1);
      expect(s!.ts!).toBeLessThanOrEqual(f[0]!.ts!);
      expect(f[0]!.bp).toBe("e");
      expect(bound(s!) && bound(f[0]!), `flow ${id}`).toBe(true);
    }
  });

  it("makes the slowest rank's step slice the report's step time: max_r dur(step k, r) = steps[k].virtualTimeNs / 1000", () => {
    // Step k starts on every rank at the same virtual time s_k and ends on rank r at e_{k,r}; the report's
    // virtualTimeNs is max_r e_{k,r} − s_k. The writer rounds each end to whole ns: |Δ| ≤ 1 ns = 0.001 µs.
    report.steps!.forEach((row, k) => {
      const durs = [...steps.values()].map((list) => (list[k]!.end - list[k]!.start) / 1000);
      expect(Math.abs(Math.max(...durs) - row.virtualTimeNs / 1000)).toBeLessThanOrEqual(0.001);
    });
  });

  it("samples port queue depths as non-negative counters, at most the detail's bins per port", () => {
    const counters = trace.traceEvents.filter((e) => e.ph === "C");
    expect(counters.length).toBeGreaterThan(0);
    const perPort = new Map<string, number>();
    for (const c of counters) {
      expect(c.args!.bytes as number).toBeGreaterThanOrEqual(0);
      perPort.set(c.name, (perPort.get(c.name) ?? 0) + 1);
    }
    // flows detail: 256 bins per port, plus the closing 0.
    for (const n of perPort.values()) expect(n).toBeLessThanOrEqual(257);
    expect(counters.some((c) => (c.args!.bytes as number) > 0)).toBe(true);
  });
});

describe("trace detail levels and the cap", () => {
  it("with a tiny cap keeps the steps first, reports the dropped count, and holds at most maxEvents events", async () => {
    const cap = 40;
    const { trace, file } = await runTraced(training({ detail: "phases", maxEvents: cap }, { steps: 1 }));
    const events = trace.traceEvents.filter((e) => e.ph !== "M");
    expect(events.length).toBeLessThanOrEqual(cap);
    expect(trace.otherData.trace.dropped).toBeGreaterThan(0);
    expect(trace.otherData.trace.dropped).toBe(file.summary.dropped);
    // 8 ranks × (main + dp lane) step slices come before everything else.
    expect(events.filter((e) => e.cat === "step")).toHaveLength(16);
  });

  it("says on the line `supernode run --trace` prints how many events the cap dropped", async () => {
    const loaded = loadScenario({ raw: training({ maxEvents: 40 }, { steps: 1 }) });
    const trace = traceFor(loaded, true)!;
    const dir = mkdtempSync(join(tmpdir(), "supernode-trace-line-"));
    try {
      await using engine = new SimEngine({ topology: loaded.topology, npu: npuLogic as ActorLogic<never>, switch: switchLogic as ActorLogic<never>, trace });
      const report = await runScenario(loaded, engine);
      const line = finishTrace(dir, trace, loaded, report);
      expect(line).toMatch(/^# trace: .*trace\.json · 40 events, detail phases, .* [\d,]+ dropped over the cap of 40 \(outputs\.trace\.maxEvents\) · [\d.]+ MB$/);
      expect(existsSync(join(dir, "trace.json"))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("steps keeps step slices only; full adds reductions; the default is phases", async () => {
    const few = await runTraced(training({ detail: "steps" }, { steps: 1 }));
    expect(new Set(few.trace.traceEvents.filter((e) => e.ph !== "M").map((e) => `${e.ph}:${e.cat}`))).toEqual(new Set(["X:step"]));
    const all = await runTraced(training({ detail: "full" }, { steps: 1 }));
    expect(all.trace.traceEvents.some((e) => e.cat === "reduce")).toBe(true);
    expect(loadScenario({ raw: training({}) }).scenario.outputs.trace).toEqual({ detail: "phases", maxEvents: 1_000_000 });
  });

  it("a collective sweep and an MoE layer get a slice per op per rank; MoE phases and marks too", async () => {
    const { trace } = await runTraced({
      topology: TOPOLOGY, engine: "sim", seed: 1, outputs: { trace: { detail: "phases" } },
      workload: [{ kind: "collective", collective: "all-reduce", sizes: ["64KiB", "1MiB"] }, { kind: "moe-layer", ep: 8, tokensPerRank: 16 }],
    });
    const th = threads(trace);
    const steps = stepsByActor(trace, th);
    expect(steps.size).toBe(NPUS);
    for (const list of steps.values()) expect(list.map((s) => s.op)).toEqual([1, 2, 3]);
    const names = new Set(slices(trace).map((e) => e.name));
    for (const n of ["all-reduce ring 64KiB", "all-reduce ring 1MiB", "moe-layer EP 8", "dispatch", "experts", "combine"]) expect(names).toContain(n);
    expect(trace.traceEvents.filter((e) => e.ph === "i" && e.cat === "mark")).toHaveLength(2 * NPUS);
  });

  it("refuses a bad detail naming the field, and --trace with the NATS engine (never a silent empty trace)", () => {
    expect(() => loadScenario({ raw: training({ detail: "everything" }) })).toThrow(/^outputs\.trace\.detail: /);
    expect(() => loadScenario({ raw: training({ maxEvents: 0 }) })).toThrow(/^outputs\.trace\.maxEvents: /);
    const nats = loadScenario({ raw: { ...(training({}) as object), engine: "nats" } });
    expect(() => traceFor(nats, true)).toThrow(ScenarioError);
    expect(() => traceFor(nats, true)).toThrow(/--trace needs the sim engine \(--engine sim\)/);
    expect(traceFor(nats, false)).toBeUndefined();
  });
});

import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { runScenario, type Progress, type ProgressUnit } from "../../services/coordinator/index.js";
import { createProgress, DEFAULT_SHOW_AFTER_MS, formatEta, type Every, type ProgressStream } from "../../services/cli/progress.js";
import { scenario, simEngine, singleSwitch } from "../helpers/run.js";

/** A stand-in for stderr that keeps what is written; `isTTY` says which renderer it gets. */
function sink(isTTY: boolean): ProgressStream & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } });
  return Object.assign(w, { isTTY, columns: 120, text: () => chunks.join("") });
}

/** An injected wall clock and tick: the test moves time and fires the tick by hand. */
function clock(): { now: () => number; set: (ms: number) => void; every: Every; tick: () => void; cancelled: () => boolean } {
  let t = 0, fn: (() => void) | undefined, cancelled = false;
  return {
    now: () => t, set: (ms) => { t = ms; },
    every: (_ms, f) => { fn = f; cancelled = false; return () => { cancelled = true; fn = undefined; }; },
    tick: () => fn?.(), cancelled: () => cancelled,
  };
}

const lines = (s: string) => s.split("\n").filter(Boolean);

describe("plain progress lines (stderr not a terminal)", () => {
  it("prints a line after the first second, then at most one per 10 s, and one at the end", () => {
    const out = sink(false), c = clock();
    const p = createProgress({ stream: out, now: c.now, every: c.every, showAfterMs: 1_000 });
    p.start(50, "step", "training tiny");
    c.set(500); p.update(0, "step 1/50 running");
    expect(out.text()).toBe(""); // under a second: nothing yet
    c.set(1_200); p.update(0, "step 1/50 running");
    c.set(5_000); p.update(1, "step 1/50 verified");
    c.set(5_000); p.update(1, "step 2/50 running");
    c.set(10_000); p.update(2, "verifying step 3");
    c.set(11_000); c.tick(); // 9.8 s after the first line: still nothing
    expect(lines(out.text())).toHaveLength(1);
    // ETA at 11.2 s: 2 steps took 10 s (5 s each), 48 left = 240 s, less the 1.2 s since the last one = 238.8 s.
    c.set(11_200); c.tick();
    c.set(15_000); p.update(2, "verifying step 3");
    c.set(20_000); p.stop();
    expect(lines(out.text())).toEqual([
      "progress: training tiny · step 0/50 (0%) · step 1/50 running · elapsed 1.2 s · ETA --",
      "progress: training tiny · step 2/50 (4%) · verifying step 3 · elapsed 11.2 s · ETA 3m 59s",
      "progress: training tiny · step 2/50 (4%) · stopped: verifying step 3 · elapsed 20.0 s",
    ]);
    expect(c.cancelled()).toBe(true);
    p.stop(); // idempotent: no second end line
    expect(lines(out.text())).toHaveLength(3);
  });

  it("a run that ends within the first second prints nothing; a finished one ends with `done`", () => {
    const out = sink(false), c = clock();
    const p = createProgress({ stream: out, now: c.now, every: c.every, showAfterMs: 1_000 });
    p.start(3, "op", "all-reduce");
    c.set(900); p.update(3, "building report");
    p.stop();
    expect(out.text()).toBe("");
    p.start(3, "op", "all-reduce"); // started again (compare runs one scenario per preset)
    c.set(2_400); p.update(3, "building report");
    c.set(2_500); p.stop();
    expect(lines(out.text())).toEqual([
      "progress: all-reduce · op 3/3 (100%) · building report · elapsed 1.5 s · ETA 0s",
      "progress: all-reduce · op 3/3 (100%) · done · elapsed 1.6 s",
    ]);
  });

  it("--quiet writes nothing at all", () => {
    const out = sink(false), tty = sink(true), c = clock();
    for (const stream of [out, tty]) {
      const p = createProgress({ quiet: true, stream, now: c.now, every: c.every, showAfterMs: 0 });
      p.start(3, "step", "training tiny");
      c.set(30_000); p.update(1, "verifying step 1");
      c.tick();
      p.stop();
    }
    expect(out.text() + tty.text()).toBe("");
  });

  it("formats the ETA in seconds, minutes and hours", () => {
    expect([undefined, 400, 42_000, 250_000, 3_900_000].map(formatEta)).toEqual(["--", "0s", "42s", "4m 10s", "1h 5m"]);
  });
});

describe("progress bar (stderr a terminal)", () => {
  it("draws a cli-progress bar with the step, the phase and the ETA, and clears it on stop", () => {
    const out = sink(true), c = clock();
    const p = createProgress({ stream: out, now: c.now, every: c.every, showAfterMs: 0 });
    p.start(3, "step", "training tiny");
    c.set(2_000); p.update(1, "verifying step 2");
    const drawn = out.text();
    expect(drawn).toContain("] step 1/3 | verifying step 2 | ETA 4s | training tiny"); // 2 s per step, 2 left
    p.stop();
    expect(out.text().slice(drawn.length)).toContain("\x1b[2K"); // the line is cleared before the table comes
    expect(c.cancelled()).toBe(true);
  });

  it("shows no bar for a run shorter than DEFAULT_SHOW_AFTER_MS (2 s)", () => {
    const out = sink(true), c = clock();
    const p = createProgress({ stream: out, now: c.now, every: c.every });
    p.start(3, "step", "training tiny");
    c.set(DEFAULT_SHOW_AFTER_MS - 1); p.update(3, "building report");
    p.stop();
    expect(out.text()).toBe("");
  });
});

type Event = ["start", number, ProgressUnit, string] | ["update", number, string] | ["stop"];

function recorder(): Progress & { events: Event[] } {
  const events: Event[] = [];
  return { events, start: (t, u, l) => events.push(["start", t, u, l]), update: (d, ph) => events.push(["update", d, ph]), stop: () => events.push(["stop"]) };
}

/** The units that finished, in order: every `done` an update raised it to. */
function completions(events: Event[]): number[] {
  let done = 0;
  const out: number[] = [];
  for (const e of events) if (e[0] === "update" && e[1] !== done) out.push((done = e[1]));
  return out;
}

const TINY_MOE = { base: "deepseek-v3", layers: 4, denseLayers: 1, hidden: 1024, heads: 8, headDim: 128, vHeadDim: 128, kvHeads: 8, ffnIntermediate: 2048, vocab: 8192, experts: 16, topK: 4, expertIntermediate: 256 };

describe("runScenario's progress events", () => {
  it("a 3-step training run: start with 3 steps, each step running, verified and done once, then stop", async () => {
    const loaded = loadScenario({ raw: {
      topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 }, engine: "sim", seed: 3,
      workload: { kind: "training", model: TINY_MOE, parallel: { dp: 8, ep: 8 }, globalBatch: 8, seqLen: 1024, steps: 3 },
    } });
    const p = recorder();
    await using engine = simEngine(loaded);
    const rep = await runScenario(loaded, engine, undefined, p);
    expect(rep.status).toBe("ok");
    const [first, ...rest] = p.events;
    expect(first?.slice(0, 3)).toEqual(["start", 3, "step"]);
    expect(first?.[3]).toMatch(/^training /);
    expect(completions(p.events)).toEqual([1, 2, 3]);
    expect(rest.filter((e) => e[0] === "update").map((e) => e[2]).slice(0, 3)).toEqual(["step 1/3 running", "verifying step 1", "step 1/3 verified"]);
    expect(rest.filter((e) => e[0] !== "update")).toEqual([["stop"]]);
    expect(p.events.at(-1)).toEqual(["stop"]);
  });

  it("a collective sweep counts ops, names each, and stops even when the run is aborted", async () => {
    const loaded = loadScenario({ raw: scenario(singleSwitch(4), { collective: "all-reduce", sizes: ["4KiB", "1MiB"] }) });
    const p = recorder();
    await using engine = simEngine(loaded);
    await runScenario(loaded, engine, undefined, p);
    expect(p.events[0]).toEqual(["start", 2, "op", "all-reduce"]);
    expect(p.events.filter((e) => e[0] === "update").map((e) => e[2])).toEqual(["op 1/2 all-reduce 4KiB", "op 1/2 checked", "op 2/2 all-reduce 1MiB", "op 2/2 checked", "building report"]);
    expect(completions(p.events)).toEqual([1, 2]);

    const aborted = recorder(), ac = new AbortController();
    ac.abort(new Error("stop"));
    await expect(runScenario(loaded, engine, ac.signal, aborted)).rejects.toThrow("stop");
    expect(aborted.events.map((e) => e[0])).toEqual(["start", "stop"]);
  });
});

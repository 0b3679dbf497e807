import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import puppeteer from "puppeteer-core";
import { afterAll, describe, expect, it } from "vitest";
import type { ChromeTrace } from "../helpers/trace.js";

/**
 * Browser tier: `supernode run --trace` writes trace.json, and a real viewer of Chrome trace JSON —
 * speedscope's static build (npm `speedscope`, pinned), served with the trace from 127.0.0.1 — opens
 * it in headless Chromium (Debian's, driven by puppeteer-core), offline. Without Chromium the tier is
 * skipped loudly; with CI=true it fails instead.
 */
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const CLI = fileURLToPath(new URL("../../dist/services/cli/main.js", import.meta.url));
const SCENARIO = fileURLToPath(new URL("../../scenarios/cm384-train-llama8b.yaml", import.meta.url));
const VIEWER = fileURLToPath(new URL("../../node_modules/speedscope/dist/release", import.meta.url));
const SCREENSHOT = fileURLToPath(new URL("../../docs/images/trace.png", import.meta.url));
const CHAOS_SCENARIO = fileURLToPath(new URL("../../scenarios/chaos/npu-crash-restart.yaml", import.meta.url));
const CHAOS_SCREENSHOT = fileURLToPath(new URL("../../docs/images/trace-chaos.png", import.meta.url));
const RUN_TIMEOUT_MS = 120_000;
const LOAD_TIMEOUT_MS = 60_000;
const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".png": "image/png",
  ".ico": "image/x-icon", ".wasm": "application/wasm", ".woff2": "font/woff2", ".txt": "text/plain",
};

const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install -y --no-install-recommends chromium)`;
const inCi = process.env.CI === "true";
if (missing && !inCi) process.stderr.write(`SKIPPED browser tier: ${missing}\n`);

/** Serves the viewer's files, and `trace` at /trace.json, from 127.0.0.1 on a free port; nothing outside them. */
async function serve(trace: string): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    const file = path === "/trace.json" ? trace : normalize(join(VIEWER, path));
    if ((file !== trace && !file.startsWith(VIEWER + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** `node 0 (pid 1), npu.n0.0 (tid 1)`: how speedscope names the profile of each thread with slices (its import names them so). */
function expectedProfiles(t: ChromeTrace): string[] {
  const proc = new Map<number, string>(), thread = new Map<string, string>(), withSlices = new Set<string>();
  for (const e of t.traceEvents) {
    if (e.ph === "M" && e.name === "process_name") proc.set(e.pid, String(e.args!.name));
    if (e.ph === "M" && e.name === "thread_name") thread.set(`${e.pid}:${e.tid}`, String(e.args!.name));
    if (e.ph === "X") withSlices.add(`${e.pid}:${e.tid}`);
  }
  // In speedscope's order: by pid, then tid.
  return [...withSlices].map((k) => k.split(":").map(Number) as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map(([pid, tid]) => `${proc.get(pid)} (pid ${pid}), ${thread.get(`${pid}:${tid}`)} (tid ${tid})`);
}

describe.skipIf(missing !== undefined && !inCi)("trace.json in a real trace viewer (speedscope, offline)", () => {
  const dir = mkdtempSync(join(tmpdir(), "supernode-trace-browser-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("parses the trace: one profile per track, named by node and actor, the NPU tracks as long as the step", async () => {
    if (missing) throw new Error(`FAILED browser tier: ${missing} — in CI (CI=true) this tier must run`);
    for (const need of [CLI, join(VIEWER, "index.html")]) if (!existsSync(need)) throw new Error(`${need} is missing: bash scripts/setup.sh`);
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, "run", SCENARIO, "--engine", "sim", "--set", "workload.steps=1", "--trace", "--quiet", "--out", dir], { timeout: RUN_TIMEOUT_MS });
    expect(stdout).toMatch(/^# trace: .*trace\.json · [\d,]+ events, detail phases/m);
    const trace = JSON.parse(readFileSync(join(dir, "trace.json"), "utf8")) as ChromeTrace;
    const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as { steps: { virtualTimeNs: number }[] };
    const profiles = expectedProfiles(trace);
    expect(profiles.filter((p) => / npu\.n\d\.\d \(tid/.test(p))).toHaveLength(8);

    const { server, base } = await serve(join(dir, "trace.json"));
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    try {
      const page = await browser.newPage();
      const outside: string[] = [], dialogs: string[] = [], logs: string[] = [];
      page.on("request", (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });
      page.on("dialog", (d) => { dialogs.push(d.message()); void d.dismiss(); });
      page.on("console", (m) => logs.push(m.text()));
      await page.setViewport({ width: 1400, height: 640 });
      await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(`${base}/trace.json`)}`, { waitUntil: "load" });
      // Parsed: the toolbar names the first track and counts them all, "… (1/N)".
      const title = await page.waitForFunction(() => {
        const s = [...document.querySelectorAll("span")].find((x) => /^node \d+ \(pid \d+\), .* \(1\/\d+\)$/.test(x.textContent ?? ""));
        return s?.textContent ?? false;
      }, { timeout: LOAD_TIMEOUT_MS });
      const shown = String(await title.jsonValue());
      expect(dialogs).toEqual([]); // speedscope alerts when it cannot import a file
      expect(logs).toContain("Importing as Trace Event Format profile");
      expect(logs.filter((l) => /Tried to end|still open at end/.test(l))).toEqual([]); // every slice nests
      expect(shown).toBe(`${profiles[0]} (1/${profiles.length})`);
      mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
      await page.screenshot({ path: SCREENSHOT as `${string}.png` });

      // The track list (it opens on hover): every track with slices, each with its time span.
      const handle = await page.evaluateHandle(() => [...document.querySelectorAll("span")].find((x) => /\(1\/\d+\)$/.test(x.textContent ?? "") && x.textContent!.startsWith("node")));
      await handle.asElement()!.hover();
      const rows = await page.waitForFunction((n: number) => {
        const r = [...document.querySelectorAll("tr")].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")).filter((c) => c.length === 3);
        return r.length >= n ? r : false;
      }, { timeout: LOAD_TIMEOUT_MS }, profiles.length);
      const table = (await rows.jsonValue()) as string[][];
      expect(table.map((r) => r[1])).toEqual(profiles);
      // An NPU's main track spans its step: the slowest one's is the report's step time (ms, to the table's 0.01).
      const npuMs = table.filter((r) => / npu\.n\d\.\d \(tid/.test(r[1]!)).map((r) => Number(/([\d.]+)ms/.exec(r[2]!)![1]));
      expect(Math.max(...npuMs)).toBeCloseTo(report.steps[0]!.virtualTimeNs / 1e6, 2);
      expect(outside).toEqual([]); // offline: nothing but the local server was asked for anything
    } finally {
      await browser.close();
      server.close();
    }
  }, RUN_TIMEOUT_MS + 2 * LOAD_TIMEOUT_MS);

  it("a run with faults: the faulted NPU has a faults track with the crash, its detection and the recovery slice (screenshot for docs/chaos.md)", async () => {
    if (missing) throw new Error(`FAILED browser tier: ${missing} — in CI (CI=true) this tier must run`);
    const out = join(dir, "chaos");
    await promisify(execFile)(process.execPath, [CLI, "run", CHAOS_SCENARIO, "--engine", "sim", "--trace", "--quiet", "--out", out], { timeout: RUN_TIMEOUT_MS });
    const trace = JSON.parse(readFileSync(join(out, "trace.json"), "utf8")) as ChromeTrace;
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as { faults: { kind: string; target: string; injectedAt: { virtualNs: number }; recoveredAt: { virtualNs: number } | null }[] };
    const crash = report.faults.find((f) => f.kind === "npu-crash")!;
    // The recovery slice spans injection → recovery in virtual µs (detect + restart: 30 s of virtual time by default).
    const slice = trace.traceEvents.find((e) => e.ph === "X" && e.cat === "recovery")!;
    expect(slice.ts).toBeCloseTo(crash.injectedAt.virtualNs / 1000, 0);
    expect(slice.dur).toBeCloseTo((crash.recoveredAt!.virtualNs - crash.injectedAt.virtualNs) / 1000, 0);
    const profiles = expectedProfiles(trace);
    const faultTrack = profiles.find((p) => p.includes(`${crash.target} · faults`))!;
    expect(faultTrack).toBeDefined();
    const { server, base } = await serve(join(out, "trace.json"));
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    try {
      const page = await browser.newPage();
      const dialogs: string[] = [];
      page.on("dialog", (d) => { dialogs.push(d.message()); void d.dismiss(); });
      await page.setViewport({ width: 1400, height: 640 });
      await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(`${base}/trace.json`)}`, { waitUntil: "load" });
      await page.waitForFunction(() => [...document.querySelectorAll("span")].some((x) => /\(1\/\d+\)$/.test(x.textContent ?? "")), { timeout: LOAD_TIMEOUT_MS });
      expect(dialogs).toEqual([]);
      // Open the track list and pick the faulted NPU's faults track.
      const handle = await page.evaluateHandle(() => [...document.querySelectorAll("span")].find((x) => /\(1\/\d+\)$/.test(x.textContent ?? "")));
      await handle.asElement()!.hover();
      const row = await page.waitForFunction((name: string) => [...document.querySelectorAll("tr")].find((tr) => (tr.textContent ?? "").includes(name)) ?? false, { timeout: LOAD_TIMEOUT_MS }, faultTrack);
      await (row.asElement() as import("puppeteer-core").ElementHandle<Element>).click();
      const shown = await page.waitForFunction((name: string) => [...document.querySelectorAll("span")].find((x) => (x.textContent ?? "").startsWith(name))?.textContent ?? false, { timeout: LOAD_TIMEOUT_MS }, faultTrack);
      expect(String(await shown.jsonValue())).toMatch(/ · faults \(tid \d+\) \(\d+\/\d+\)$/);
      await page.mouse.move(700, 400);
      await page.screenshot({ path: CHAOS_SCREENSHOT as `${string}.png` });
    } finally {
      await browser.close();
      server.close();
    }
  }, RUN_TIMEOUT_MS + 2 * LOAD_TIMEOUT_MS);
});

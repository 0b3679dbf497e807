import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import puppeteer from "puppeteer-core";
import { afterAll, describe, expect, it } from "vitest";

/**
 * Browser tier: `supernode compare` on its default scenario, and its page opened in a real headless
 * Chromium (Debian's, driven by puppeteer-core; nothing is downloaded). Without Chromium the tier is
 * skipped loudly; with CI=true it fails instead.
 */
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const CLI = fileURLToPath(new URL("../../dist/services/cli/main.js", import.meta.url));
const SCREENSHOT = fileURLToPath(new URL("../../docs/images/compare.png", import.meta.url));
const COMPARE_TIMEOUT_MS = 300_000;
const KINDS = ["compute", "tp", "ep", "dp", "idle"];

const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install -y --no-install-recommends chromium)`;
const inCi = process.env.CI === "true";
if (missing && !inCi) process.stderr.write(`SKIPPED browser tier: ${missing}\n`);

interface BarSeen { preset: string | null; label: string | null; segments: { kind: string | null; width: number }[] }

describe.skipIf(missing !== undefined && !inCi)("supernode compare: the page in a real browser", () => {
  const dir = mkdtempSync(join(tmpdir(), "supernode-compare-browser-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("draws a labelled, stacked bar per preset in #breakdown, its widths in proportion to the step times", async () => {
    if (missing) throw new Error(`FAILED browser tier: ${missing} — in CI (CI=true) this tier must run`);
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (bash scripts/setup.sh)`);
    const { stdout } = await promisify(execFile)(process.execPath, ["--max-semi-space-size=64", CLI, "compare", "--out", dir], { timeout: COMPARE_TIMEOUT_MS });
    process.stdout.write(stdout);
    expect(stdout).toMatch(/# all runs verified/);
    const result = JSON.parse(readFileSync(join(dir, "compare.json"), "utf8")) as { rows: { preset: string; stepMs: number }[] };

    const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    try {
      const page = await browser.newPage();
      const outside: string[] = [];
      page.on("request", (r) => { if (!r.url().startsWith("file:")) outside.push(r.url()); });
      await page.setViewport({ width: 1100, height: 640 });
      await page.goto(pathToFileURL(join(dir, "compare.html")).href, { waitUntil: "load" });
      const bars: BarSeen[] = await page.$$eval("#breakdown g.bar", (gs) => gs.map((g) => ({
        preset: g.getAttribute("data-preset"),
        label: g.querySelector("text.label")?.textContent ?? null,
        segments: [...g.querySelectorAll("rect[data-kind]")].map((r) => ({ kind: r.getAttribute("data-kind"), width: r.getBoundingClientRect().width })),
      })));
      expect(outside).toEqual([]); // self-contained: the page asked for nothing beyond itself
      expect(bars.map((b) => b.preset)).toEqual(result.rows.map((r) => r.preset));
      expect(bars.length).toBeGreaterThanOrEqual(2);
      for (const b of bars) {
        expect(b.label).toBe(b.preset);
        expect(b.segments.length).toBeGreaterThanOrEqual(1);
        for (const s of b.segments) {
          expect(KINDS).toContain(s.kind);
          expect(s.width).toBeGreaterThan(0);
        }
      }
      // One scale for all bars: drawn widths are in the ratio of the mean step times (to a pixel's rounding).
      const drawn = bars.map((b) => b.segments.reduce((s, x) => s + x.width, 0));
      expect(drawn[1]! / drawn[0]!).toBeCloseTo(result.rows[1]!.stepMs / result.rows[0]!.stepMs, 2);
      expect(await page.$$eval("#breakdown .legend-item", (xs) => xs.length)).toBe(KINDS.length);
      mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
      await page.screenshot({ path: SCREENSHOT as `${string}.png`, fullPage: true });
    } finally {
      await browser.close();
    }
  }, COMPARE_TIMEOUT_MS + 60_000);
});

import { describe, expect, it } from "vitest";
import {
  flatten, gradient, initParams, stepForward, sym, train, unflatten, unit, type RefConfig,
} from "../reference/trainer.js";

/** The finite-difference config of the brief: dense then MoE, every block kind present. */
const SMALL: RefConfig = {
  seed: 11, layers: ["dense", "moe"], hidden: 4, expertHidden: 3, experts: 4, topK: 2, sharedExperts: 1,
  dp: 2, microSteps: 2, tokensPerRank: 2, lr: 0.05, steps: 2,
};

/** docs/training.md §1 defaults (h = f = 8, lr 0.05) with E = 8, top-2, one shared expert. */
const DEFAULTS: RefConfig = {
  seed: 1, layers: ["dense", "moe"], hidden: 8, expertHidden: 8, experts: 8, topK: 2, sharedExperts: 1,
  dp: 4, microSteps: 2, tokensPerRank: 4, lr: 0.05, steps: 20,
};

const FD_EPS = 1e-6;
const FD_REL_TOL = 1e-6;
const FD_ABS_TOL = 1e-8;

/** Sizes of the canonical blocks of `c`, in flatten order (A; W1, W2 | G, (W1e, W2e)…, (S1s, S2s)…). */
function blockSizes(c: RefConfig): number[] {
  const { hidden: h, expertHidden: f } = c;
  return c.layers.flatMap((k) =>
    k === "dense" ? [h * h, f * h, h * f] : [h * h, c.experts * h, ...new Array<number>(2 * (c.experts + c.sharedExperts)).fill(f * h)],
  );
}

/** Three indices per block (first, last, one drawn), so every block kind is probed. */
function probeIndices(c: RefConfig): number[] {
  const out: number[] = [];
  let at = 0;
  blockSizes(c).forEach((n, b) => {
    out.push(at, at + n - 1, at + Math.floor(unit(99, b, 0, 0) * n));
    at += n;
  });
  return out;
}

function checkGradient(c: RefConfig, flat: Float64Array, step: number): { checked: number; skipped: number; maxErr: number; big: number } {
  const p = unflatten(c, flat);
  const g = gradient(c, p, step);
  const base = JSON.stringify(stepForward(c, p, step).routes);
  let checked = 0;
  let skipped = 0;
  let maxErr = 0;
  let big = 0;
  for (const i of probeIndices(c)) {
    const at = (delta: number) => {
      const q = Float64Array.from(flat);
      q[i]! += delta;
      return stepForward(c, unflatten(c, q), step);
    };
    const plus = at(FD_EPS);
    const minus = at(-FD_EPS);
    // Top-k is piecewise constant: a difference across a selection flip is not a derivative.
    if (JSON.stringify(plus.routes) !== base || JSON.stringify(minus.routes) !== base) {
      skipped++;
      continue;
    }
    const fd = (plus.loss - minus.loss) / (2 * FD_EPS);
    const analytic = g[i]!;
    const err = Math.abs(analytic - fd);
    expect(err, `param ${i}: analytic ${analytic}, central difference ${fd}`).toBeLessThanOrEqual(Math.max(FD_REL_TOL * Math.abs(analytic), FD_ABS_TOL));
    maxErr = Math.max(maxErr, err / Math.max(Math.abs(analytic), 1e-300));
    if (Math.abs(analytic) > 1e-3) big++;
    checked++;
  }
  return { checked, skipped, maxErr, big };
}

describe("reference trainer: hand-written backward", () => {
  it("matches central differences of the step's mean loss, at init and after two SGD steps", () => {
    const init = flatten(SMALL, initParams(SMALL));
    const trained = flatten(SMALL, train(SMALL).params);
    for (const [flat, step] of [[init, 0], [trained, 2]] as const) {
      const r = checkGradient(SMALL, flat, step);
      const probes = probeIndices(SMALL).length;
      expect(probes).toBeGreaterThanOrEqual(36);
      expect(r.skipped, "too many probes flipped a top-k choice").toBeLessThanOrEqual(2);
      expect(r.checked + r.skipped).toBe(probes);
      // A gradient that is zero everywhere would pass the comparison trivially.
      expect(r.big).toBeGreaterThanOrEqual(probes / 2);
    }
  });

  it("gives the router a gradient (the gate normalisation and softmax are differentiated)", () => {
    const g = gradient(SMALL, initParams(SMALL), 0);
    const { hidden: h, expertHidden: f } = SMALL;
    const gStart = h * h + f * h + h * f + h * h; // layer 0 A, W1, W2; layer 1 A
    const router = g.subarray(gStart, gStart + SMALL.experts * h);
    expect(Math.max(...Array.from(router, Math.abs))).toBeGreaterThan(1e-4);
  });
});

describe("reference trainer: training", () => {
  it("lowers the loss over 20 steps at the documented defaults", () => {
    const { losses } = train(DEFAULTS);
    expect(losses).toHaveLength(20);
    for (const l of losses) expect(Number.isFinite(l)).toBe(true);
    expect(losses[19]!, `loss curve ${losses.map((l) => l.toFixed(4)).join(" ")}`).toBeLessThan(0.8 * losses[0]!);
  });

  it("is deterministic: two trainings give bitwise identical parameters", () => {
    const a = flatten(DEFAULTS, train({ ...DEFAULTS, steps: 5 }).params);
    const b = flatten(DEFAULTS, train({ ...DEFAULTS, steps: 5 }).params);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    // And the steps did something: the trained parameters differ from the initial ones.
    expect(Buffer.from(a.buffer).equals(Buffer.from(flatten(DEFAULTS, initParams(DEFAULTS)).buffer))).toBe(false);
  });

  it("flattens in the canonical order with the §1.2 initial values", () => {
    const c = { ...SMALL, layers: ["moe", "dense", "moe"] as RefConfig["layers"] };
    const flat = flatten(c, initParams(c));
    const { hidden: h, expertHidden: f, experts: E, seed } = c;
    const moeSize = h * h + E * h + 2 * (E + c.sharedExperts) * f * h;
    expect(flat.length).toBe(2 * moeSize + h * h + 2 * f * h);
    // Layer 2 (moe), routed expert 2, W2e (kind 6) element (i, j) = (1, 2): 0.5·sym(seed, 100000·2 + 10000·6 + 2, 1, 2)/√f.
    const layer2 = moeSize + h * h + 2 * f * h;
    const w2e2 = layer2 + h * h + E * h + (2 * 2 + 1) * f * h;
    expect(flat[w2e2 + 1 * f + 2]).toBe((0.5 / Math.sqrt(f)) * sym(seed, 260002, 1, 2));
    // Layer 1 (dense) A (kind 1) element (3, 0): 0.3·sym(seed, 100000·1 + 10000·1, 3, 0)/√h.
    expect(flat[moeSize + 3 * h]).toBe((0.3 / Math.sqrt(h)) * sym(seed, 110000, 3, 0));
    expect(flatten(c, unflatten(c, flat))).toEqual(flat);
  });
});

describe("reference trainer: random numbers (§1.1)", () => {
  it("unit(1, 2, 3, 4) = 3061160508 / 2^32 = 0.7127319714054465", () => {
    // Worked independently in Python with unbounded integers and & 0xffffffff after each product:
    // 1·73856093 ^ 2·19349663 ^ 3·83492791 ^ (4·2654435761 mod 2^32), then the murmur3 finalizer → 3061160508.
    expect(unit(1, 2, 3, 4)).toBe(3061160508 / 2 ** 32);
    expect(unit(1, 2, 3, 4)).toBe(0.7127319714054465);
  });

  it("sym is in [−1, 1) with mean within 0.02 of 0 over 10k draws", () => {
    const DRAWS = 10_000;
    let sum = 0;
    let sumSq = 0;
    for (let n = 0; n < DRAWS; n++) {
      const v = sym(7, 100000 + (n % 97), Math.floor(n / 97), n % 8);
      expect(v).toBeGreaterThanOrEqual(-1);
      expect(v).toBeLessThan(1);
      sum += v;
      sumSq += v * v;
    }
    expect(Math.abs(sum / DRAWS)).toBeLessThan(0.02);
    // Uniform on [−1, 1) has variance 1/3; a generator stuck in a corner would miss it.
    expect(Math.abs(sumSq / DRAWS - 1 / 3)).toBeLessThan(0.02);
  });
});

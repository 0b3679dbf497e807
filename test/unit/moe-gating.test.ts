import { describe, expect, it } from "vitest";
import {
  chooseExperts, hotExpertCount, nodesOfSize, placeExperts, popularityOrder, Scorer, weightDenominator, type ExpertChoices,
} from "../../shared/moe/index.js";
import { DSV3, histogram, moeShape } from "../helpers/moe.js";

function rows(c: ExpertChoices): number[][] {
  return Array.from({ length: c.tokens }, (_, g) => Array.from(c.experts.subarray(g * c.topK, (g + 1) * c.topK)));
}

describe("gating: distinct experts and dyadic weights", () => {
  for (const gating of [{ kind: "uniform" }, { kind: "zipf", exponent: 1.2 }, { kind: "hot", hotFraction: 0.05, hotShare: 0.6 }, { kind: "gate" }] as const) {
    it(`${gating.kind}: top-8 distinct, weights k/64 summing to 1, same seed → same bits`, () => {
      const shape = moeShape({ ep: 8, tokensPerRank: 64 });
      const c = chooseExperts(shape, gating, 3);
      expect(c.weightDenominator).toBe(64);
      for (const [g, r] of rows(c).entries()) {
        expect(new Set(r).size, `token ${g}`).toBe(8);
        const units = Array.from(c.weightUnits.subarray(g * 8, g * 8 + 8));
        expect(Math.min(...units)).toBeGreaterThanOrEqual(1);
        expect(units.reduce((a, b) => a + b, 0)).toBe(64);
      }
      expect(chooseExperts(shape, gating, 3)).toEqual(c);
      expect(chooseExperts(shape, gating, 4).experts).not.toEqual(c.experts);
    });
  }

  it("weight denominators are powers of two with ≥ 4 units per expert", () => {
    // 64 up to top-16; top-17..32 → 128; top-33..64 → 256.
    expect([1, 8, 16, 17, 32, 33, 64].map(weightDenominator)).toEqual([64, 64, 64, 128, 128, 256, 256]);
  });

  it("fixed: the assignments as given, in k order", () => {
    const shape = moeShape({ experts: 4, topK: 2, ep: 2, tokensPerRank: 2 });
    const assignments = [[0, 1], [3, 2], [2, 0], [1, 3]];
    expect(rows(chooseExperts(shape, { kind: "fixed", assignments }, 1))).toEqual(assignments);
  });
});

describe("gating: distributions", () => {
  it("uniform spreads copies evenly over experts and ranks", () => {
    // 64 ranks × 128 tokens × top-8 = 65,536 copies: 256 per expert, 1,024 per rank (4 experts each).
    // Per expert σ ≈ √256 = 16, so χ² = Σ (n_e − 256)² / 256 over 256 experts has mean ≈ 255 × 248/255 = 248
    // (distinct draws are a little more even than independent ones) and σ ≈ √(2·255) ≈ 22.6.
    const c = chooseExperts(DSV3, { kind: "uniform" }, 1);
    const perExpert = histogram(c.experts, 256);
    const chi2 = perExpert.reduce((s, n) => s + (n - 256) ** 2 / 256, 0);
    expect(chi2).toBeGreaterThan(248 - 4 * 22.6);
    expect(chi2).toBeLessThan(248 + 4 * 22.6);
    // Per rank σ ≈ √1024 = 32 (3%); the max of 64 ranks lies ~2.4σ up: ≈ 1.075.
    const perRank = new Array<number>(64).fill(0);
    perExpert.forEach((n, e) => { perRank[Math.floor(e / 4)]! += n; });
    expect(perRank.reduce((a, b) => a + b, 0)).toBe(65_536);
    expect(Math.max(...perRank) / 1024).toBeLessThanOrEqual(1.1);
    expect(Math.min(...perRank) / 1024).toBeGreaterThanOrEqual(0.88);
  });

  it("zipf: the most popular expert gets ≈ N·k·p1 copies, p1 = 1/H(E, s)", () => {
    // E = 256, s = 0.6, top-2, N = 64 × 512 = 32,768 tokens. H(256, 0.6) = Σ i^-0.6 ≈ 21.04, p1 ≈ 0.04753,
    // N·k·p1 ≈ 3,115. Drawing without replacement, expert 1 is in a token's top-2 with probability
    // P = p1 + Σ_{j≠1} p_j · p1/(1 − p_j) ≈ 0.09312 (N·P ≈ 3,051, σ = √(N·P(1−P)) ≈ 53), 2% below k·p1.
    const shape = moeShape({ topK: 2, tokensPerRank: 512 });
    const N = 64 * 512, s = 0.6;
    const p = Array.from({ length: 256 }, (_, i) => (i + 1) ** -s);
    const H = p.reduce((a, b) => a + b, 0);
    const p1 = 1 / H;
    const P = p1 + p.slice(1).reduce((acc, w) => acc + ((w / H) * p1) / (1 - w / H), 0);
    expect(H).toBeCloseTo(21.039, 2);
    const perExpert = histogram(chooseExperts(shape, { kind: "zipf", exponent: s }, 1).experts, 256);
    const order = popularityOrder(1, 256);
    const top = perExpert[order[0]!]!;
    expect(Math.abs(top - N * P)).toBeLessThan(4 * Math.sqrt(N * P * (1 - P)));
    expect(Math.abs(top / (N * 2 * p1) - 1)).toBeLessThan(0.1); // "roughly": 2% bias + 4σ of 1.7%
    // Popularity falls with rank: ranks 1, 2, 8, 64 expect ≈ 3051, 2031, 892, 258 copies.
    const at = (rank: number) => perExpert[order[rank - 1]!]!;
    expect(at(1)).toBeGreaterThan(at(2));
    expect(at(2)).toBeGreaterThan(at(8));
    expect(at(8)).toBeGreaterThan(at(64));
  });

  it("hot: exactly ⌊N·k·hotShare⌋ copies go to the hot experts", () => {
    // 256 experts × 1/32 = 8 hot; N = 8,192 tokens × top-8 = 65,536 copies; ⌊65,536 × 0.3⌋ = 19,660 hot copies
    // (2 or 3 per token), ≈ 2,457.5 per hot expert; the 248 cold ones share 45,876: ≈ 185 each.
    const gating = { kind: "hot", hotFraction: 1 / 32, hotShare: 0.3 } as const;
    expect(hotExpertCount(gating.hotFraction, 256)).toBe(8);
    const hot = new Set(popularityOrder(1, 256).slice(0, 8));
    const perExpert = histogram(chooseExperts(DSV3, gating, 1).experts, 256);
    const hotCopies = perExpert.filter((_, e) => hot.has(e));
    expect(hotCopies.reduce((a, b) => a + b, 0)).toBe(Math.floor(8192 * 8 * 0.3));
    for (const n of hotCopies) expect(Math.abs(n - 2457.5)).toBeLessThan(4 * 47); // σ ≈ √(19660·(1/8)(7/8)) ≈ 46
    expect(Math.max(...perExpert.filter((_, e) => !hot.has(e)))).toBeLessThan(300);
  });
});

describe("gating: node-limited routing (DeepSeek-V3)", () => {
  // 64 ranks, 8 per node → 8 nodes of 32 experts each; top-8, at most M = 4 nodes per token.
  const rankNode = nodesOfSize(8);
  const shape = moeShape({ nodeLimit: 4 });
  const nodesOf = (r: readonly number[]) => new Set(r.map((e) => rankNode(Math.floor(e / 4))));

  for (const gating of [{ kind: "uniform" }, { kind: "zipf", exponent: 1.2 }, { kind: "hot", hotFraction: 0.05, hotShare: 0.6 }, { kind: "gate" }] as const) {
    it(`${gating.kind}: no token spans more than 4 nodes (and without the limit some do)`, () => {
      const limited = rows(chooseExperts(shape, gating, 1, { rankNode }));
      expect(Math.max(...limited.map((r) => nodesOf(r).size))).toBeLessThanOrEqual(4);
      const free = rows(chooseExperts(DSV3, gating, 1));
      expect(free.filter((r) => nodesOf(r).size > 4).length).toBeGreaterThan(0);
    });
  }

  it("gate: picks the top-8 experts of the 4 nodes with the best top-2 score sums", () => {
    const picked = rows(chooseExperts(shape, { kind: "gate" }, 1, { rankNode, placement: placeExperts(shape) }));
    const scorer = new Scorer(shape, { kind: "gate" }, 1);
    for (let g = 0; g < 200; g++) {
      const s = Array.from(scorer.scores(g));
      // Independently, by full sorts: node n holds experts 32n..32n+31.
      const nodeScore = Array.from({ length: 8 }, (_, n) => {
        const mine = s.slice(32 * n, 32 * n + 32).sort((a, b) => b - a);
        return mine[0]! + mine[1]!;
      });
      const best = [0, 1, 2, 3, 4, 5, 6, 7].sort((a, b) => nodeScore[b]! - nodeScore[a]! || a - b).slice(0, 4);
      const want = s.map((v, e) => ({ v, e })).filter(({ e }) => best.includes(Math.floor(e / 32)))
        .sort((a, b) => b.v - a.v || a.e - b.e).slice(0, 8).map(({ e }) => e);
      expect(picked[g], `token ${g}`).toEqual(want);
    }
  });
});

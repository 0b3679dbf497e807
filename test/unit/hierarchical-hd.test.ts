import { describe, expect, it } from "vitest";
import { runSim, scenario } from "../helpers/run.js";

/**
 * hierarchical-hd: intra-node ring reduce-scatter, halving-doubling across nodes, intra-node ring
 * all-gather (docs/closed-forms.md). On the cloudmatrix384 preset (G = 8 NPUs a node, β = 392 GB/s
 * injection, α = 600 ns inside a node and 950 ns across, docs/closed-forms.md §4) with M = 4 nodes:
 *   T = 2(G−1)·(α_intra + S/(Gβ)) + 2·log2(M)·α_inter + 2·(M−1)/M · S/(Gβ)
 * At S = 1 GiB, S/G = 134 217 728 B and S/(Gβ) = 342 392.163 ns:
 *   14 × 342 992.163 + 4 × 950 + 1.5 × 342 392.163 = 4 801 890.29 + 3 800 + 513 588.24 = 5 319 278.53 ns.
 */
const CM = (nodes: number) => ({ preset: "cloudmatrix384", nodes, switches: "aggregated" });

describe("hierarchical-hd all-reduce", () => {
  it("on 4 nodes equals the hand-computed closed form and verifies", async () => {
    const rep = await runSim(scenario(CM(4), { collective: "all-reduce", algorithm: "hierarchical-hd", sizes: ["1GiB"] }));
    const r = rep.results[0]!;
    expect(r.verified).toBe(true);
    expect(Math.abs(r.virtualTimeNs - 5_319_278.53) / 5_319_278.53).toBeLessThan(1e-5);
  });
  it("folds when the node count is not a power of two (6 nodes: p = 4, 2 folded) and verifies within 2% of its closed form", async () => {
    const rep = await runSim(scenario(CM(6), { collective: "all-reduce", algorithm: "hierarchical-hd", sizes: ["4KiB", "1MiB", "1GiB"] }));
    for (const r of rep.results) {
      expect(r.verified).toBe(true);
      expect(Math.abs(r.errorPct)).toBeLessThanOrEqual(2);
    }
  });
  it("across 48 nodes is latency-bound faster than the inter-node ring at 4 KiB (2·log2 32 + fold vs 2·47 inter-node steps)", async () => {
    const hd = await runSim(scenario(CM(48), { collective: "all-reduce", algorithm: "hierarchical-hd", sizes: ["4KiB"] }));
    const ring = await runSim(scenario(CM(48), { collective: "all-reduce", algorithm: "hierarchical", sizes: ["4KiB"] }));
    // Inter-node steps ≈ α-bound: ring 94 × ≥ 950 ns ≈ 89 µs; hd 10 steps + fold/unfold, about 12 × 950 ns ≈ 11 µs.
    expect(hd.results[0]!.verified && ring.results[0]!.verified).toBe(true);
    expect(hd.results[0]!.virtualTimeNs).toBeLessThan(ring.results[0]!.virtualTimeNs / 3);
  });
});

import { describe, expect, it } from "vitest";
import {
  combineBoundNs, dispatchBoundNs, expertComputeBoundNs, expertFlopsPerCopy, layerBoundNs, uniformRemoteCopies,
} from "../../shared/moe/index.js";
import { moeShape, routeLayer } from "../helpers/moe.js";

/** CM384 NPU injection port (hardware.md §8.1): 392 GB/s; α rounded to 1 µs to keep the arithmetic plain. */
const PORT = { injectionGBps: 392, alphaNs: 1000 };
/** Ascend 910C BF16 peak, half of it achieved. */
const COMPUTE = { peakTflops: 752, efficiency: 0.5 };

describe("closed forms of dispatch, expert compute and combine", () => {
  it("88.1 MFLOP per token per expert for the DeepSeek-V3 shape", () => {
    // 3 matrices × 2 flops × 7,168 × 2,048 = 88,080,384.
    expect(expertFlopsPerCopy({ hidden: 7168, expertIntermediate: 2048 })).toBe(88_080_384);
  });

  it("8 ranks, 1 expert each, top-2, even fixed routing: hand-computed bounds", () => {
    // Token t of rank r → experts r+1+(t mod 7) and r+1+((t+1) mod 7), mod 8: never its own rank, distinct.
    // 16 tokens × 2 = 32 copies leave every rank; rank q receives, from each other rank r, the tokens whose
    // offset is q−r: offsets 1..7 occur 5, 6, 5, 4, 4, 4, 4 times (t mod 7 and (t+1) mod 7 over t < 16) = 32.
    const shape = moeShape({ experts: 8, ep: 8, tokensPerRank: 16, topK: 2 });
    const assignments = Array.from({ length: 128 }, (_, g) => {
      const r = Math.floor(g / 16), t = g % 16;
      return [(r + 1 + (t % 7)) % 8, (r + 1 + ((t + 1) % 7)) % 8];
    });
    const { plan } = routeLayer(shape, { kind: "fixed", assignments });
    expect(Array.from(plan.sendCopies)).toEqual(new Array(8).fill(32));
    expect(Array.from(plan.recvCopies)).toEqual(new Array(8).fill(32));
    // Dispatch: 32 × 7,680 B = 245,760 B / 392 B/ns = 626.9388 ns, + α 1,000 = 1,626.9388 ns.
    expect(dispatchBoundNs(shape, plan, PORT)).toBeCloseTo(1626.9388, 3);
    // Combine: 32 × 14,336 B = 458,752 B / 392 B/ns = 1,170.2857 ns, + α = 2,170.2857 ns.
    expect(combineBoundNs(shape, plan, PORT)).toBeCloseTo(2170.2857, 3);
    // Compute: 32 copies × 88,080,384 flop = 2,818,572,288 flop / (752e3 × 0.5 flop/ns) = 7,496.2029 ns.
    expect(expertComputeBoundNs(shape, plan, COMPUTE)).toBeCloseTo(7496.2029, 3);
    expect(layerBoundNs(shape, plan, PORT, COMPUTE).totalNs).toBeCloseTo(1626.9388 + 7496.2029 + 2170.2857, 3);
  });

  it("8 ranks, 1 expert each, top-2, uniform gating: the bound from the busiest port, near T·k·(1 − 1/8)", () => {
    // 4,096 tokens/rank × 2 copies, 1/8 of them local: 7,168 copies leave (and, by symmetry, reach) a rank
    // on average; per rank σ ≈ √(4096 × 0.1875) ≈ 28 (0.4%), so the busiest of 16 ports is within 2%.
    const shape = moeShape({ experts: 8, ep: 8, tokensPerRank: 4096, topK: 2 });
    expect(uniformRemoteCopies(shape)).toBe(7168);
    const { choices, plan } = routeLayer(shape, { kind: "uniform" });
    // Independent count straight from the choices: a copy of token g leaves rank ⌊g/4096⌋ unless expert = rank.
    const out = new Array<number>(8).fill(0), inb = new Array<number>(8).fill(0);
    choices.experts.forEach((e, i) => {
      const r = Math.floor(i / 2 / 4096);
      if (e !== r) { out[r]! += 1; inb[e]! += 1; }
    });
    const busiest = Math.max(...out, ...inb);
    expect(dispatchBoundNs(shape, plan, PORT)).toBe((busiest * 7680) / 392 + 1000);
    expect(combineBoundNs(shape, plan, PORT)).toBe((busiest * 14336) / 392 + 1000);
    const mean = (7168 * 7680) / 392 + 1000; // 141,433.47 ns
    expect(Math.abs(dispatchBoundNs(shape, plan, PORT) / mean - 1)).toBeLessThan(0.02);
  });
});

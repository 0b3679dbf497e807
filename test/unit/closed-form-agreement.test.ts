import { describe, expect, it } from "vitest";
import { runSim, scenario, singleSwitch } from "../helpers/run.js";

/**
 * Uncontended collectives agree with their α-β closed forms (docs/closed-forms.md):
 *   ring all-reduce      T = 2(n-1)(α + S/(nβ))
 *   ring reduce-scatter  T = (n-1)(α + S/(nβ))
 *   ring all-gather      T = (n-1)(α + S/(nβ))
 *   halving-doubling     T = 2·log2(p)·α + 2(p-1)/p·S/β  (+ 2(α + S/β) when n ≠ p)
 * with α = endpoint overhead + Σ link and switch latencies of the path and β = the endpoint's
 * injection bandwidth. On rings whose edges differ (die-to-die links, inter-node hops) the closed
 * form sums τ along the slowest chain of edges. The emulator must be within 1% at every size.
 */
const SIZES = ["4KiB", "64KiB", "1MiB", "16MiB", "1GiB"];
const TOL_PCT = 1;

function expectAgreement(rows: readonly { errorPct: number; verified: boolean; sizeBytes: number }[]) {
  for (const r of rows) {
    expect(r.verified, `verified at ${r.sizeBytes}`).toBe(true);
    expect(Math.abs(r.errorPct), `error at ${r.sizeBytes} B`).toBeLessThanOrEqual(TOL_PCT);
  }
}

describe("one switch (custom: 100 GB/s links, 100 ns each, 150 ns switch, 400 ns endpoint)", () => {
  for (const n of [2, 3, 5, 8, 13, 64, 100]) {
    for (const collective of ["all-reduce", "reduce-scatter", "all-gather"]) {
      it(`${collective} ring, ${n} ranks`, async () => {
        const rep = await runSim(scenario(singleSwitch(n), { collective, algorithm: "ring", sizes: SIZES }));
        expectAgreement(rep.results);
      });
    }
    it(`all-reduce direct, ${n} ranks`, async () => {
      const rep = await runSim(scenario(singleSwitch(n), { collective: "all-reduce", algorithm: "direct", sizes: SIZES }));
      expectAgreement(rep.results);
    });
    it(`all-reduce halving-doubling, ${n} ranks`, async () => {
      const rep = await runSim(scenario(singleSwitch(n), { collective: "all-reduce", algorithm: "halving-doubling", sizes: SIZES }));
      expectAgreement(rep.results);
    });
  }
  it("ring all-reduce, 384 ranks", async () => {
    const rep = await runSim(scenario(singleSwitch(384), { collective: "all-reduce", algorithm: "ring", sizes: ["4KiB", "1MiB", "1GiB"] }));
    expectAgreement(rep.results);
  });
});

describe("inside one CloudMatrix384 node (physical switches: 7 L1 chips, 14 lanes per NPU)", () => {
  for (const ranks of [2, 3, 5, 7, 8]) {
    for (const collective of ["all-reduce", "reduce-scatter", "all-gather"]) {
      it(`${collective} ring, ${ranks} NPUs`, async () => {
        const rep = await runSim(scenario({ preset: "cloudmatrix384", nodes: 1, switches: "physical" }, { collective, algorithm: "ring", ranks, sizes: SIZES }));
        expectAgreement(rep.results);
      });
    }
  }
  it("ring all-reduce over 16 dies (die-to-die links in the ring)", async () => {
    const rep = await runSim(scenario({ preset: "cloudmatrix384", nodes: 1, switches: "physical", rankUnit: "die" }, { collective: "all-reduce", algorithm: "ring", sizes: SIZES }));
    expectAgreement(rep.results);
  });
});

describe("full CloudMatrix384 (aggregated switches)", () => {
  it("ring all-reduce over 384 NPUs, inter-node hops in the ring", async () => {
    const rep = await runSim(scenario({ preset: "cloudmatrix384" }, { collective: "all-reduce", algorithm: "ring", sizes: ["4KiB", "1MiB", "1GiB"] }));
    expectAgreement(rep.results);
  });
  it("hierarchical all-reduce over 384 NPUs verifies and is within 2% of its closed form", async () => {
    const rep = await runSim(scenario({ preset: "cloudmatrix384" }, { collective: "all-reduce", algorithm: "hierarchical", sizes: ["4KiB", "1MiB", "64MiB", "1GiB"] }));
    for (const r of rep.results) {
      expect(r.verified).toBe(true);
      expect(Math.abs(r.errorPct)).toBeLessThanOrEqual(2);
    }
  });
  it("direct all-to-all over 384 NPUs (every NPU receives from 383) equals the port serialization bound", async () => {
    // Bound: T = max over ports of bytes through the port / β + α = α + (n-1)·(S/n)/β per NPU port.
    const rep = await runSim(scenario({ preset: "cloudmatrix384" }, { collective: "all-to-all", algorithm: "direct", sizes: ["1MiB", "64MiB", "1GiB"] }));
    expectAgreement(rep.results);
  });
});

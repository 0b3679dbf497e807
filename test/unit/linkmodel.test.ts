import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Port, reductionNs, rooflineNs, routeAlphaBeta, serializationNs, streamedComputeEnd, traverse } from "../../shared/linkmodel/index.js";
import type { Link } from "../../shared/topology/index.js";
import { buildTopology } from "../../shared/topology/index.js";
import { loadScenario } from "../../shared/config/index.js";
import { gbps, linkId, simNs, deviceId } from "../../shared/units/index.js";

const link = (bw: number, lat: number): Link => ({ id: linkId(0), from: deviceId(0), to: deviceId(1), bandwidthGBps: gbps(bw), latencyNs: simNs(lat) });

describe("serialization and cut-through", () => {
  it("bytes / GB/s is ns, rounded up to the 1/1024 ns grid", () => {
    expect(serializationNs(28_000, 28)).toBe(1000); // 28 kB at 28 bytes/ns
    expect(serializationNs(1, 28)).toBe(37 / 1024); // 1/28 = 0.0357 ns = 36.6 ticks → 37 ticks
    expect(serializationNs(1024, 100)).toBe(10.240234375); // 10.24 ns = 10485.76 ticks → 10486 ticks
    expect(serializationNs(0, 28)).toBe(0);
  });

  it("an uncontended 3-hop path pays the bottleneck once: Σ latency + bytes/min(bw)", () => {
    // Links 56 → 28 → 56 GB/s, 25 ns each, switches add 150 ns. 28 000 bytes.
    // Cut-through: head leaves at t=0, tail at 28000/56 = 500; at the 28 GB/s hop the tail leaves at
    // max(start + 1000, tailIn): end-to-end = 3·25 + 2·150 + 28000/28 = 75 + 300 + 1000 = 1375 ns.
    // Store-and-forward would be 500 + 1000 + 500 + 375 = 2375 ns.
    const a = link(56, 25), b = link(28, 25), c = link(56, 25);
    let h = traverse(new Port(), a, 28_000, 0, 0);
    h = traverse(new Port(), b, 28_000, h.headNs + 150, h.tailNs + 150);
    h = traverse(new Port(), c, 28_000, h.headNs + 150, h.tailNs + 150);
    expect(h.tailNs).toBe(1375);
  });

  it("messages queue at a busy port: the k-th of k equal messages leaves after k·bytes/bw", () => {
    // Three 2800-byte messages ready at t=0 on one 28 GB/s port (100 ns each): tails at 100, 200, 300 (+ 10 ns latency).
    const p = new Port(), l = link(28, 10);
    const tails = [0, 1, 2].map(() => traverse(p, l, 2800, 0, 0).tailNs);
    expect(tails).toEqual([110, 210, 310]);
    expect(p.queuedNs).toBe(0 + 100 + 200);
  });

  it("a message that is early in virtual time but late in wall time uses the free time before later reservations", () => {
    // Reservations [0,100) and [300,400); a 100 ns message ready at 100 fits in [100,200) — it does not queue behind 400.
    const p = new Port();
    p.reserve(0, 0, 100);
    p.reserve(300, 0, 100);
    expect(p.reserve(100, 0, 100)).toBe(100);
    expect(p.lastEndNs).toBe(200);
    // A 250 ns message ready at 100 takes the free [200,300) and 150 ns after 400: starts 200, ends 550.
    expect(p.reserve(100, 0, 250)).toBe(200);
    expect(p.lastEndNs).toBe(550);
  });

  it("is work-conserving: the last message finishes at the same time whatever order messages arrive in", () => {
    // Single-machine scheduling with release times: every work-conserving order has the same makespan.
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 700 })), { minLength: 1, maxLength: 40 }),
      fc.integer(),
      (jobs, seed) => {
        const makespan = (order: [number, number][]) => {
          const p = new Port();
          let last = 0;
          for (const [ready, dur] of order) { p.reserve(ready, 0, dur); last = Math.max(last, p.lastEndNs); }
          return last;
        };
        const virtualOrder = [...jobs].sort((a, b) => a[0] - b[0]);
        const shuffled = [...jobs].sort((a, b) => ((a[0] * 7919 + a[1] * 31 + seed) % 97) - ((b[0] * 7919 + b[1] * 31 + seed) % 97));
        expect(makespan(shuffled)).toBe(makespan(virtualOrder));
      }), { seed: 7, numRuns: 300 });
  });

  it("four 100 GB/s streams share a 400 GB/s port side by side", () => {
    // Each stream: 40 000 bytes arriving over 400 ns. The port needs 100 ns of its time per stream:
    // all four fit within the 400 ns the data takes to arrive, so every tail leaves at 400, none later.
    const p = new Port(), fat = link(400, 0);
    const tails = [0, 1, 2, 3].map(() => traverse(p, fat, 40_000, 0, 400));
    expect(tails.map((t) => t.tailNs)).toEqual([400, 400, 400, 400]);
    expect(tails.map((t) => t.headNs)).toEqual([0, 0, 0, 0]);
  });
});

describe("roofline compute", () => {
  const m = { peakTflops: 752, hbmBandwidthGBps: gbps(3200), hbmGB: 128, computeEfficiency: 1, hbmEfficiency: 1 };
  it("takes the slower of compute and memory", () => {
    // 88.1 MFLOP at 752 TFLOPS = 88.1e6 / 752e3 flop/ns = 117.154… ns → 119 966 ticks = 117.154296875 ns;
    // 1 MB at 3200 B/ns = 312.5 ns (on the grid) → memory-bound.
    expect(rooflineNs(88.1e6, 0, m)).toBe(117.154296875);
    expect(rooflineNs(88.1e6, 1e6, m)).toBe(312.5);
  });
  it("a bf16 reduction of 64 MiB reads two and writes one buffer", () => {
    // Memory: 3 × 67 108 864 B / 3200 B/ns = 62 914.56 ns → 64 424 510 ticks of 1/1024 ns = 62 914.560546875 ns.
    // Compute: 33 554 432 adds / 752e3 flop/ns = 44.6 ns, so memory-bound.
    expect(reductionNs(64 * 2 ** 20, 2, m)).toBe(62_914.560546875);
  });
  it("a streamed reduction ends with the transfer when compute is faster than the wire", () => {
    // Data arrives over [1000, 5000]; the reduction needs 2000 ns from the first byte → hidden: ends at 5000.
    expect(streamedComputeEnd(1000, 5000, 0, 2000)).toBe(5000);
    // Compute engine busy until 4500: 4500 + 2000 = 6500 > 5000.
    expect(streamedComputeEnd(1000, 5000, 4500, 2000)).toBe(6500);
  });
});

describe("α-β of CloudMatrix384 routes (reference §2.1 fit)", () => {
  const t = loadScenario({ raw: { topology: { preset: "cloudmatrix384", nodes: 2, switches: "physical" }, workload: { kind: "collective", collective: "all-reduce", sizes: ["1MiB"] } } }).topology;
  it("intra-node: 400 + 2×25 + 150 = 600 ns, 14 stripes × 28 = 392 GB/s", () => {
    const ab = routeAlphaBeta(t, t.route(t.endpoints[0]!, t.endpoints[1]!));
    expect(ab).toEqual({ alphaNs: 600, betaGBps: 392 });
  });
  it("inter-node: 400 + 4×25 + 3×150 = 950 ns, 392 GB/s", () => {
    const ab = routeAlphaBeta(t, t.route(t.endpoints[0]!, t.endpoints[8]!));
    expect(ab).toEqual({ alphaNs: 950, betaGBps: 392 });
  });
  it("builds the same graph twice (routes are pure)", () => {
    const again = buildTopology(loadScenario({ raw: { topology: { preset: "cloudmatrix384", nodes: 2, switches: "physical" }, workload: { kind: "collective", collective: "all-reduce", sizes: ["1MiB"] } } }).scenario.topology);
    expect(again.route(again.endpoints[3]!, again.endpoints[12]!)).toEqual(t.route(t.endpoints[3]!, t.endpoints[12]!));
  });
});

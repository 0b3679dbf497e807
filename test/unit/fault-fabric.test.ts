import { describe, expect, it } from "vitest";
import { closedFormNs } from "../../shared/collectives/index.js";
import { LLAMA3_8B, paramCounts } from "../../shared/compute/index.js";
import { loadScenario } from "../../shared/config/index.js";
import { Algorithm, Collective, type OpSpec } from "../../shared/protocol/index.js";
import type { Topology } from "../../shared/topology/index.js";
import type { NpuId } from "../../shared/units/index.js";
import { runScenario } from "../../services/coordinator/index.js";
import { runSim, scenario, simEngine, singleSwitch } from "../helpers/run.js";

/**
 * Faults that change the fabric, on the sim engine (docs/chaos.md): each applied where it happens — a
 * degraded link at its owner's egress port, a straggler in its NPU's roofline, a crashed switch in the
 * routes every actor filters — and each predicted by the fabric model's closed forms on a fabric built
 * that way from the start. Faults change time, never data.
 */
/** Relative distance of an emulated time from its prediction. */
const relErr = (got: number, want: number) => Math.abs(got - want) / want;

/** The single switch of closed-form-agreement.test.ts with each direction declared on its own. */
function oneSwitch(n: number, up: (i: number) => { bw: number; lat: number }): Record<string, unknown> {
  return {
    preset: "custom",
    custom: {
      devices: [{ name: "sw", kind: "switch" }, { name: "npu", kind: "npu", count: n }],
      links: [
        ...Array.from({ length: n }, (_, i) => ({ from: `npu${i}`, to: "sw", bandwidthGBps: up(i).bw, latencyNs: up(i).lat, duplex: false })),
        { from: "sw", to: "npu*", bandwidthGBps: 100, latencyNs: 100, duplex: false },
      ],
    },
  };
}

describe("link-degrade", () => {
  it("halving every NPU's uplink gives the ring all-reduce closed form at half the bandwidth (within 2%), results verified", async () => {
    // Ring all-reduce, n = 8: T = 2(n−1)(α + S/(nβ)), α = 400 + 100 + 150 + 100 = 750 ns. Every transfer
    // crosses one uplink (npu→sw) and one downlink: β = min(100 × 0.5, 100) = 50 GB/s. At 64 MiB:
    // S/n = 8,388,608 B, 8,388,608 / 50 = 167,772.16 ns; T = 14 × 168,522.16 = 2,359,310.24 ns
    // (fault-free, β = 100: 14 × 84,636.08 = 1,184,905.12 ns).
    const sizes = ["1MiB", "64MiB"];
    const faults = Array.from({ length: 8 }, (_, i) => ({ kind: "link-degrade", target: `npu${i}->sw`, bandwidthFactor: 0.5, at: { op: 0 } }));
    const rep = await runSim(scenario(singleSwitch(8), { collective: "all-reduce", algorithm: "ring", sizes }, { faults }));
    const slow = await runSim(scenario(oneSwitch(8, () => ({ bw: 50, lat: 100 })), { collective: "all-reduce", algorithm: "ring", sizes }));
    const big = rep.results[1]!;
    expect(slow.results[1]!.closedFormNs).toBeCloseTo(2_359_310.24, 0);
    for (const [i, r] of rep.results.entries()) {
      expect(r.verified).toBe(true);
      expect(relErr(r.virtualTimeNs, slow.results[i]!.closedFormNs)).toBeLessThan(0.02);
      // The fault is the link model's own: a fabric declared with 50 GB/s uplinks gives the same bits.
      expect(r.virtualTimeNs).toBe(slow.results[i]!.virtualTimeNs);
      // The row's closed form is taken over the degraded fabric.
      expect(r.closedFormNs).toBe(slow.results[i]!.closedFormNs);
    }
    console.log(`link-degrade ×0.5, ring all-reduce 64 MiB on 8: emulated ${big.virtualTimeNs} ns, closed form at half bandwidth ${slow.results[1]!.closedFormNs} ns`);
    expect(rep.faults).toHaveLength(8);
    expect(rep.faults![0]).toMatchObject({ kind: "link-degrade", target: "npu0->sw", injectedAt: { virtualNs: 0 }, detectedAt: null, recoveredAt: null, actors: 1 });
    expect(rep.faults![0]!.recovery).toMatch(/^none: degraded/);
    expect(rep.status).toBe("ok");
    expect(rep.rejected.total).toBe(0);
  });
});

describe("link-degrade of one lane pair", () => {
  it("halves every transfer of that NPU: stripes carry equal shares, so a transfer ends with its slowest stripe", async () => {
    // Physical CM384, 2 × 4 NPUs: npu.n0.1 sends 1/14 of each transfer on each of its 14 lanes. With both
    // lanes of plane 0 at 14 GB/s, those 2 stripes take (S/14)/14 = S/196: npu.n0.1 injects at 196 GB/s,
    // not 12 × 28 + 2 × 14 = 364. Its port paces the ring: the other edges are faster, so data waits for
    // it, never it for data, and it sends its 2(n−1) chunks back to back: T = 2(n−1) · S/(n · 196) + α,
    // α = 600 + 200 ns on the degraded lanes. At 1 GiB, n = 8: 14 × 134,217,728/196 + 800 = 9,587,780.6 ns.
    const topo = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "physical" };
    const w = { collective: "all-reduce", algorithm: "ring", sizes: ["1GiB"] };
    const rep = await runSim(scenario(topo, w, { faults: [{ kind: "link-degrade", target: "npu.n0.1->l1.n0.p0", bandwidthFactor: 0.5, latencyNs: 200, at: { op: 0 } }] }));
    const r = rep.results[0]!;
    expect(r.verified).toBe(true);
    expect(relErr(r.virtualTimeNs, (14 * 134_217_728) / 196 + 800)).toBeLessThan(0.02);
    // The row's closed form (over the degraded fabric: α and β of the slowest stripe) agrees.
    expect(Math.abs(r.errorPct)).toBeLessThan(1);
    console.log(`one lane pair at ×0.5, ring all-reduce 1 GiB on 8: emulated ${r.virtualTimeNs} ns, closed form ${r.closedFormNs} ns, 14 · S/196 + 800 = ${(14 * 134_217_728) / 196 + 800} ns`);
  });
});

/** DP-only dense training (the closed-form case of training-step.test.ts) on 8 NPUs of one switch. */
const DENSE = { kind: "training", model: { base: "llama3-8b", layers: 8 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 1024, steps: 3, zero: 0, overlap: false, bucketLayers: 8, recompute: "full", gradBytes: 2, algorithms: { dp: "ring" } };
const train = (topology: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ topology, workload: DENSE, engine: "sim", seed: 3, ...extra });

/** The gradient sync of one DENSE step: ring all-reduce of the 8 layers' bucket, then of the embedding bucket. */
function dpClosedForm(t: Topology): number {
  const group = t.endpoints.slice(0, 8) as NpuId[];
  const ar = (bytes: number) => closedFormNs({
    op: 1, collective: Collective.AllReduce, algorithm: Algorithm.Ring, sizeBytes: bytes, elementBytes: 2, group,
    nodeGroups: [[0, 1, 2, 3, 4, 5, 6, 7]], realElements: 8, seed: 1, root: 0, chunkBytes: 1,
  } satisfies OpSpec, t);
  const p = paramCounts(LLAMA3_8B);
  // gradBytes 2: 2 B × 8 layers' weights, then 2 B × (embedding + LM head).
  return ar(2 * 8 * ((p.attention + p.denseFfn) / 32)) + ar(2 * (p.embedding + p.lmHead));
}

describe("faults in a training step", () => {
  it("a link-degrade from step 1 leaves step 0 alone, slows step 1's DP sync as the closed form predicts (within 2%), and changes no parameter", async () => {
    const fault = { kind: "link-degrade", target: "npu3->sw", bandwidthFactor: 0.5, latencyNs: 200, at: { step: 1 }, duration: { steps: 1 } };
    const [clean, hurt] = [await runSim(train(singleSwitch(8))), await runSim(train(singleSwitch(8), { faults: [fault] }))];
    // The degraded fabric, declared: npu3 → sw at 50 GB/s and 100 + 200 ns. In the ring, npu3 → npu4 is then
    // the slow edge (β 50 GB/s, α 950 ns) and sets every step's pace: the sync takes about twice as long.
    const slowT = loadScenario({ raw: train(oneSwitch(8, (i) => (i === 3 ? { bw: 50, lat: 300 } : { bw: 100, lat: 100 }))) }).topology;
    const cleanT = loadScenario({ raw: train(singleSwitch(8)) }).topology;
    const [s0, s1, s2] = hurt.steps!;
    expect(s0!.virtualTimeNs).toBe(clean.steps![0]!.virtualTimeNs);
    expect(s2!.virtualTimeNs).toBe(clean.steps![2]!.virtualTimeNs);
    expect(relErr(s0!.commNs.dp, dpClosedForm(cleanT))).toBeLessThan(0.02);
    expect(relErr(s1!.commNs.dp, dpClosedForm(slowT))).toBeLessThan(0.02);
    expect(s1!.computeNs).toBe(s0!.computeNs);
    console.log(`DP sync: step 0 ${s0!.commNs.dp} ns (closed form ${dpClosedForm(cleanT)}), step 1 degraded ${s1!.commNs.dp} ns (closed form ${dpClosedForm(slowT)})`);
    expect(hurt.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(hurt.status).toBe("ok");
    // Lost: step 1 against the fault-free step 0 of the same shape.
    expect(hurt.faults![0]!.lostVirtualNs).toBeCloseTo(s1!.virtualTimeNs - s0!.virtualTimeNs, 3);
    expect(hurt.faults![0]!.ops).toEqual({ from: 2, until: 3 });
  });

  it("a straggler of factor 3 triples that step's compute on the slowest rank, for its duration only", async () => {
    const fault = { kind: "straggler", target: "npu5", factor: 3, at: { step: 1 }, duration: { steps: 1 } };
    const [clean, hurt] = [await runSim(train(singleSwitch(8))), await runSim(train(singleSwitch(8), { faults: [fault] }))];
    const [c0, c1, c2] = hurt.steps!.map((s) => s.computeNs);
    // Every kernel takes onGrid(3 × roofline) = 3 × roofline (rooflines are on the 1/1024 ns grid): exactly
    // 3×, up to the report's rounding of computeNs to 0.001 ns (|round(3x) − 3·round(x)| ≤ 0.002).
    expect(Math.abs(c1! - 3 * c0!)).toBeLessThanOrEqual(0.002);
    expect(c2).toBe(c0);
    expect(c0).toBe(clean.steps![0]!.computeNs);
    console.log(`straggler ×3: compute step 0 ${c0} ns, step 1 ${c1} ns (ratio ${(c1! / c0!).toFixed(6)})`);
    expect(hurt.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(hurt.faults![0]!.recovery).toMatch(/^none: absorbed/);
  });
});

describe("switch-crash", () => {
  it("losing one L1 plane chip of a CloudMatrix384 node costs the ring all-reduce 1/7 of its bandwidth (closed form within 2%), nothing refused", async () => {
    // Physical CM384, 2 nodes × 8 NPUs: every transfer has 14 stripes (7 planes × 2 lanes of 28 GB/s,
    // β = 392 GB/s). Without l1.n0.p2, every transfer from or to node 0 keeps the 12 stripes of the other
    // 6 planes: β = 12 × 28 = 336 GB/s = 6/7 × 392; node 1's own transfers keep 392.
    const topo = { preset: "cloudmatrix384", nodes: 2, switches: "physical" };
    const w = { collective: "all-reduce", algorithm: "ring", sizes: ["64MiB", "1GiB"] };
    const crashed = await runSim(scenario(topo, w, { faults: [{ kind: "switch-crash", target: "l1.n0.p2", at: { op: 0 } }] }));
    const clean = await runSim(scenario(topo, w));
    // The closed form (max-plus ring recurrence, shared/collectives closed-form.ts) over the fabric without
    // that chip, its routes filtered here on their own: ranks of node 0 send at 336 GB/s, node 1's at 392.
    const loaded = loadScenario({ raw: scenario(topo, w) });
    const t = loaded.topology, chip = t.devices.find((d) => d.name === "l1.n0.p2")!.id;
    const without: Topology = { ...t, route: (s, d) => ({ stripes: t.route(s, d).stripes.filter((p) => p.every((l) => t.links[l]!.to !== chip)) }) };
    const spec = (sizeBytes: number): OpSpec => ({
      op: 1, collective: Collective.AllReduce, algorithm: Algorithm.Ring, sizeBytes, elementBytes: 2, group: t.endpoints,
      nodeGroups: [[...Array(8).keys()], [...Array(8).keys()].map((i) => i + 8)], realElements: 64, seed: 1, root: 0, chunkBytes: 1,
    });
    // And the fabric whose every lane runs at 6/7 × 28 = 24 GB/s: T = 2(n−1)(α + S/(n · 336)). It is slower
    // than the crashed one by about 29 α (there, node 1's fast edges keep node 0's slow ports busy back to
    // back, so latencies overlap), which matters at 64 MiB (3.4%) and not at 1 GiB.
    const sixSevenths = await runSim(scenario({ ...topo, linkBandwidthGBps: 24, uplinkBandwidthGBps: 24 }, w));
    for (const [i, r] of crashed.results.entries()) {
      const cf = closedFormNs(spec(r.sizeBytes), without);
      expect(r.verified).toBe(true);
      expect(relErr(r.virtualTimeNs, cf)).toBeLessThan(0.02);
      expect(r.closedFormNs).toBeCloseTo(cf, 0);
      console.log(`switch-crash l1.n0.p2, ring all-reduce ${r.sizeBytes} B on 16: emulated ${r.virtualTimeNs} ns, closed form without the chip ${cf} ns, all lanes at 6/7: ${sixSevenths.results[i]!.closedFormNs} ns, fault-free ${clean.results[i]!.virtualTimeNs} ns`);
    }
    expect(relErr(crashed.results[1]!.virtualTimeNs, sixSevenths.results[1]!.closedFormNs)).toBeLessThan(0.02);
    // At 1 GiB the bandwidth term dominates: about 7/6 of the fault-free time.
    expect(relErr(crashed.results[1]!.virtualTimeNs / clean.results[1]!.virtualTimeNs, 7 / 6)).toBeLessThan(0.02);
    expect(crashed.rejected.total).toBe(0);
    expect(crashed.status).toBe("ok");
    console.log(JSON.stringify(crashed.faults![0]));
    // 8 × 15 pairs from node 0 and 8 × 8 into it from node 1: 184 pairs lose plane 2.
    // The chip itself is out (sim: its deliveries stop; NATS: its process is killed).
    expect(crashed.faults![0]).toMatchObject({ kind: "switch-crash", actors: 142, recovery: "rerouted over 6 of 7 planes: 184 endpoint pairs keep 12 of 14 stripes; the chip: its deliveries stopped" });
  });
});

describe("losing an L1 or an L2 chip in a training step", () => {
  it("the step's DP sync takes the ring closed form over the fabric without the chip (within 2%); compute and parameters unchanged", async () => {
    // DENSE (ring gradient sync, overlap off) on physical CM384 2 × 4: l1.n0.p2 lost for step 1, l2.p1.k0
    // for step 2. Each step's DP time is then the closed form of its two ring all-reduces with every route
    // filtered to the stripes that avoid the chip (as every actor filters them).
    const topo = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "physical" };
    const faults = [
      { kind: "switch-crash", target: "l1.n0.p2", at: { step: 1 }, duration: { steps: 1 } },
      { kind: "switch-crash", target: "l2.p1.k0", at: { step: 2 }, duration: { steps: 1 } },
    ];
    const [clean, hurt] = [await runSim(train(topo)), await runSim(train(topo, { faults }))];
    const t = loadScenario({ raw: train(topo) }).topology;
    const without = (name: string): Topology => {
      const chip = t.devices.find((d) => d.name === name)!.id;
      return { ...t, route: (s, d) => ({ stripes: t.route(s, d).stripes.filter((p) => p.every((l) => t.links[l]!.to !== chip)) }) };
    };
    const [s0, s1, s2] = hurt.steps!;
    expect(relErr(s0!.commNs.dp, dpClosedForm(t))).toBeLessThan(0.02);
    expect(relErr(s1!.commNs.dp, dpClosedForm(without("l1.n0.p2")))).toBeLessThan(0.02);
    expect(relErr(s2!.commNs.dp, dpClosedForm(without("l2.p1.k0")))).toBeLessThan(0.02);
    expect(s1!.commNs.dp).toBeGreaterThan(s0!.commNs.dp); // a plane of node 0 lost: its transfers at 6/7
    expect(s1!.computeNs).toBe(s0!.computeNs);
    expect(hurt.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(hurt.rejected.total).toBe(0);
    console.log(`DP sync: clean ${s0!.commNs.dp} ns (closed form ${dpClosedForm(t)}), without l1.n0.p2 ${s1!.commNs.dp} ns (${dpClosedForm(without("l1.n0.p2"))}), without l2.p1.k0 ${s2!.commNs.dp} ns (${dpClosedForm(without("l2.p1.k0"))})`);
  });
});

describe("faults belong to their run", () => {
  it("two runs on one engine (as `supernode coordinator` serves them) are faulted alike, and a fault to the end of a run ends with it", async () => {
    const topo = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "physical" };
    const w = { collective: "all-reduce", algorithm: "ring", sizes: ["64MiB", "64MiB"] };
    const loaded = loadScenario({ raw: scenario(topo, w, { faults: [{ kind: "switch-crash", target: "l1.n0.p2", at: { op: 1 } }] }) });
    await using engine = simEngine(loaded);
    const first = await runScenario(loaded, engine), second = await runScenario(loaded, engine);
    // Run 1 is ops 1–2 (the crash from op 2 until 3), run 2 ops 3–4 (from op 4 until 5): the same times.
    expect(first.faults![0]!.ops).toEqual({ from: 2, until: 3 });
    expect(second.faults![0]!.ops).toEqual({ from: 4, until: 5 });
    expect(second.results.map((r) => r.virtualTimeNs)).toEqual(first.results.map((r) => r.virtualTimeNs));
    expect(first.results[1]!.virtualTimeNs).toBeGreaterThan(first.results[0]!.virtualTimeNs);
    expect(second.rejected.total).toBe(0);
  });
});

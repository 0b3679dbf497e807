import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { describeTopology } from "../../shared/topology/index.js";

const topo = (t: Record<string, unknown>) =>
  loadScenario({ raw: { topology: t, workload: { kind: "collective", collective: "all-reduce", sizes: ["1MiB"] } } }).topology;

describe("presets", () => {
  it("CloudMatrix384 physical: 384 NPUs + 336 L1 + 112 L2 = 832 actors, 392 GB/s per NPU", () => {
    const s = describeTopology(topo({ preset: "cloudmatrix384", switches: "physical" }));
    expect([s.npus, s.switches, s.actorCount, s.nodes]).toEqual([384, 448, 832, 48]);
    expect(s.injectionGBpsPerNpu).toBe(392); // 7 planes × 2 links × 28 GB/s
    // 384 × 752 TFLOPS = 288.768 PF (Huawei quotes 288.7 PF FP16)
    expect(s.peakPflopsBf16).toBeCloseTo(288.768, 6);
  });
  it("CloudMatrix384 aggregated: 384 + 48 + 16 = 448 actors, still 392 GB/s per NPU", () => {
    const s = describeTopology(topo({ preset: "cloudmatrix384", switches: "aggregated" }));
    expect([s.npus, s.switches, s.actorCount]).toEqual([384, 64, 448]);
    expect(s.injectionGBpsPerNpu).toBe(392); // 2 lanes × 7 merged planes × 28 GB/s
  });
  it("CloudMatrix384 dies: 768 endpoints with 196 GB/s of UB each, plus the 270 GB/s die-to-die link", () => {
    const t = topo({ preset: "cloudmatrix384", switches: "physical", rankUnit: "die" });
    const s = describeTopology(t);
    expect(s.npus).toBe(768);
    expect(s.injectionGBpsPerNpu).toBe(196 + 270); // 7 × 28 UB + on-package link
    expect(s.peakPflopsBf16).toBeCloseTo(288.768, 6); // half the compute per die
  });
  it("NVL72 physical: 72 GPUs + 18 NVSwitch chips, 900 GB/s per GPU, 180 PF", () => {
    const s = describeTopology(topo({ preset: "nvl72", switches: "physical" }));
    expect([s.npus, s.switches, s.actorCount]).toEqual([72, 18, 90]);
    expect(s.injectionGBpsPerNpu).toBe(900); // 18 × 50 GB/s
    expect(s.peakPflopsBf16).toBe(180); // 72 × 2.5 PF
  });
  it("every L2 port count and L1 uplink count matches the paper (48 ports per L2, 16 uplinks per L1)", () => {
    const t = topo({ preset: "cloudmatrix384", switches: "physical" });
    const l2 = t.devices.filter((d) => d.tier === 2);
    const l1 = t.devices.filter((d) => d.tier === 1);
    expect(l2).toHaveLength(112);
    for (const d of l2) expect(t.links.filter((l) => l.from === d.id)).toHaveLength(48);
    for (const d of l1) expect(t.links.filter((l) => l.from === d.id && t.devices[l.to]!.tier === 2)).toHaveLength(16);
  });
});

describe("routing rule", () => {
  it("stripes a transfer over 7 planes × 2 lanes; inter-node stripes use spine chip k = 2·dstLocal + lane", () => {
    const t = topo({ preset: "cloudmatrix384", nodes: 3, switches: "physical" });
    const src = t.nodes[0]![2]!, dst = t.nodes[2]![5]!;
    const stripes = t.route(src, dst).stripes;
    expect(stripes).toHaveLength(14);
    const spines = stripes.map((p) => t.devices[t.links[p[1]!]!.to]!.name);
    // plane p, lane c → l2.p{p}.k{2·5 + c}
    expect(spines.slice(0, 4)).toEqual(["l2.p0.k10", "l2.p0.k11", "l2.p1.k10", "l2.p1.k11"]);
  });
  it("sibling dies talk over the on-package link only", () => {
    const t = topo({ preset: "cloudmatrix384", nodes: 1, rankUnit: "die" });
    const r = t.route(t.endpoints[0]!, t.endpoints[1]!);
    expect(r.stripes).toHaveLength(1);
    expect(t.links[r.stripes[0]![0]!]!.bandwidthGBps).toBe(270);
  });
  it("a custom two-level tree routes leaf → spine → leaf", () => {
    const t = topo({
      preset: "custom",
      custom: {
        devices: [{ name: "spine", kind: "switch" }, { name: "leaf", kind: "switch", count: 2 }, { name: "npu", kind: "npu", count: 4 }],
        links: [
          { from: "npu[0-1]", to: "leaf0", bandwidthGBps: 50, latencyNs: 20 },
          { from: "npu[2-3]", to: "leaf1", bandwidthGBps: 50, latencyNs: 20 },
          { from: "leaf*", to: "spine", bandwidthGBps: 100, latencyNs: 30 },
        ],
      },
    });
    const hops = t.route(t.endpoints[0]!, t.endpoints[3]!).stripes[0]!.map((l) => t.devices[t.links[l]!.to]!.name);
    expect(hops).toEqual(["leaf0", "spine", "leaf1", "npu3"]);
    expect(t.nodes.map((n) => n.length)).toEqual([2, 2]); // nodes = endpoints behind one leaf
  });
});

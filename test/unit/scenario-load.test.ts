import { describe, expect, it } from "vitest";
import { DEFAULT_SCENARIO, loadScenario } from "../../shared/config/index.js";
import { CLOUDMATRIX384, DeviceKind, type Topology } from "../../shared/topology/index.js";
import type { CollectiveWorkload, Scenario } from "../../shared/config/index.js";

/** The scenario's (only) workload, a collective. */
const first = (s: Scenario): CollectiveWorkload => s.workloads[0] as CollectiveWorkload;

const KiB = 1024;
const MiB = 1024 * KiB;

/** Latencies of the NPU↔L1 links and of the L1↔L2 links of a two-tier fabric, classified by tier. */
function linkLatencies(t: Topology): { intra: Set<number>; inter: Set<number> } {
  const intra = new Set<number>(), inter = new Set<number>();
  for (const l of t.links) {
    const a = t.devices[l.from]!, b = t.devices[l.to]!;
    if (a.kind === DeviceKind.Npu || b.kind === DeviceKind.Npu) intra.add(l.latencyNs);
    else if (a.tier + b.tier === 3) inter.add(l.latencyNs);
  }
  return { intra, inter };
}

describe("loadScenario --set overrides", () => {
  it("reach the resolved scenario and the built topology", () => {
    const { scenario, topology } = loadScenario({ sets: ["topology.nodes=3", "workload.sizes=[4KiB,1MiB]"] });
    // The default scenario keeps npusPerNode 4, so 3 nodes × 4 NPUs = 12 endpoints.
    expect(DEFAULT_SCENARIO.topology.npusPerNode).toBe(4);
    expect(topology.endpoints).toHaveLength(3 * 4);
    expect(topology.nodes).toHaveLength(3);
    expect(first(scenario).ranks).toBe(12);
    expect(first(scenario).sizes).toEqual([4 * KiB, 1 * MiB]);
  });

  it("create maps on the way and parse values as YAML", () => {
    const { scenario } = loadScenario({ sets: ["outputs.dir=/tmp/x", "seed=9", "workload.algorithm=hierarchical"] });
    expect(scenario.outputs.dir).toBe("/tmp/x");
    expect(scenario.seed).toBe(9);
    expect(first(scenario).algorithm).toBe("hierarchical");
  });
});

describe("loadScenario hash", () => {
  const opts = { sets: ["topology.nodes=3", "workload.sizes=[4KiB,1MiB]"] };

  it("is the same for the same options and changes with the scenario", () => {
    const a = loadScenario(opts).hash, b = loadScenario(opts).hash;
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
    expect(loadScenario({ sets: [...opts.sets, "seed=2"] }).hash).not.toBe(a);
    expect(loadScenario({ sets: ["topology.nodes=4", "workload.sizes=[4KiB,1MiB]"] }).hash).not.toBe(a);
  });

  it("hashes the resolved scenario, so spelling a default out does not change it", () => {
    const spelled = loadScenario({ sets: [...opts.sets, `topology.linkBandwidthGBps=${CLOUDMATRIX384.linkBandwidthGBps}`] });
    expect(spelled.hash).toBe(loadScenario(opts).hash);
  });
});

describe("loadScenario on cloudmatrix384", () => {
  it("linkLatencyNs sets both the intra-node and the inter-node link latency", () => {
    const latency = 77;
    expect(CLOUDMATRIX384.intraNodeLinkLatencyNs).not.toBe(latency);
    expect(CLOUDMATRIX384.interNodeLinkLatencyNs).not.toBe(latency);
    const { topology } = loadScenario({ sets: [`topology.linkLatencyNs=${latency}`] });
    expect(topology.params.intraNodeLinkLatencyNs).toBe(latency);
    expect(topology.params.interNodeLinkLatencyNs).toBe(latency);
    expect(topology.params).not.toHaveProperty("linkLatencyNs");
    const { intra, inter } = linkLatencies(topology);
    expect([...intra]).toEqual([latency]);
    expect([...inter]).toEqual([latency]);
  });

  it("an explicit intraNodeLinkLatencyNs wins over linkLatencyNs", () => {
    const { topology } = loadScenario({ sets: ["topology.linkLatencyNs=77", "topology.intraNodeLinkLatencyNs=5"] });
    const { intra, inter } = linkLatencies(topology);
    expect([...intra]).toEqual([5]);
    expect([...inter]).toEqual([77]);
  });
});

describe("loadScenario sizes", () => {
  it("{from, to, factor} expands geometrically, both ends included", () => {
    const { scenario } = loadScenario({ sets: ["workload.sizes={from: 4KiB, to: 64KiB, factor: 2}"] });
    // 4 KiB × 2^k for k = 0..4: 4, 8, 16, 32, 64 KiB.
    expect(first(scenario).sizes).toEqual([4, 8, 16, 32, 64].map((k) => k * KiB));
  });

  it("{from, to, factor} stops at the last multiple not above `to`", () => {
    const { scenario } = loadScenario({ sets: ["workload.sizes={from: 4KiB, to: 100KiB, factor: 4}"] });
    expect(first(scenario).sizes).toEqual([4 * KiB, 16 * KiB, 64 * KiB]);
  });
});

import { describe, expect, it } from "vitest";
import { COMPOSE_DEFAULT_SCENARIO, DEFAULT_SCENARIO, loadScenario } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { CLOUDMATRIX384, DeviceKind, type Topology } from "../../shared/topology/index.js";
import type { CollectiveWorkload, MoeWorkload, Scenario } from "../../shared/config/index.js";

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

/** The ScenarioError a load throws (fails the test if it loads). */
function loadError(opts: Parameters<typeof loadScenario>[0]): ScenarioError {
  try {
    loadScenario(opts);
  } catch (err) {
    if (err instanceof ScenarioError) return err;
    throw err;
  }
  throw new Error(`loaded without an error: ${JSON.stringify(opts.sets)}`);
}

describe("loadScenario --set on a list of workloads", () => {
  // The compose default: [ring all-reduce, moe-layer with capacityFactor 1.25].
  const list = { raw: COMPOSE_DEFAULT_SCENARIO };

  it("workload[i].key applies to the i-th workload only", () => {
    const { scenario } = loadScenario({ ...list, sets: ["workload[1].capacityFactor=1", "workload[0].sizes=[4KiB]"] });
    expect(COMPOSE_DEFAULT_SCENARIO.workload[1].capacityFactor).toBe(1.25);
    expect((scenario.workloads[1] as MoeWorkload).shape.capacityFactor).toBe(1);
    expect((scenario.workloads[0] as CollectiveWorkload).sizes).toEqual([4 * KiB]);
  });

  it("a key without an index is an error naming each indexed key (it used to land on the JS array, unseen)", () => {
    const bogus = loadError({ ...list, sets: ["workload.bogus=1"] });
    expect(bogus.path).toBe("workload.bogus");
    expect(bogus.message).toBe("workload.bogus: workload is a list of 2 workloads: set workload[0].bogus or workload[1].bogus");
    const negative = loadError({ ...list, sets: ["workload.sizes=[-5]"] });
    expect(negative.path).toBe("workload.sizes");
    expect(negative.message).toMatch(/set workload\[0\]\.sizes or workload\[1\]\.sizes$/);
  });

  it("an index past the end is an error; one just past it appends a workload", () => {
    expect(loadError({ ...list, sets: ["workload[5].sizes=[4KiB]"] }).message).toBe("workload[5]: no such list element (the list has 2)");
    const { scenario } = loadScenario({ ...list, sets: ["workload[2]={kind: collective, collective: all-gather, sizes: [8KiB]}"] });
    expect(scenario.workloads.map((w) => w.kind)).toEqual(["collective", "moe-layer", "collective"]);
    expect((scenario.workloads[2] as CollectiveWorkload).sizes).toEqual([8 * KiB]);
  });

  it("workload={…} replaces the whole list", () => {
    const { scenario } = loadScenario({ ...list, sets: ["workload={kind: collective, collective: broadcast, sizes: [1MiB]}"] });
    expect(scenario.workloads).toHaveLength(1);
    expect(first(scenario).collective).toBe("broadcast");
  });
});

describe("loadScenario --set keys that do not fit", () => {
  it("an index on a single workload names the key and the unindexed form", () => {
    const e = loadError({ sets: ["workload[0].sizes=[4KiB]"] });
    expect(e.path).toBe("workload[0].sizes");
    expect(e.message).toBe("workload[0].sizes: workload is one workload, not a list: set workload.sizes");
  });

  it("a name on any other list names the path", () => {
    const raw = {
      ...DEFAULT_SCENARIO,
      topology: { preset: "custom", custom: { devices: [{ name: "sw", kind: "switch" }, { name: "npu", kind: "npu", count: 2 }], links: [{ from: "npu*", to: "sw", bandwidthGBps: 100, latencyNs: 100 }] } },
      workload: { ...DEFAULT_SCENARIO.workload, sizes: ["4KiB"] },
    };
    const e = loadError({ raw, sets: ["topology.custom.links.latencyNs=5"] });
    expect(e.message).toBe("topology.custom.links.latencyNs: topology.custom.links is a list of 1 entry: set topology.custom.links[0].latencyNs");
    expect(loadScenario({ raw, sets: ["topology.custom.links[0].latencyNs=5"] }).topology.links.every((l) => l.latencyNs === 5)).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { describeTopology, type Topology } from "../../shared/topology/index.js";
import type { NpuId } from "../../shared/units/index.js";

// The cloudmatrix384 preset beyond 48 nodes (`topology: { preset: cloudmatrix384, nodes: N }`, used by
// `npm run bench -- scale`): every L1 chip keeps its 16 uplinks, one per L2 chip of its plane, and
// every L2 chip gets one port per node, so the spine stays non-blocking (docs/fabric-model.md,
// "Engine cost"). Counts per node, from two-tier.ts:
//   aggregated: 8 NPUs × 2 lanes × 2 directions + 16 uplinks × 2 directions = 64 links; 1 L1
//   physical:   8 NPUs × 7 planes × 2 lanes × 2  + 7 planes × 16 × 2          = 448 links; 7 L1
// plus 16 L2 chips aggregated, 7 × 16 = 112 physical, whatever the node count.
const topo = (t: Record<string, unknown>): Topology =>
  loadScenario({ raw: { topology: t, workload: { kind: "collective", collective: "all-reduce", sizes: ["1MiB"] } } }).topology;

/** Egress links by device id, built once per topology (a filter per device is quadratic at 1,024 nodes). */
function egressOf(t: Topology): (id: number) => Topology["links"] {
  const by = t.devices.map((): Topology["links"][number][] => []);
  for (const l of t.links) by[l.from]!.push(l);
  return (id) => by[id]!;
}

describe("cloudmatrix384 preset scaled by nodes", () => {
  for (const nodes of [128, 1024]) {
    it(`aggregated, ${nodes} nodes: ${nodes * 8} NPUs, ${nodes} + 16 switches, ${64 * nodes} links, non-blocking spine`, () => {
      const t = topo({ preset: "cloudmatrix384", nodes, switches: "aggregated" });
      const s = describeTopology(t), egress = egressOf(t);
      expect([s.npus, s.switches, s.actorCount, s.links, s.nodes]).toEqual([8 * nodes, nodes + 16, 9 * nodes + 16, 64 * nodes, nodes]);
      expect(s.injectionGBpsPerNpu).toBe(392); // 2 lanes × 7 merged planes × 28 GB/s, as at 48 nodes
      const l1 = t.devices.filter((d) => d.tier === 1), l2 = t.devices.filter((d) => d.tier === 2);
      expect([l1.length, l2.length]).toEqual([nodes, 16]);
      for (const d of l2) expect(egress(d.id)).toHaveLength(nodes); // the L2 radix grows with the nodes
      for (const d of l1) {
        const up = egress(d.id).filter((l) => t.devices[l.to]!.tier === 2);
        const down = egress(d.id).filter((l) => t.devices[l.to]!.tier === 0);
        expect([up.length, down.length]).toEqual([16, 16]);
        // up = down: 16 × 196 GB/s = 8 NPUs × 2 lanes × 196 GB/s = 3136 GB/s
        expect(up.reduce((a, l) => a + l.bandwidthGBps, 0)).toBe(3136);
        expect(down.reduce((a, l) => a + l.bandwidthGBps, 0)).toBe(3136);
      }
    });
  }

  it("physical, 128 nodes: 1024 NPUs, 7 × 128 L1 + 112 L2 chips, 448 × 128 links, 128 ports per L2", () => {
    const t = topo({ preset: "cloudmatrix384", nodes: 128, switches: "physical" });
    const s = describeTopology(t), egress = egressOf(t);
    expect([s.npus, s.switches, s.links]).toEqual([1024, 7 * 128 + 112, 448 * 128]);
    for (const d of t.devices.filter((x) => x.tier === 2)) expect(egress(d.id)).toHaveLength(128);
  });

  it("1024 nodes: an inter-node stripe crosses spine k = (dstLocal × 2 + lane) mod 16, so the 16 (local, lane) pairs use all 16 L2 chips", () => {
    const t = topo({ preset: "cloudmatrix384", nodes: 1024, switches: "aggregated" });
    const src = t.nodes[3]![5]!;
    const seen = new Set<number>();
    for (let e = 0; e < 8; e++) {
      const dst = t.nodes[1000]![e]! as NpuId;
      const { stripes } = t.route(src as NpuId, dst);
      expect(stripes).toHaveLength(2);
      stripes.forEach((path, lane) => {
        expect(path).toHaveLength(4); // NPU → L1 → L2 → L1 → NPU
        const spine = t.devices[t.links[path[1]!]!.to]!;
        expect(spine.name).toBe(`l2.k${(e * 2 + lane) % 16}`);
        seen.add(spine.id);
      });
    }
    expect(seen.size).toBe(16);
  });
});

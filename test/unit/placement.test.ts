import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { DeviceKind } from "../../shared/topology/index.js";
import { hostGroups, nodesPerHostFor, placeActors, SPINE_SWITCHES_PER_PROCESS } from "../../services/coordinator/index.js";

const full = loadScenario({ raw: { topology: { preset: "cloudmatrix384" }, workload: { kind: "collective", collective: "all-reduce", algorithm: "ring", sizes: ["4KiB"] }, engine: "sim" } });
const t = full.topology;
const spine = t.devices.filter((d) => d.node < 0 && d.kind === DeviceKind.Switch).length;
const spineHosts = Math.ceil(spine / SPINE_SWITCHES_PER_PROCESS);

/** Every device in exactly one group. */
function placedOnce(groups: readonly (readonly number[])[]): void {
  const seen = groups.flat().sort((a, b) => a - b);
  expect(seen).toEqual(t.devices.map((d) => d.id));
}

describe("grouped placement: nodes per host", () => {
  it("one node per host by default: 48 node processes of 8 NPUs and their L1 chips, then the spine", () => {
    const g = placeActors(t, "grouped");
    placedOnce(g);
    expect(g.length).toBe(48 + spineHosts);
    // A node host holds one node's devices only.
    for (const grp of g.slice(0, 48)) expect(new Set(grp.map((id) => t.devices[id]!.node)).size).toBe(1);
  });

  it("nodesPerHost packs consecutive nodes: 5 a host is ⌈48 / 5⌉ = 10 node hosts, the last with 3 nodes", () => {
    const g = placeActors(t, "grouped", 5);
    placedOnce(g);
    expect(g.length).toBe(10 + spineHosts);
    const nodesOf = (grp: readonly number[]) => [...new Set(grp.map((id) => t.devices[id]!.node))];
    expect(nodesOf(g[0]!)).toEqual([0, 1, 2, 3, 4]);
    expect(nodesOf(g[9]!)).toEqual([45, 46, 47]);
  });

  it("auto: about two host processes per core — 48 nodes on 2 cores is ⌈48 / 4⌉ = 12 a host; 64 cores, one", () => {
    expect(nodesPerHostFor(t, "auto", 2)).toBe(12);
    expect(nodesPerHostFor(t, "auto", 1)).toBe(24);
    expect(nodesPerHostFor(t, "auto", 64)).toBe(1);
    expect(nodesPerHostFor(t, 3, 2)).toBe(3);
    const g = hostGroups(t, { placement: "grouped", nodesPerHost: "auto" }, 2);
    placedOnce(g);
    expect(g.length).toBe(4 + spineHosts);
    expect(hostGroups(t, { placement: "external", nodesPerHost: "auto" }, 2)).toEqual([]);
  });

  it("per-actor ignores it: a process per actor", () => {
    expect(hostGroups(t, { placement: "per-actor", nodesPerHost: 12 }, 2).length).toBe(t.devices.length);
  });

  it("a bad nodesPerHost is refused naming the field", () => {
    expect(() => loadScenario({ raw: { ...full.raw as object, deployment: { nodesPerHost: 0 } } })).toThrow(/deployment\.nodesPerHost/);
    expect(() => loadScenario({ raw: { ...full.raw as object, deployment: { nodesPerHost: "many" } } })).toThrow(/deployment\.nodesPerHost/);
  });
});

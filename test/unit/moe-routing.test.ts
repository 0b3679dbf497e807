import { describe, expect, it } from "vitest";
import {
  chooseExperts, DROPPED, expertCapacity, maxOverMeanLoad, nodesOfSize, placeExperts, planDispatch, popularityOrder,
  tryPlaceExperts, type ExpertChoices, type MoeShape,
} from "../../shared/moe/index.js";
import { DSV3, histogram, moeShape, routeLayer } from "../helpers/moe.js";

describe("placement", () => {
  it("contiguous blocks when ep divides experts", () => {
    const p = placeExperts({ experts: 256, ep: 64 });
    expect([0, 3, 4, 255].map((e) => p.homeOf(e))).toEqual([0, 0, 1, 63]);
    expect(p.expertsOn(1)).toEqual([4, 5, 6, 7]);
  });

  it("copies go to the ranks with the fewest experts, ties to the lowest rank, never twice on one rank", () => {
    // 8 experts on 4 ranks (2 each). Expert 0 ×2: rank 1 (tie of all, rank 0 holds it), then rank 2
    // (ranks 2, 3 hold 2, rank 1 now 3). Expert 5 ×1: ranks 0 and 3 hold 2, ranks 1, 2 hold 3 → rank 0.
    const p = placeExperts({ experts: 8, ep: 4, replicas: [{ expert: 0, copies: 2 }, { expert: 5, copies: 1 }] });
    expect(p.replicasOf(0)).toEqual([0, 1, 2]);
    expect(p.replicasOf(5)).toEqual([2, 0]);
    expect([0, 1, 2, 3].map((r) => p.expertsOn(r))).toEqual([[0, 1, 5], [0, 2, 3], [0, 4, 5], [6, 7]]);
  });

  it("replicas may even out an EP degree that does not divide the experts (256 + 32 copies on EP 288)", () => {
    const replicas = popularityOrder(1, 256).slice(0, 32).map((expert) => ({ expert, copies: 1 }));
    const p = placeExperts({ experts: 256, ep: 288, replicas });
    for (let r = 0; r < 288; r++) expect(p.expertsOn(r).length).toBe(1);
    const bad = tryPlaceExperts({ experts: 256, ep: 320, replicas });
    expect(Array.isArray(bad) && bad[0]!.path).toBe("workload.ep");
  });
});

/** Independent overflow count: walk copies in (rank, token, k) order, one counter per expert. */
function overflowByArrival(c: ExpertChoices, capacity: number, replicasOf: (e: number) => number): Set<number> {
  const seen = new Map<number, number>();
  const dropped = new Set<number>();
  for (let i = 0; i < c.experts.length; i++) {
    const e = c.experts[i]!;
    const n = seen.get(e) ?? 0;
    seen.set(e, n + 1);
    if (n >= capacity * replicasOf(e)) dropped.add(i);
  }
  return dropped;
}

describe("capacity and drops", () => {
  it("capacity factor < 1: drops equal an independent count of overflow in arrival order", () => {
    // 32 experts, EP 8, 64 tokens/rank, top-4, zipf 1.0: mean demand 8·64·4/32 = 64 per expert;
    // capacity = ⌈0.8 × 64⌉ = ⌈51.2⌉ = 52. The hot experts overflow; the latest arrivals are dropped.
    const shape = moeShape({ experts: 32, ep: 8, tokensPerRank: 64, topK: 4, capacityFactor: 0.8 });
    expect(expertCapacity(shape)).toBe(52);
    const { choices, plan } = routeLayer(shape, { kind: "zipf", exponent: 1 });
    const want = overflowByArrival(choices, 52, () => 1);
    const got = new Set(plan.copies.flatMap((c, i) => (c.dstRank === DROPPED ? [i] : [])));
    expect(want.size).toBeGreaterThan(100);
    expect(plan.droppedTotal).toBe(want.size);
    expect(got).toEqual(want);
    const demand = histogram(choices.experts, 32);
    expect(Array.from(plan.droppedPerExpert)).toEqual(demand.map((d) => Math.max(0, d - 52)));
    expect(plan.copies.length - plan.droppedTotal).toBe(plan.rankLoad.reduce((a, b) => a + b, 0));
  });

  it("with replicas, an expert drops only when all its replicas are full: max(0, demand − C·R)", () => {
    const hot = popularityOrder(1, 32).slice(0, 3);
    const shape = moeShape({
      experts: 32, ep: 8, tokensPerRank: 64, topK: 4, capacityFactor: 0.8,
      replicas: hot.map((expert) => ({ expert, copies: 1 })),
    });
    const { placement, choices, plan } = routeLayer(shape, { kind: "zipf", exponent: 1 });
    const want = overflowByArrival(choices, 52, (e) => placement.replicasOf(e).length);
    expect(plan.droppedTotal).toBe(want.size);
    expect(new Set(plan.copies.flatMap((c, i) => (c.dstRank === DROPPED ? [i] : [])))).toEqual(want);
    for (const e of hot) for (const load of plan.replicaLoad[e]!) expect(load).toBeLessThanOrEqual(52);
  });

  it("expertCapacity: ⌈1.25 × 128 × 64 × 8 / 256⌉ = 320, and float noise adds no slot", () => {
    expect(expertCapacity(moeShape({ capacityFactor: 1.25 }))).toBe(320);
    // 1.1 × (100·1·1/1) = 110.00000000000001 in float64: still 110.
    expect(expertCapacity(moeShape({ capacityFactor: 1.1, tokensPerRank: 100, ep: 1, topK: 1, experts: 1 }))).toBe(110);
  });
});

describe("replicas of a hot expert cut the max/mean load", () => {
  // 4 ranks, 1 expert each, 4 tokens/rank, top-2: token t of rank r → experts [0, 1 + (r+t) mod 3].
  // Demand: expert 0: 16; r+t ∈ 0..6 with multiplicities 1,2,3,4,3,2,1 → experts 1, 2, 3: 6, 5, 5.
  // No replica: rank loads [16, 6, 5, 5], mean 32/4 = 8 → max/mean 2.0.
  const assignments = Array.from({ length: 16 }, (_, g) => [0, 1 + ((Math.floor(g / 4) + (g % 4)) % 3)]);
  const base = moeShape({ experts: 4, ep: 4, tokensPerRank: 4, topK: 2, capacityFactor: 4 });
  const loads = (shape: MoeShape) => {
    const p = placeExperts(shape);
    return planDispatch(shape, p, chooseExperts(shape, { kind: "fixed", assignments }, 1)).rankLoad;
  };

  it("round-robin: 2.0 → 1.75; least-loaded: 2.0 → 1.375", () => {
    expect(Array.from(loads(base))).toEqual([16, 6, 5, 5]);
    expect(maxOverMeanLoad(loads(base))).toBe(2);
    // One copy of expert 0 goes to rank 1 (all ranks hold 1 expert; rank 0 already has it).
    // Round-robin alternates its 16 copies: [8, 6 + 8, 5, 5] → 14/8 = 1.75.
    const replicas = [{ expert: 0, copies: 1 }];
    const rr = loads({ ...base, replicas, replicaPolicy: "round-robin" });
    expect(Array.from(rr)).toEqual([8, 14, 5, 5]);
    expect(maxOverMeanLoad(rr)).toBe(1.75);
    // Least-loaded levels ranks 0 and 1: (16 + 6)/2 = 11 each → 11/8 = 1.375.
    const ll = loads({ ...base, replicas, replicaPolicy: "least-loaded" });
    expect(Array.from(ll)).toEqual([11, 11, 5, 5]);
    expect(maxOverMeanLoad(ll)).toBe(1.375);
  });

  it("DeepSeek-V3 shape, zipf 1.2: 2 copies of each of the 4 hottest experts lower max/mean", () => {
    const before = maxOverMeanLoad(routeLayer(DSV3, { kind: "zipf", exponent: 1.2 }).plan.rankLoad);
    const replicas = popularityOrder(1, 256).slice(0, 4).map((expert) => ({ expert, copies: 2 }));
    const after = maxOverMeanLoad(routeLayer({ ...DSV3, replicas, replicaPolicy: "least-loaded" }, { kind: "zipf", exponent: 1.2 }).plan.rankLoad);
    // p1 = 1/H(256, 1.2) ≈ 0.25 per draw: the hottest expert is in almost every token's top-8, so its rank
    // processes ≈ 7,850 copies against a mean of 1,024 (≈ 7.7). Home + 2 copies split it three ways
    // (≈ 2,600 each, plus the other experts on those ranks): ≈ 3.8, about half.
    expect(before).toBeGreaterThan(7);
    expect(after).toBeLessThan(before);
    expect(after).toBeLessThan(0.55 * before);
  });
});

describe("dispatch lists and replica policies", () => {
  it("lists hold every accepted copy once, src→dst, in (token, k) order; counts add up", () => {
    const { plan } = routeLayer(moeShape({ ep: 16, tokensPerRank: 32, capacityFactor: 0.9 }), { kind: "hot", hotFraction: 0.05, hotShare: 0.5 });
    let listed = 0;
    plan.lists.forEach((row, src) => row.forEach((list, dst) => {
      listed += list.length;
      const wrong = list.filter((c, i) => c.srcRank !== src || c.dstRank !== dst || (i > 0 && c.token * 8 + c.k <= list[i - 1]!.token * 8 + list[i - 1]!.k));
      expect(wrong).toEqual([]);
    }));
    expect(listed).toBe(plan.copies.length - plan.droppedTotal);
    const sum = (a: Int32Array) => a.reduce((x, y) => x + y, 0);
    expect(sum(plan.sendCopies)).toBe(sum(plan.recvCopies));
    expect(sum(plan.sendCopies) + sum(plan.localCopies)).toBe(listed);
  });

  it("same-node-first keeps copies on the source's node when a replica is there", () => {
    // 16 experts on 16 ranks, 4 ranks per node. Expert 15 lives on rank 15 (node 3); its 2 copies go to
    // ranks 0 and 1 (every rank holds 1 expert: lowest ids first), both on node 0. Copies from node 0
    // stay on node 0, from node 3 on rank 15; from nodes 1 and 2 they rotate over all three replicas.
    const shape = moeShape({
      experts: 16, ep: 16, tokensPerRank: 64, topK: 2, capacityFactor: 100, replicaPolicy: "same-node-first",
      replicas: [{ expert: 15, copies: 2 }],
    });
    const rankNode = nodesOfSize(4);
    const p = placeExperts(shape);
    expect(p.replicasOf(15)).toEqual([15, 0, 1]);
    const plan = planDispatch(shape, p, chooseExperts(shape, { kind: "uniform" }, 1), rankNode);
    const seen = new Set<string>();
    for (const c of plan.copies.filter((x) => x.expert === 15)) {
      const from = rankNode(c.srcRank), to = rankNode(c.dstRank);
      if (from === 0 || from === 3) expect(to).toBe(from);
      seen.add(`${from}->${to}`);
    }
    expect([...seen].sort()).toEqual(["0->0", "1->0", "1->3", "2->0", "2->3", "3->3"]);
  });
});

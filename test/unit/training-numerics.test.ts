import { describe, expect, it } from "vitest";
import { flatten, train, type RefConfig } from "../reference/trainer.js";
import { smallSpec, trainOnSim } from "../helpers/training.js";
import type { TrainingSpec } from "../../shared/protocol/index.js";

/** The reference trainer's configuration for the same tiny model. */
function refOf(t: TrainingSpec, steps: number): RefConfig {
  return {
    seed: t.numerics.seed, layers: t.layers.map((l) => l.kind), hidden: t.numerics.hidden, expertHidden: t.numerics.expertHidden,
    experts: t.shape.experts, topK: t.shape.topK, sharedExperts: t.shape.sharedExperts, dp: t.dp, microSteps: t.microSteps,
    tokensPerRank: t.numerics.tokensPerRank, lr: t.numerics.lr, steps,
  };
}

/** Max relative difference: |a − b| / max(|b|, 1e-3) (docs/training.md §1.5 justifies 1e-9). */
function maxRel(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-3));
  return m;
}

describe("training numerics equal the independent reference trainer", () => {
  const CM384_SLICE = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 };
  const cases: [string, Partial<TrainingSpec>, Record<string, unknown>?][] = [
    ["DP 4 × EP 2, dense + MoE layer, ZeRO-0", {}],
    ["DP 4 × EP 4, ZeRO-1, no overlap", { ep: 4, zero: 1, overlap: false }],
    ["dense model, DP 2 × TP 2", { layers: [{ kind: "dense", count: 1 }, { kind: "dense", count: 1 }], dp: 2, tp: 2, ep: 1, shape: { ...smallSpec().shape, experts: 0, topK: 0, sharedExperts: 0 } }],
    ["DP 8 × EP 4 on two CM384 nodes, hierarchical ZeRO-1 sync", { dp: 8, ep: 4, zero: 1, dpAlgorithm: "hierarchical" }, CM384_SLICE],
    ["DP 8 on two CM384 nodes, hierarchical ZeRO-0 sync", { dp: 8, ep: 2, zero: 0, dpAlgorithm: "hierarchical" }, CM384_SLICE],
  ];
  for (const [name, over, topology] of cases) {
    it(name, async () => {
      const t = smallSpec(over);
      const steps = 4;
      const sim = await trainOnSim(t, steps, undefined, topology);
      const ref = train(refOf(t, steps));
      const rel = maxRel(sim.params, flatten(refOf(t, steps), ref.params));
      expect(rel).toBeLessThan(1e-9);
      sim.losses.forEach((l, k) => expect(Math.abs(l - ref.losses[k]!) / ref.losses[k]!).toBeLessThan(1e-9));
    });
  }
});

import { describe, expect, it } from "vitest";
import { ScenarioError } from "../../shared/errors/index.js";
import { assertValidMoe, nodesOfSize, placeExperts, validateMoe, type Gating, type MoeShape } from "../../shared/moe/index.js";
import { DSV3, moeShape } from "../helpers/moe.js";

const UNIFORM: Gating = { kind: "uniform" };
const paths = (shape: MoeShape, gating: Gating = UNIFORM) => validateMoe(shape, gating).map((i) => i.path);

describe("validateMoe names the offending field", () => {
  it("the DeepSeek-V3 shape is valid, for every gating kind", () => {
    for (const g of [UNIFORM, { kind: "zipf", exponent: 1.2 }, { kind: "hot", hotFraction: 0.05, hotShare: 0.5 }, { kind: "gate" }] as Gating[]) {
      expect(validateMoe(DSV3, g, nodesOfSize(8))).toEqual([]);
    }
  });

  const cases: [string, Partial<MoeShape>, string][] = [
    ["top-k > experts", { experts: 4, ep: 4, topK: 8 }, "workload.topK"],
    ["ep does not divide experts, no replicas", { ep: 48 }, "workload.ep"],
    ["capacity factor 0", { capacityFactor: 0 }, "workload.capacityFactor"],
    ["capacity factor < 0", { capacityFactor: -1 }, "workload.capacityFactor"],
    ["no tokens", { tokensPerRank: 0 }, "workload.tokensPerRank"],
    ["ep 0", { ep: 0 }, "workload.ep"],
    ["node limit 0", { nodeLimit: 0 }, "workload.nodeLimit"],
    ["replica of a non-expert", { replicas: [{ expert: 256, copies: 1 }] }, "workload.replicas[0].expert"],
    ["replica copies 0", { replicas: [{ expert: 3, copies: 0 }] }, "workload.replicas[0].copies"],
    ["more copies than other ranks", { ep: 4, experts: 8, replicas: [{ expert: 1, copies: 4 }] }, "workload.replicas[0].copies"],
    ["replicas that leave ranks uneven", { ep: 48, replicas: [{ expert: 1, copies: 1 }] }, "workload.ep"],
    ["fractional hidden size", { hidden: 71.5 }, "workload.hidden"],
  ];
  for (const [name, over, path] of cases) {
    it(`${name} → ${path}`, () => {
      expect(paths(moeShape(over))).toContain(path);
    });
  }

  it("gating parameters", () => {
    expect(paths(DSV3, { kind: "zipf", exponent: 0 })).toEqual(["workload.gating.exponent"]);
    expect(paths(DSV3, { kind: "zipf", exponent: -1 })).toEqual(["workload.gating.exponent"]);
    expect(paths(DSV3, { kind: "hot", hotFraction: 0, hotShare: 0.5 })).toEqual(["workload.gating.hotFraction"]);
    expect(paths(DSV3, { kind: "hot", hotFraction: 0.1, hotShare: 1.5 })).toEqual(["workload.gating.hotShare"]);
    expect(paths(DSV3, { kind: "hot", hotFraction: 1, hotShare: 1 })).toEqual([]);
  });

  it("fixed assignments: one row per token, topK distinct experts in range", () => {
    const shape = moeShape({ experts: 4, ep: 2, tokensPerRank: 2, topK: 2 });
    const fixed = (assignments: number[][]): Gating => ({ kind: "fixed", assignments });
    expect(paths(shape, fixed([[0, 1], [2, 3], [1, 2], [3, 0]]))).toEqual([]);
    expect(paths(shape, fixed([[0, 1], [2, 3]]))).toEqual(["workload.gating.assignments"]);
    expect(paths(shape, fixed([[0, 1], [2], [1, 2], [3, 0]]))).toEqual(["workload.gating.assignments[1]"]);
    expect(paths(shape, fixed([[0, 1], [2, 3], [1, 1], [3, 0]]))).toEqual(["workload.gating.assignments[2]"]);
    expect(paths(shape, fixed([[0, 1], [2, 3], [1, 2], [3, 4]]))).toEqual(["workload.gating.assignments[3]"]);
    expect(paths({ ...shape, nodeLimit: 1 }, fixed([[0, 1], [2, 3], [1, 2], [3, 0]]))).toEqual(["workload.nodeLimit"]);
  });

  it("node limit too tight for top-k, given the nodes", () => {
    // 64 ranks of 4 experts, 8 ranks per node → 32 experts per node; 1 node is enough for top-8 ...
    expect(validateMoe(moeShape({ nodeLimit: 1 }), UNIFORM, nodesOfSize(8))).toEqual([]);
    // ... but with 1 rank per node, 1 node holds 4 experts and 2 nodes 8: M = 1 fails, M = 2 passes.
    expect(validateMoe(moeShape({ nodeLimit: 1 }), UNIFORM, nodesOfSize(1)).map((i) => i.path)).toEqual(["workload.nodeLimit"]);
    expect(validateMoe(moeShape({ nodeLimit: 2 }), UNIFORM, nodesOfSize(1))).toEqual([]);
  });

  it("assertValidMoe and placeExperts throw a ScenarioError with the path", () => {
    expect(() => assertValidMoe(moeShape({ topK: 300 }), UNIFORM)).toThrow(ScenarioError);
    expect(() => assertValidMoe(moeShape({ topK: 300 }), UNIFORM)).toThrow(/^workload\.topK: /);
    expect(() => placeExperts({ experts: 256, ep: 48 })).toThrow(/^workload\.ep: ep 48 does not divide experts 256/);
  });
});

import { describe, expect, it } from "vitest";
import {
  applyExpert, checkCombined, combineFromParts, DROPPED, expectedCombined, expertFunction, tokenVector,
  type DispatchPlan, type ExpertChoices, type ExpertPart, type Gating, type MoeShape,
} from "../../shared/moe/index.js";
import { moeShape, routeLayer } from "../helpers/moe.js";

const SEED = 5;

/**
 * What the engines will do, with no fabric: every destination applies the expert to each copy in
 * its src→dst list and sends the output back; each origin gathers its parts per token.
 */
function deliverParts(plan: DispatchPlan, shape: MoeShape, choices: ExpertChoices): Map<number, ExpertPart[]> {
  const parts = new Map<number, ExpertPart[]>();
  // Walk destinations in reverse so parts arrive out of k order, as they may on a fabric.
  for (let dst = shape.ep - 1; dst >= 0; dst--) {
    for (let src = shape.ep - 1; src >= 0; src--) {
      for (const c of plan.lists[src]![dst]!) {
        const g = c.srcRank * shape.tokensPerRank + c.token;
        expect(choices.experts[g * shape.topK + c.k]).toBe(c.expert);
        const output = applyExpert(SEED, c.expert, tokenVector(SEED, g));
        parts.set(g, [...(parts.get(g) ?? []), { k: c.k, output }]);
      }
    }
  }
  return parts;
}

function droppedKs(plan: DispatchPlan, shape: MoeShape): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  for (const c of plan.copies) {
    if (c.dstRank !== DROPPED) continue;
    const g = c.srcRank * shape.tokensPerRank + c.token;
    out.set(g, (out.get(g) ?? new Set()).add(c.k));
  }
  return out;
}

/** A third way, all in integers: D·result = Σ_k units_k·f_k(x) + D·Σ_s f_s(x), then one exact division. */
function integerCombined(shape: MoeShape, choices: ExpertChoices, g: number, dropped: ReadonlySet<number>): Float64Array {
  const x = tokenVector(SEED, g), D = choices.weightDenominator;
  const acc = new Array<number>(x.length).fill(0);
  const add = (units: number, id: number) => {
    const { scale, shift } = expertFunction(SEED, id);
    x.forEach((v, i) => { acc[i]! += units * (scale * v + shift); });
  };
  for (let k = 0; k < shape.topK; k++) if (!dropped.has(k)) add(choices.weightUnits[g * shape.topK + k]!, choices.experts[g * shape.topK + k]!);
  for (let s = 0; s < shape.sharedExperts; s++) add(D, shape.experts + s);
  for (const a of acc) expect(Number.isSafeInteger(a)).toBe(true);
  return Float64Array.from(acc, (a) => a / D);
}

const CASES: { name: string; shape: MoeShape; gating: Gating }[] = [
  // 16 experts on 8 ranks, 32 tokens each, top-4: mean demand 64 per expert; capacity ⌈0.75 × 64⌉ = 48.
  { name: "zipf 1.0 with drops (capacity 0.75)", shape: moeShape({ experts: 16, ep: 8, tokensPerRank: 32, topK: 4, capacityFactor: 0.75 }), gating: { kind: "zipf", exponent: 1 } },
  { name: "hot, replicas, 2 shared experts", shape: moeShape({ experts: 16, ep: 8, tokensPerRank: 32, topK: 4, sharedExperts: 2, capacityFactor: 0.9, replicas: [{ expert: 3, copies: 2 }], replicaPolicy: "least-loaded" }), gating: { kind: "hot", hotFraction: 0.125, hotShare: 0.7 } },
  { name: "gate, top-8 of 64, no drops", shape: moeShape({ experts: 64, ep: 16, tokensPerRank: 16 }), gating: { kind: "gate" } },
];

describe("combine: every token's result equals the reference, exactly", () => {
  for (const { name, shape, gating } of CASES) {
    it(name, () => {
      const { choices, plan } = routeLayer(shape, gating, SEED);
      if (shape.capacityFactor < 1) expect(plan.droppedTotal).toBeGreaterThan(0);
      const parts = deliverParts(plan, shape, choices);
      const dropped = droppedKs(plan, shape);
      for (let g = 0; g < choices.tokens; g++) {
        const gone = dropped.get(g) ?? new Set<number>();
        const mine = parts.get(g) ?? [];
        expect(mine.length + gone.size, `token ${g}`).toBe(shape.topK);
        const want = expectedCombined(SEED, shape, choices, g, gone);
        const got = combineFromParts(SEED, shape, choices, g, mine);
        expect(checkCombined(g, got, want)).toBeUndefined();
        for (let i = 0; i < want.length; i++) {
          expect(got[i] === want[i]).toBe(true);
          expect(want[i]).toBe(integerCombined(shape, choices, g, gone)[i]);
        }
      }
    });
  }

  it("a missing or duplicated part is caught", () => {
    const { shape, gating } = CASES[0]!;
    const { choices, plan } = routeLayer(shape, gating, SEED);
    const parts = deliverParts(plan, shape, choices);
    const dropped = droppedKs(plan, shape);
    let checked = 0;
    for (let g = 0; g < choices.tokens; g++) {
      const [first, ...rest] = parts.get(g) ?? [];
      // A part of all zeros (x = 0 and shift 0) changes nothing when lost; every weight is ≥ 1/64.
      if (first === undefined || first.output.every((v) => v === 0)) continue;
      const want = expectedCombined(SEED, shape, choices, g, dropped.get(g) ?? new Set());
      expect(checkCombined(g, combineFromParts(SEED, shape, choices, g, rest), want)).toBeDefined();
      expect(checkCombined(g, combineFromParts(SEED, shape, choices, g, [first, first, ...rest]), want)).toBeDefined();
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
  });
});

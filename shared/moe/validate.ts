import { ScenarioError } from "../errors/index.js";
import { tryPlaceExperts } from "./placement.js";
import { totalTokens, type Gating, type MoeIssue, type MoeShape, type RankNode } from "./types.js";
import { weightDenominator } from "./weights.js";

/**
 * Every problem with an MoE workload, each naming its scenario field (`workload.topK`, `workload.ep`,
 * …), so the CLI can fail fast before any actor starts. With `rankNode`, node-limited routing is also
 * checked to leave every token at least topK experts. Empty when the workload is valid.
 */
export function validateMoe(shape: MoeShape, gating: Gating, rankNode?: RankNode): MoeIssue[] {
  const issues = [...shapeIssues(shape), ...gatingIssues(shape, gating)];
  if (issues.length > 0) return issues;
  const placed = tryPlaceExperts(shape);
  if (Array.isArray(placed)) return placed;
  if (rankNode !== undefined && shape.nodeLimit !== undefined && gating.kind !== "fixed") {
    // The fewest experts any M nodes can hold: the M smallest node counts.
    const perNode = new Map<number, number>();
    for (let e = 0; e < shape.experts; e++) {
      const n = rankNode(placed.homeOf(e));
      perNode.set(n, (perNode.get(n) ?? 0) + 1);
    }
    const fewest = [...perNode.values()].sort((a, b) => a - b).slice(0, shape.nodeLimit).reduce((a, b) => a + b, 0);
    if (fewest < shape.topK) issues.push({ path: "workload.nodeLimit", message: `${shape.nodeLimit} nodes may hold only ${fewest} experts, fewer than topK ${shape.topK}` });
  }
  return issues;
}

/** Throws a ScenarioError for the first issue of validateMoe. */
export function assertValidMoe(shape: MoeShape, gating: Gating, rankNode?: RankNode): void {
  const first = validateMoe(shape, gating, rankNode)[0];
  if (first) throw new ScenarioError(first.path, first.message);
}

const isPosInt = (v: number): boolean => Number.isInteger(v) && v >= 1;

function shapeIssues(s: MoeShape): MoeIssue[] {
  const out: MoeIssue[] = [];
  const need = (ok: boolean, field: string, message: string) => { if (!ok) out.push({ path: `workload.${field}`, message }); };
  for (const f of ["hidden", "experts", "expertIntermediate", "dispatchBytesPerToken", "combineBytesPerToken"] as const) {
    need(isPosInt(s[f]), f, `must be a whole number ≥ 1, got ${s[f]}`);
  }
  need(isPosInt(s.tokensPerRank), "tokensPerRank", `must be a whole number ≥ 1, got ${s.tokensPerRank}`);
  need(isPosInt(s.ep), "ep", `must be a whole number ≥ 1 (ranks holding experts), got ${s.ep}`);
  need(isPosInt(s.topK), "topK", `must be a whole number ≥ 1, got ${s.topK}`);
  need(!(s.topK > s.experts), "topK", `top-${s.topK} needs at least ${s.topK} distinct experts, there are ${s.experts}`);
  need(Number.isInteger(s.sharedExperts) && s.sharedExperts >= 0, "sharedExperts", `must be a whole number ≥ 0, got ${s.sharedExperts}`);
  need(Number.isFinite(s.capacityFactor) && s.capacityFactor > 0, "capacityFactor", `must be > 0, got ${s.capacityFactor}`);
  if (s.weightBytes !== undefined) need([1, 2, 4].includes(s.weightBytes), "weightBytes", `must be 1, 2 or 4 (bytes per weight), got ${s.weightBytes}`);
  if (s.nodeLimit !== undefined) need(isPosInt(s.nodeLimit), "nodeLimit", `must be a whole number ≥ 1 (nodes per token), got ${s.nodeLimit}`);
  if (isPosInt(s.topK)) need(weightDenominator(s.topK) <= 2 ** 20, "topK", `${s.topK} is too large for exact dyadic gate weights`);
  (s.replicas ?? []).forEach((r, i) => {
    need(Number.isInteger(r.expert) && r.expert >= 0 && r.expert < s.experts, `replicas[${i}].expert`, `expert ${r.expert} is not in [0, ${s.experts})`);
    need(isPosInt(r.copies), `replicas[${i}].copies`, `must be a whole number ≥ 1, got ${r.copies}`);
  });
  return out;
}

function gatingIssues(s: MoeShape, g: Gating): MoeIssue[] {
  const at = (field: string, message: string): MoeIssue[] => [{ path: `workload.gating.${field}`, message }];
  switch (g.kind) {
    case "uniform":
    case "gate":
      return [];
    case "zipf":
      return Number.isFinite(g.exponent) && g.exponent > 0 ? [] : at("exponent", `must be > 0, got ${g.exponent}`);
    case "hot": {
      const inUnit = (v: number) => Number.isFinite(v) && v > 0 && v <= 1;
      return [
        ...(inUnit(g.hotFraction) ? [] : at("hotFraction", `must be in (0, 1] (fraction of experts), got ${g.hotFraction}`)),
        ...(inUnit(g.hotShare) ? [] : at("hotShare", `must be in (0, 1] (fraction of token choices), got ${g.hotShare}`)),
      ];
    }
    case "fixed": return fixedIssues(s, g.assignments);
    default: {
      const never: never = g;
      return [{ path: "workload.gating.kind", message: `unknown gating ${String((never as { kind: unknown }).kind)}` }];
    }
  }
}

function fixedIssues(s: MoeShape, rows: readonly (readonly number[])[]): MoeIssue[] {
  const N = totalTokens(s);
  const out: MoeIssue[] = [];
  if (s.nodeLimit !== undefined) out.push({ path: "workload.nodeLimit", message: "fixed assignments are used as given; node-limited routing does not apply" });
  if (rows.length !== N) return [...out, { path: "workload.gating.assignments", message: `needs one row per token: ${N} (tokensPerRank × ep), got ${rows.length}` }];
  for (let g = 0; g < N && out.length < 10; g++) {
    const row = rows[g]!;
    const path = `workload.gating.assignments[${g}]`;
    if (row.length !== s.topK) out.push({ path, message: `needs topK = ${s.topK} experts, got ${row.length}` });
    else if (row.some((e) => !Number.isInteger(e) || e < 0 || e >= s.experts)) out.push({ path, message: `expert ids must be in [0, ${s.experts})` });
    else if (new Set(row).size !== row.length) out.push({ path, message: `experts of one token must be distinct, got [${row.join(", ")}]` });
  }
  return out;
}

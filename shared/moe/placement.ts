import { ScenarioError } from "../errors/index.js";
import { splitOffsets } from "../units/index.js";
import type { MoeIssue, MoeShape } from "./types.js";

/** Which EP ranks hold which routed experts. */
export interface Placement {
  readonly ep: number;
  readonly experts: number;
  /** Home rank of each expert (where it lives without replicas). */
  homeOf(expert: number): number;
  /** Every rank holding `expert`: the home rank first, then its copies in placement order. */
  replicasOf(expert: number): readonly number[];
  /** Experts held by `rank` (home or copy), ascending. */
  expertsOn(rank: number): readonly number[];
}

type PlacementShape = Pick<MoeShape, "experts" | "ep" | "replicas">;

/**
 * Places experts over EP ranks, or says why it cannot.
 * - Home: contiguous blocks as DeepSeek does, `splitEven(experts, ep)` (larger blocks first): with
 *   ep | experts, expert e lives on rank ⌊e / (experts/ep)⌋.
 * - Copies: replica specs in listed order, one copy at a time, each on the rank holding the fewest
 *   experts so far (home + copies), ties to the lowest rank id, never on a rank that already holds it.
 * - Valid when ep divides experts, or when the copies even the ranks out (every rank ends with the same
 *   number of experts, e.g. 256 experts + 32 copies on EP 288); otherwise the error names `workload.ep`.
 */
export function tryPlaceExperts(shape: PlacementShape): Placement | MoeIssue[] {
  const { experts, ep } = shape;
  const held: number[][] = Array.from({ length: ep }, () => []);
  const off = splitOffsets(experts, ep);
  const home = new Int32Array(experts);
  for (let r = 0; r < ep; r++) for (let e = off[r]!; e < off[r + 1]!; e++) { home[e] = r; held[r]!.push(e); }
  const replicas: number[][] = Array.from({ length: experts }, (_, e) => [home[e]!]);
  const issues: MoeIssue[] = [];
  (shape.replicas ?? []).forEach((spec, i) => {
    if (!Number.isInteger(spec.expert) || spec.expert < 0 || spec.expert >= experts) {
      issues.push({ path: `workload.replicas[${i}].expert`, message: `expert ${spec.expert} is not in [0, ${experts})` });
      return;
    }
    for (let c = 0; c < spec.copies; c++) {
      const r = fewestWithout(held, spec.expert);
      if (r === undefined) {
        issues.push({ path: `workload.replicas[${i}].copies`, message: `${spec.copies} copies of expert ${spec.expert} do not fit on ${ep} ranks (at most ${ep - 1})` });
        return;
      }
      held[r]!.push(spec.expert);
      replicas[spec.expert]!.push(r);
    }
  });
  issues.push(...evenness(shape, held));
  if (issues.length > 0) return issues;
  for (const h of held) h.sort((a, b) => a - b);
  return {
    ep, experts,
    homeOf: (e) => home[e]!,
    replicasOf: (e) => replicas[e]!,
    expertsOn: (r) => held[r]!,
  };
}

/** Like tryPlaceExperts, but throws a ScenarioError naming the first bad field. */
export function placeExperts(shape: PlacementShape): Placement {
  const p = tryPlaceExperts(shape);
  if (Array.isArray(p)) throw new ScenarioError(p[0]!.path, p[0]!.message);
  return p;
}

/** The rank with the fewest experts that does not yet hold `expert`; ties to the lowest rank. */
function fewestWithout(held: readonly (readonly number[])[], expert: number): number | undefined {
  let best: number | undefined;
  held.forEach((h, r) => {
    if (h.includes(expert)) return;
    if (best === undefined || h.length < held[best]!.length) best = r;
  });
  return best;
}

function evenness(shape: PlacementShape, held: readonly (readonly number[])[]): MoeIssue[] {
  const { experts, ep } = shape;
  if (experts % ep === 0) return [];
  const counts = held.map((h) => h.length);
  const lo = Math.min(...counts), hi = Math.max(...counts);
  if (lo === hi) return [];
  const copies = (shape.replicas ?? []).reduce((s, r) => s + r.copies, 0);
  const why = copies === 0
    ? "and there are no replicas to even the ranks out"
    : `and ${copies} replica copies leave ranks holding ${lo}..${hi} experts (experts + copies must fill every rank equally)`;
  return [{ path: "workload.ep", message: `ep ${ep} does not divide experts ${experts} ${why}` }];
}

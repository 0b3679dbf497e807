import { readFileSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { parse } from "yaml";
import { ScenarioError } from "../errors/index.js";
import { validateMoe } from "../moe/validate.js";
import { rankNodeOf } from "../moe/layer.js";
import { DISPATCH_ELEMENTS } from "../moe/program.js";
import { TOKEN_ELEMENTS } from "../moe/reference.js";
import { MOE_LIMITS } from "../protocol/index.js";
import type { Gating, MoeShape } from "../moe/types.js";
import { groupByNode, type Topology } from "../topology/index.js";
import type { MoeWorkload } from "./moe-resolve.js";
import type { CollectiveWorkload } from "./resolve.js";

/** Checks a collective workload against the topology and fixes its rank count. */
export function checkCollective(w: CollectiveWorkload, at: string, topology: Topology): CollectiveWorkload {
  const npus = topology.endpoints.length;
  if (w.ranks !== "all" && w.ranks > npus) throw new ScenarioError(`${at}.ranks`, `${w.ranks} ranks but the topology has ${npus} NPUs`);
  const ranks = w.ranks === "all" ? npus : w.ranks;
  if (ranks < 2) throw new ScenarioError(`${at}.ranks`, "a collective needs at least 2 ranks");
  if (w.root >= ranks) throw new ScenarioError(`${at}.root`, `root ${w.root} is not one of the ${ranks} ranks`);
  return { ...w, ranks };
}


/**
 * Checks an MoE workload against the topology (EP ≤ endpoints), reads fixed assignments from their
 * file, and validates the whole layer (shared/moe validate) before any actor starts. Paths name the
 * scenario field, under `at` (`workload` or `workload[i]`).
 */
export function checkMoe(w: MoeWorkload, at: string, topology: Topology, scenarioFile: string | undefined): MoeWorkload {
  const npus = topology.endpoints.length;
  if (w.shape.ep !== "all" && w.shape.ep > npus) throw new ScenarioError(`${at}.ep`, `${w.shape.ep} EP ranks but the topology has ${npus} endpoints`);
  const ep = epOf(w, npus);
  if (w.replicas.kind === "hottest" && w.replicas.hottest > w.shape.experts) {
    throw new ScenarioError(`${at}.replicas.hottest`, `${w.replicas.hottest} hottest experts, but there are ${w.shape.experts}`);
  }
  if (w.algorithm === "hierarchical") checkHierarchical(w, at, topology, ep);
  checkWireLimits(w, at, ep);
  const gating = "file" in w.gating ? readAssignments(w.gating.file, `${at}.gating.file`, scenarioFile) : w.gating;
  const shape: MoeShape = { ...w.shape, ep, replicas: provisionalReplicas(w) };
  const issue = validateMoe(shape, gating, rankNodeOf({ nodeGroups: groupByNode(topology.endpoints.slice(0, ep), topology) }))[0];
  if (issue) {
    // `hottest: N` became N provisional list entries: name the field the user wrote.
    const path = w.replicas.kind === "hottest" ? issue.path.replace(/^workload\.replicas\[\d+\]\./, "workload.replicas.") : issue.path;
    throw new ScenarioError(path.replace(/^workload/, at), issue.message);
  }
  return { ...w, shape: { ...w.shape, ep }, gating };
}

/** A NATS message carries at most 1 MiB by default (max_payload): what one op-start or chunk may take. */
export const MESSAGE_BUDGET_BYTES = 900_000;

/**
 * The bounds every rank enforces on an op-start (MOE_LIMITS, shared/protocol/guard.ts), checked here
 * so a scenario that loads also runs on every engine: token copies, sizes, replica copies, chunks per
 * peer, and the size of a rank's op-start and of one chunk against the NATS message size.
 */
function checkWireLimits(w: MoeWorkload, at: string, ep: number): void {
  const { tokensPerRank: T, topK: K, hidden, expertIntermediate, experts } = w.shape;
  const fail = (field: string, message: string): never => { throw new ScenarioError(`${at}.${field}`, message); };
  if (ep * T * K > MOE_LIMITS.copies) fail("tokensPerRank", `ep × tokensPerRank × topK = ${ep * T * K} token copies, more than ${MOE_LIMITS.copies}`);
  if (hidden > MOE_LIMITS.dim) fail("hidden", `at most ${MOE_LIMITS.dim}`);
  if (expertIntermediate > MOE_LIMITS.dim) fail("expertIntermediate", `at most ${MOE_LIMITS.dim}`);
  const copies = w.replicas.kind === "list" ? w.replicas.list.reduce((s, r) => s + r.copies, 0) : w.replicas.hottest * w.replicas.copies;
  if (copies > MOE_LIMITS.replicaCopies) fail("replicas", `${copies} replica copies, more than ${MOE_LIMITS.replicaCopies}`);
  // A rank's part: 4 numbers per copy sent, 2 per choice, a few per rank and expert, ≤ 3 bytes each (5 for weights).
  const partBytes = 3 * (4 * T * K + T * K + 3 * ep + experts) + 5 * T * K;
  if (partBytes > MESSAGE_BUDGET_BYTES) fail("tokensPerRank", `each rank's op-start would carry ~${Math.round(partBytes / 1000)} kB of routing, over the ${MESSAGE_BUDGET_BYTES / 1000} kB a NATS message may take; use fewer tokens per rank`);
  const chunk = w.chunkTokens;
  if (Math.ceil((T * K) / chunk) > MOE_LIMITS.chunksPerPeer) fail("chunkTokens", `${T * K} copies to one peer in chunks of ${chunk} is more than ${MOE_LIMITS.chunksPerPeer} chunks`);
  const recordBytes = 8 * (w.algorithm === "hierarchical" ? 3 + 4 * K + TOKEN_ELEMENTS : DISPATCH_ELEMENTS);
  if (chunk * recordBytes > MESSAGE_BUDGET_BYTES) fail("chunkTokens", `${chunk} copies of ${recordBytes} B per message is over the ${MESSAGE_BUDGET_BYTES / 1000} kB a NATS message may take`);
}

/** Hierarchical dispatch pairs ranks by local index across nodes: the EP ranks must fill nodes equally. */
function checkHierarchical(w: MoeWorkload, at: string, topology: Topology, ep: number): void {
  const sizes = groupByNode(topology.endpoints.slice(0, ep), topology).map((g) => g.length);
  if (sizes.some((c) => c !== sizes[0])) {
    throw new ScenarioError(`${at}.algorithm`, `hierarchical dispatch needs the EP ranks to fill nodes equally; ranks per node: ${sizes.join(",")}`);
  }
  const maxK = MOE_LIMITS.hierarchicalTopK;
  if (w.shape.topK > maxK) throw new ScenarioError(`${at}.topK`, `hierarchical dispatch takes topK ≤ ${maxK}`);
}

/** `ep` omitted: the most ranks, up to every endpoint, that divide the experts evenly (CM384: 256 of 384). */
/** An MoE layer's EP degree on `endpoints` NPUs: as declared, or for `ep: all` the default. */
export const epOf = (w: Pick<MoeWorkload, "shape">, endpoints: number): number => (w.shape.ep === "all" ? defaultEp(w.shape.experts, endpoints) : w.shape.ep);

export function defaultEp(experts: number, endpoints: number): number {
  for (let d = Math.min(experts, endpoints); d > 1; d--) if (experts % d === 0) return d;
  return 1;
}

/** Replicas as placement will see them; `hottest` ones get real ids only at planning (they depend on the seed). */
function provisionalReplicas(w: MoeWorkload): MoeShape["replicas"] {
  if (w.replicas.kind === "list") return w.replicas.list;
  const { hottest, copies } = w.replicas;
  return Array.from({ length: hottest }, (_, expert) => ({ expert, copies }));
}

function readAssignments(file: string, at: string, scenarioFile: string | undefined): Gating {
  const path = scenarioFile ? resolvePath(dirname(scenarioFile), file) : file;
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ScenarioError(at, `cannot read assignments from ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const rows = Array.isArray(raw) ? raw : (raw as { assignments?: unknown } | null)?.assignments;
  if (!Array.isArray(rows) || !rows.every((r) => Array.isArray(r) && r.every((e) => Number.isInteger(e)))) {
    throw new ScenarioError(at, `${path} must hold a list of rows of expert ids (or assignments: [...])`);
  }
  return { kind: "fixed", assignments: rows as number[][] };
}

import { ProtocolError } from "../errors/index.js";
import { Algorithm, Collective, MESSAGE_TYPES, PROTOCOL_VERSION, TAG_LIMIT, type Message } from "./messages.js";
import { REJECT_REASONS } from "./rejections.js";
import { array, float64s, int, isArrayOf, isFloat64s, isIntIn, isMap, isTimeFrom, map, oneOf, real, reject, text, time, type Fields } from "./guard-fields.js";
import { checkTrainingSpec, checkTrainingPart } from "./guard-training.js";
import { checkFault } from "./guard-fault.js";
import { HALT_MODES } from "./fault.js";

// Bounds on what a peer may ask of an actor: generous for a real run, and low enough that a message
// within them cannot make an actor allocate or loop without bound.
const MAX_SIZE_BYTES = 2 ** 50;
const MAX_GROUP_RANKS = 1_000_000;
const MAX_REAL_ELEMENTS = 1_048_576;
const MAX_SEED = 2 ** 53;
const MAX_STRIPES = 4096;
const MAX_PATH_LINKS = 64;
const MAX_PAYLOAD_ELEMENTS = 1_048_576;
const MAX_REASON_CHARS = 1000;
const MAX_LABEL_CHARS = 256;
const MAX_WAITS = 1_000_000;
const MAX_UINT32 = 0xffff_ffff;
const ELEMENT_BYTES: readonly number[] = [1, 2, 4, 8];
/** moe-layer bounds; the scenario checks the same ones when it loads (shared/config/check.ts). */
export const MOE_LIMITS = {
  /** Token copies of a layer: ep × tokensPerRank × topK (EP 384 × 1024 tokens × top-8 is 3.1 M). */
  copies: 4_194_304,
  experts: 65_536,
  /** Replica copies over all experts. */
  replicaCopies: 65_536,
  dim: 1_048_576,
  /** Hierarchical dispatch carries a token's k's as a bitmask in a float64. */
  hierarchicalTopK: 52,
  /** Chunks one rank sends one peer in one phase (tags are phase × 65536 + chunk). */
  chunksPerPeer: 65_535,
} as const;
const MAX_MOE_COPIES = MOE_LIMITS.copies;
const MAX_MOE_EXPERTS = MOE_LIMITS.experts;
const MAX_MOE_DIM = MOE_LIMITS.dim;
const MAX_MARKS = 64;
const MAX_TALLY = 2 * MAX_MOE_EXPERTS + 16;

/**
 * The algorithms each collective has. It mirrors `ALGORITHMS` of shared/workload, which the guard
 * cannot import (workloads import the protocol); protocol-guard.test.ts keeps the two equal. An
 * endpoint builds the program of an op-start outside its fault boundary, so a pair without a program
 * must stop here.
 */
const ALGORITHMS_OF: Readonly<Record<Collective, readonly Algorithm[]>> = {
  [Collective.AllReduce]: [Algorithm.Ring, Algorithm.Hierarchical, Algorithm.HierarchicalHd, Algorithm.Direct, Algorithm.HalvingDoubling],
  [Collective.ReduceScatter]: [Algorithm.Ring],
  [Collective.AllGather]: [Algorithm.Ring],
  [Collective.AllToAll]: [Algorithm.Direct],
  [Collective.AllToAllV]: [Algorithm.Direct],
  [Collective.Broadcast]: [Algorithm.Pipeline, Algorithm.Direct],
  [Collective.MoeLayer]: [Algorithm.Direct, Algorithm.Hierarchical],
  [Collective.TrainingStep]: [Algorithm.Direct],
};

function checkHeader(m: Fields): void {
  int(m.from, "header.from", -1);
  int(m.epoch, "header.epoch");
  int(m.inc, "header.inc");
}

const DATA_INTS = ["op", "src", "dst", "totalBytes"] as const;
const MAX_INT = Number.MAX_SAFE_INTEGER;

/**
 * Every data message of a run passes here (binary ones too: the layout fixes the types, not the
 * bounds), so each field is tested first (guard-fields' `is…`) and its name is built only to reject
 * it — a field name per field per message was a quarter of what a switch host allocated.
 */
function checkData(m: Fields): void {
  for (let i = 0; i < DATA_INTS.length; i++) { const k = DATA_INTS[i]!; if (!isIntIn(m[k], 0, MAX_INT)) int(m[k], `data.${k}`); }
  int(m.tag, "data.tag", 0, TAG_LIMIT - 1);
  const stripes = int(m.stripes, "data.stripes", 1, MAX_STRIPES);
  time(m.sentNs, "data.sentNs");
  const parts = array(m.parts, "data.parts", 1, stripes);
  for (let i = 0; i < parts.length; i++) { const p = parts[i]; checkPart(isMap(p) ? p : map(p, `data.parts[${i}]`), i, stripes); }
}

/** The name of a part's field, built only to reject it. */
function partField(i: number, k: string): string { return `data.parts[${i}].${k}`; }

function checkPart(p: Fields, i: number, stripes: number): void {
  if (!isIntIn(p.stripe, 0, stripes - 1)) int(p.stripe, partField(i, "stripe"), 0, stripes - 1);
  if (!isIntIn(p.bytes, 0, MAX_INT)) int(p.bytes, partField(i, "bytes"));
  const head = isTimeFrom(p.headNs, 0) ? p.headNs : time(p.headNs, partField(i, "headNs"));
  if (!isTimeFrom(p.tailNs, head)) time(p.tailNs, partField(i, "tailNs"), head);
  const path = isArrayOf(p.path, 1, MAX_PATH_LINKS) ? p.path : array(p.path, partField(i, "path"), 1, MAX_PATH_LINKS);
  for (let j = 0; j < path.length; j++) if (!isIntIn(path[j], 0, MAX_INT)) int(path[j], `${partField(i, "path")}[${j}]`);
  if (!isIntIn(p.hop, 0, path.length - 1)) int(p.hop, partField(i, "hop"), 0, path.length - 1);
  if (!isFloat64s(p.payload, MAX_PAYLOAD_ELEMENTS)) float64s(p.payload, partField(i, "payload"), MAX_PAYLOAD_ELEMENTS);
  if (!isIntIn(p.crc, 0, MAX_UINT32)) int(p.crc, partField(i, "crc"), 0, MAX_UINT32);
}

/** The communicator: distinct endpoint ids. Returns its size. */
function checkGroup(x: unknown): number {
  const group = array(x, "op-start.spec.group", 1, MAX_GROUP_RANKS);
  const seen = new Set<number>();
  group.forEach((id, r) => {
    const field = `op-start.spec.group[${r}]`;
    if (seen.has(int(id, field))) reject(field, "an id not already in the group", id);
    seen.add(id as number);
  });
  return group.length;
}

/** Ranks of the group per node: at most one node per rank, every entry a rank of the group. */
function checkNodeGroups(x: unknown, ranks: number): void {
  array(x, "op-start.spec.nodeGroups", 0, ranks).forEach((g, i) => {
    const field = `op-start.spec.nodeGroups[${i}]`;
    array(g, field, 0, ranks).forEach((r, j) => int(r, `${field}[${j}]`, 0, ranks - 1));
  });
}

function checkSpec(x: unknown): void {
  const s = map(x, "op-start.spec");
  const f = (k: string) => `op-start.spec.${k}`;
  int(s.op, f("op"));
  const collective = oneOf(s.collective, Object.values(Collective), f("collective"));
  oneOf(s.algorithm, ALGORITHMS_OF[collective], f("algorithm"));
  int(s.sizeBytes, f("sizeBytes"), 0, MAX_SIZE_BYTES);
  oneOf(s.elementBytes, ELEMENT_BYTES, f("elementBytes"));
  const ranks = checkGroup(s.group);
  checkNodeGroups(s.nodeGroups, ranks);
  int(s.realElements, f("realElements"), 1, MAX_REAL_ELEMENTS);
  int(s.seed, f("seed"), 0, MAX_SEED);
  int(s.root, f("root"), 0, ranks - 1);
  int(s.chunkBytes, f("chunkBytes"), 1);
  if (collective === Collective.MoeLayer) checkMoe(s.moe, ranks, s.algorithm);
  else if (s.moe !== undefined) reject(f("moe"), `nothing for a ${collective}`, s.moe);
  if (collective === Collective.TrainingStep) checkTrainingSpec(s.training, ranks);
  else if (s.training !== undefined) reject(f("training"), `nothing for a ${collective}`, s.training);
}

/**
 * The MoE layer of a moe-layer op, with bounds so that what a rank does with it cannot run away.
 * Ranks do not plan the layer (the coordinator does, from a checked scenario); they run their part.
 */
function checkMoe(x: unknown, ranks: number, algorithm: unknown): void {
  const m = map(x, "op-start.spec.moe");
  const s = map(m.shape, "op-start.spec.moe.shape");
  const f = (k: string) => `op-start.spec.moe.shape.${k}`;
  const ep = int(s.ep, f("ep"), 1, ranks);
  const experts = int(s.experts, f("experts"), 1, MAX_MOE_EXPERTS);
  const topK = int(s.topK, f("topK"), 1, algorithm === Algorithm.Hierarchical ? Math.min(experts, MOE_LIMITS.hierarchicalTopK) : experts);
  const tokens = int(s.tokensPerRank, f("tokensPerRank"), 1, MAX_MOE_COPIES);
  if (ep * tokens * topK > MAX_MOE_COPIES) reject(f("tokensPerRank"), `ep × tokensPerRank × topK ≤ ${MAX_MOE_COPIES}`, ep * tokens * topK);
  for (const k of ["hidden", "expertIntermediate"]) int(s[k], f(k), 1, MAX_MOE_DIM);
  for (const k of ["dispatchBytesPerToken", "combineBytesPerToken"]) int(s[k], f(k), 1, MAX_SIZE_BYTES);
  int(s.sharedExperts, f("sharedExperts"), 0, MAX_MOE_EXPERTS);
  real(s.capacityFactor, f("capacityFactor"), 0, Number.MAX_VALUE);
  if (s.weightBytes !== undefined) int(s.weightBytes, f("weightBytes"), 1, 8);
  if (s.nodeLimit !== undefined) int(s.nodeLimit, f("nodeLimit"), 1, MAX_GROUP_RANKS);
  oneOf(s.replicaPolicy, ["round-robin", "least-loaded", "same-node-first"], f("replicaPolicy"));
  if (s.replicas !== undefined) {
    let total = 0;
    array(s.replicas, f("replicas"), 0, MAX_MOE_EXPERTS).forEach((r, i) => {
      const e = map(r, `${f("replicas")}[${i}]`);
      int(e.expert, `${f("replicas")}[${i}].expert`, 0, experts - 1);
      total += int(e.copies, `${f("replicas")}[${i}].copies`, 1, ep);
    });
    if (total > MOE_LIMITS.replicaCopies) reject(f("replicas"), `at most ${MOE_LIMITS.replicaCopies} copies in all`, total);
  }
  if (m.gating !== undefined) checkGating(map(m.gating, "op-start.spec.moe.gating"), ep * tokens, topK, experts);
  if (m.chunkTokens !== undefined) int(m.chunkTokens, "op-start.spec.moe.chunkTokens", 1, MAX_MOE_COPIES);
}

function checkGating(g: Fields, tokens: number, topK: number, experts: number): void {
  const f = (k: string) => `op-start.spec.moe.gating.${k}`;
  switch (oneOf(g.kind, ["uniform", "zipf", "hot", "fixed", "gate"], f("kind"))) {
    case "zipf": real(g.exponent, f("exponent"), 0, 1e6); break;
    case "hot": real(g.hotFraction, f("hotFraction"), 0, 1); real(g.hotShare, f("hotShare"), 0, 1); break;
    case "fixed":
      array(g.assignments, f("assignments"), tokens, tokens).forEach((row, i) => {
        array(row, `${f("assignments")}[${i}]`, topK, topK).forEach((e, k) => int(e, `${f("assignments")}[${i}][${k}]`, 0, experts - 1));
      });
      break;
    default: break;
  }
}

/** A rank's part of an MoE layer: flat integer arrays, bounded, shaped by the spec's layer. */
function checkMoePart(x: unknown, spec: Fields): void {
  const p = map(x, "op-start.part");
  const shape = (spec.moe as Fields).shape as Fields;
  const ep = shape.ep as number, experts = shape.experts as number, T = shape.tokensPerRank as number, K = shape.topK as number;
  const ints = (v: unknown, field: string, length: number | [number, number], max: number) => {
    const [lo, hi] = typeof length === "number" ? [length, length] : length;
    const a = array(v, field, lo, hi);
    for (let i = 0; i < a.length; i++) if (!Number.isInteger(a[i]) || (a[i] as number) < 0 || (a[i] as number) > max) int(a[i], `${field}[${i}]`, 0, max);
    return a;
  };
  const sends = ints(p.sends, "op-start.part.sends", [0, 4 * T * K], Math.max(ep, experts, T, K));
  if (sends.length % 4 !== 0) reject("op-start.part.sends", "(dst, token, k, expert) quadruples", sends);
  ints(p.recvCounts, "op-start.part.recvCounts", ep, T * ep * K);
  ints(p.experts, "op-start.part.experts", T * K, experts - 1);
  const D = int(p.weightDenominator, "op-start.part.weightDenominator", 1, 2 ** 20);
  ints(p.weightUnits, "op-start.part.weightUnits", T * K, D);
  ints(p.held, "op-start.part.held", [0, experts], experts - 1);
  for (const k of ["cross", "scatter"]) if (p[k] !== undefined) ints(p[k], `op-start.part.${k}`, ep, T * ep * K);
  if (spec.algorithm === Algorithm.Hierarchical && (p.cross === undefined || p.scatter === undefined)) {
    reject("op-start.part", "cross and scatter counts for hierarchical dispatch", p);
  }
}

function checkOpStart(m: Fields): void {
  checkSpec(m.spec);
  const spec = m.spec as Fields;
  if (spec.collective === Collective.MoeLayer) checkMoePart(m.part, spec);
  else if (spec.collective === Collective.TrainingStep) checkTrainingPart(m.part);
  else if (m.part !== undefined) reject("op-start.part", `nothing for a ${String(spec.collective)}`, m.part);
  time(m.startNs, "op-start.startNs");
}

function checkOpAbort(m: Fields): void {
  int(m.op, "op-abort.op");
  text(m.reason, "op-abort.reason", MAX_REASON_CHARS);
}

/** A WireError: what the failing rank reported, in plain fields. */
function checkWireError(x: unknown): void {
  const e = map(x, "op-done.error");
  for (const k of ["name", "message"]) if (typeof e[k] !== "string") reject(`op-done.error.${k}`, "a string", e[k]);
  if (typeof e.retryable !== "boolean") reject("op-done.error.retryable", "a boolean", e.retryable);
  if (e.path !== undefined && typeof e.path !== "string") reject("op-done.error.path", "a string", e.path);
}

function checkOpDone(m: Fields): void {
  for (const k of ["op", "rank", "sentMessages"]) int(m[k], `op-done.${k}`);
  time(m.startNs, "op-done.startNs", -Infinity);
  time(m.endNs, "op-done.endNs");
  float64s(m.result, "op-done.result");
  if (m.error !== undefined) checkWireError(m.error);
  if (m.marks !== undefined) array(m.marks, "op-done.marks", 0, MAX_MARKS).forEach((t, i) => time(t, `op-done.marks[${i}]`));
  if (m.tally !== undefined) array(m.tally, "op-done.tally", 0, MAX_TALLY).forEach((c, i) => int(c, `op-done.tally[${i}]`));
}

function checkHeartbeat(m: Fields): void {
  for (const k of ["pid", "handled", "rejected"]) int(m[k], `heartbeat.${k}`);
  text(m.host, "heartbeat.host", MAX_LABEL_CHARS);
  text(m.phase, "heartbeat.phase", MAX_LABEL_CHARS);
  text(m.topology, "heartbeat.topology", MAX_LABEL_CHARS);
}

function checkStatus(m: Fields): void {
  for (const k of ["op", "partialTransfers", "dataHandled"]) int(m[k], `status.${k}`);
  const r = map(m.rejected, "status.rejected");
  for (const k of REJECT_REASONS) int(r[k], `status.rejected.${k}`);
  array(m.waits, "status.waits", 0, MAX_WAITS).forEach((x, i) => {
    const w = map(x, `status.waits[${i}]`);
    for (const k of ["op", "rank", "fromRank", "tag"]) int(w[k], `status.waits[${i}].${k}`);
    int(w.fromActor, `status.waits[${i}].fromActor`, -1);
  });
}

function checkHalted(m: Fields): void {
  for (const k of ["op", "fault"]) int(m[k], `halted.${k}`);
  oneOf(m.mode, HALT_MODES, "halted.mode");
  time(m.atNs, "halted.atNs");
}

/**
 * Turns a decoded value into a protocol message or throws a ProtocolError naming the first bad field.
 * Checks every field a handler relies on, with bounds, so a handler never meets a shape or a size it
 * does not expect.
 */
export function asMessage(x: unknown): Message {
  const m = map(x, "message");
  if (m.v !== PROTOCOL_VERSION) reject("v", `protocol version ${PROTOCOL_VERSION}`, m.v);
  const type = oneOf(m.type, MESSAGE_TYPES, "type");
  checkHeader(m);
  switch (type) {
    case "data": checkData(m); break;
    case "op-start": checkOpStart(m); break;
    case "op-abort": checkOpAbort(m); break;
    case "op-open": int(m.op, "op-open.op"); break;
    case "op-close": int(m.op, "op-close.op"); break;
    case "op-done": checkOpDone(m); break;
    case "heartbeat": checkHeartbeat(m); break;
    case "status-req": int(m.op, "status-req.op"); break;
    case "status": checkStatus(m); break;
    case "fault": checkFault(m); break;
    case "halted": checkHalted(m); break;
    case "window":
      for (const k of ["op", "window"]) int(m[k], `window.${k}`);
      time(m.untilNs, "window.untilNs");
      break;
    case "window-report":
      for (const k of ["op", "window", "sent", "received"]) int(m[k], `window-report.${k}`);
      if (m.nextNs !== undefined) time(m.nextNs, "window-report.nextNs");
      break;
    default: {
      const never: never = type;
      reject("type", "a message type", never);
    }
  }
  return m as unknown as Message;
}

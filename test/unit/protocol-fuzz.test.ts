import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { npuLogic, type NpuState } from "../../services/npu/index.js";
import { switchLogic, type SwitchState } from "../../services/switch/index.js";
import { crc32, decode, encode } from "../../shared/codec/index.js";
import { ALGORITHMS } from "../../shared/workload/index.js";
import { loadScenario } from "../../shared/config/index.js";
import { moePartFields, moeSpecFields } from "../helpers/moe-spec.js";
import { trainingFields } from "../helpers/training.js";
import { initialParams, placeRank, shardBlocks, toShard } from "../../shared/workload/index.js";
import { Algorithm, Collective, emptyRejectCounts, PROTOCOL_VERSION, TAG_LIMIT, type Message, type MessageType } from "../../shared/protocol/index.js";
import { DEFAULT_LIMITS, type ActorContext, type Logger } from "../../shared/runtime/index.js";

/**
 * Bad input on the wire never crashes an actor: bytes go decode → asMessage, which may throw (the
 * transport counts and drops those), and whatever passes is handled by the NPU and the switch logic
 * without throwing. Three kinds of input, each on fresh actor state, inside a short sequence of valid
 * messages so that data reaches a running op (reassembly, program resumption) and not only the
 * early-arrival queue:
 *  (a) one message's bytes corrupted, or replaced by random bytes;
 *  (b) one field of one message set to a random value of a random type, or removed;
 *  (c) every message structurally valid, its numbers drawn around and just outside the guard's bounds.
 */

const SEED = 42;
const RUNS = { bytes: 4000, mutated: 4000, ranged: 2500 }; // ≥ 10,000 inputs in all; (c) feeds several per run
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

const { topology: t } = loadScenario({
  raw: {
    topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 2, switches: "physical" },
    workload: { kind: "collective", collective: "all-reduce", sizes: ["1MiB"] },
  },
});
const ENDPOINTS = [...t.endpoints];
const NPU = t.endpoints[0]!;
const SWITCH = t.switches[0]!;

const logCalls = { n: 0 };
const log: Logger = { debug: () => logCalls.n++, info: () => logCalls.n++, warn: () => logCalls.n++, error: () => logCalls.n++ };
const rejected = emptyRejectCounts();
const ctxOf = (self: number): ActorContext => ({
  self, topology: t, log, limits: DEFAULT_LIMITS, rejected, reject: (reason) => { rejected[reason]++; logCalls.n++; },
});
const npuCtx = ctxOf(NPU);
const switchCtx = ctxOf(SWITCH);

// ---- The harness: decode, then both actors. ----

interface Tally { inputs: number; rejected: number; accepted: number; npu: number; switch: number; outbound: number; errors: Record<string, number> }
const tally = (): Tally => ({ inputs: 0, rejected: 0, accepted: 0, npu: 0, switch: 0, outbound: 0, errors: {} });

/**
 * A fresh NPU and switch, fed byte strings as their transport would. An op-start also opens its op at
 * the switch (as the coordinator's op-open does), so data reaches the switch's forwarding path. Early
 * buffers are bounded by the actors' limits (early-buffer.ts), so no input can make them grow forever.
 */
class Rig {
  private readonly npu: NpuState = npuLogic.init(NPU, t);
  private readonly sw: SwitchState = switchLogic.init(SWITCH, t);

  feed(bytes: Uint8Array, into: Tally): void {
    into.inputs++;
    let msg: Message;
    try {
      msg = decode(bytes);
    } catch (err) {
      expect(err).toBeInstanceOf(Error); // ProtocolError, RangeError (size) or msgpackr's decode errors
      into.rejected++;
      const name = (err as Error).name;
      into.errors[name] = (into.errors[name] ?? 0) + 1;
      return;
    }
    into.accepted++;
    if (msg.type === "op-start") switchLogic.receive(this.sw, { ...msg, type: "op-open", op: msg.spec.op }, switchCtx);
    into.outbound += npuLogic.receive(this.npu, msg, npuCtx).outbound.length;
    into.npu++;
    into.outbound += switchLogic.receive(this.sw, msg, switchCtx).outbound.length;
    into.switch++;
  }
}

const pack = (m: object): Uint8Array => encode(m as Message);

// ---- Message generators: `edge` draws numbers around the guard's bounds, else only valid values. ----

type Fields = Record<string, unknown>;

/** Odds against drawing a field at or past a bound; with ~15 numbers a message, a third of (c)'s messages still pass. */
const EDGE_ODDS = 30;

/** A number from `typical`, or (edge) now and then a bound of [min, max] or one just outside it. */
function num(edge: boolean, min: number, max: number, typical: fc.Arbitrary<number>): fc.Arbitrary<number> {
  if (!edge) return typical;
  return fc.oneof({ arbitrary: typical, weight: EDGE_ODDS }, { arbitrary: fc.constantFrom(min - 1, min, max, max + 1), weight: 1 });
}
/** A virtual time; (edge) now and then one that is negative, not finite or not whole. */
function time(edge: boolean): fc.Arbitrary<number> {
  const typical = fc.integer({ min: 0, max: 1_000_000 });
  if (!edge) return typical;
  return fc.oneof({ arbitrary: typical, weight: EDGE_ODDS }, { arbitrary: fc.constantFrom(-1, 0, 0.5, MAX_SAFE, NaN, Infinity), weight: 1 });
}
const opId = (edge: boolean) => num(edge, 0, MAX_SAFE, fc.constantFrom(1, 2));

function header(edge: boolean, type: MessageType): fc.Arbitrary<Fields> {
  return fc.record({
    v: edge ? fc.oneof({ arbitrary: fc.constant(PROTOCOL_VERSION), weight: 30 }, { arbitrary: fc.constant(2), weight: 1 }) : fc.constant(PROTOCOL_VERSION),
    type: fc.constant(type),
    from: num(edge, -1, MAX_SAFE, fc.constantFrom(-1, ...ENDPOINTS)),
    epoch: num(edge, 0, MAX_SAFE, fc.constantFrom(0, 1)),
    inc: num(edge, 0, MAX_SAFE, fc.constantFrom(0, 1)),
  });
}

/** Ranks of `group` per node, as the coordinator plans them. */
function nodeGroupsOf(group: readonly number[]): number[][] {
  const byNode = new Map<number, number[]>();
  group.forEach((id, r) => {
    const node = t.devices[id]?.node ?? -1;
    byNode.set(node, [...(byNode.get(node) ?? []), r]);
  });
  return [...byNode.values()];
}

/** Rank 0's shard of a small training spec over n DP ranks (the fuzzed NPU is rank 0 only sometimes; shapes stay valid). */
function trainingParams(n: number): Float64Array {
  const t = trainingFields(n).training;
  return toShard(initialParams(t), shardBlocks(t, placeRank(t, 0)));
}

const VALID_PAIRS = Object.entries(ALGORITHMS).flatMap(([c, algs]) => Object.keys(algs).map((a) => [c, a] as const));

function opStart(edge: boolean): fc.Arbitrary<Fields> {
  const communicator = fc.shuffledSubarray(ENDPOINTS, { minLength: 1 });
  const group = edge
    ? fc.oneof({ arbitrary: communicator, weight: 9 }, { arbitrary: fc.array(fc.integer({ min: -1, max: 200 }), { maxLength: 5 }), weight: 1 })
    : communicator;
  const pair = edge
    ? fc.oneof({ arbitrary: fc.constantFrom(...VALID_PAIRS), weight: 8 },
      { arbitrary: fc.tuple(fc.constantFrom(...Object.values(Collective), "all-sum"), fc.constantFrom(...Object.values(Algorithm))), weight: 1 })
    : fc.constantFrom(...VALID_PAIRS);
  const spec = group.chain((g) => fc.record({
    op: opId(edge),
    pair,
    sizeBytes: num(edge, 0, 2 ** 50, fc.integer({ min: 0, max: 1 << 24 })),
    elementBytes: edge ? fc.constantFrom(1, 2, 4, 8, 3, 0) : fc.constantFrom(1, 2, 4, 8),
    group: fc.constant(g),
    nodeGroups: edge
      ? fc.oneof({ arbitrary: fc.constant(nodeGroupsOf(g)), weight: 9 }, { arbitrary: fc.array(fc.array(fc.integer({ min: -1, max: g.length }), { maxLength: 3 }), { maxLength: 3 }), weight: 1 })
      : fc.constant(nodeGroupsOf(g)),
    realElements: num(edge, 1, 1_048_576, fc.integer({ min: 1, max: 256 })),
    seed: num(edge, 0, 2 ** 53, fc.nat()),
    root: num(edge, 0, Math.max(0, g.length - 1), fc.integer({ min: 0, max: Math.max(0, g.length - 1) })),
    chunkBytes: num(edge, 1, MAX_SAFE, fc.integer({ min: 1, max: 1 << 20 })),
  })).map(({ pair: [collective, algorithm], ...s }) => ({
    ...s, collective, algorithm, ...(collective === Collective.MoeLayer ? { moe: moeSpecFields(Math.max(1, s.group.length)) } : {}),
    ...(collective === Collective.TrainingStep ? { training: trainingFields(Math.max(1, s.group.length)).training } : {}),
  }));
  const partOf = (s: Fields) => {
    const n = Math.max(1, (s.group as unknown[]).length);
    if (s.collective === Collective.MoeLayer) return { part: moePartFields(n) };
    // A training rank's part: parameters of the length its shard has, so programs run on them.
    if (s.collective === Collective.TrainingStep) return { part: { params: trainingParams(n) } };
    return {};
  };
  return fc.tuple(header(edge, "op-start"), spec, time(edge)).map(([h, s, startNs]) => ({ ...h, spec: s, startNs, ...partOf(s as Fields) }));
}

/** A real stripe path from one endpoint to another (mostly to the NPU under test), and the hop it is at. */
function routed(edge: boolean): fc.Arbitrary<{ src: number; dst: number; path: readonly number[]; hop: number }> {
  const ends = fc.tuple(fc.constantFrom(...ENDPOINTS), fc.oneof(fc.constant(NPU), fc.constantFrom(...ENDPOINTS))).filter(([s, d]) => s !== d);
  const real = ends.chain(([src, dst]) => fc.constantFrom(...t.route(src, dst).stripes).chain((path) => fc.record({
    src: fc.constant(src), dst: fc.constant(dst), path: fc.constant(path),
    hop: num(edge, 0, path.length - 1, fc.oneof(fc.constant(path.length - 1), fc.integer({ min: 0, max: path.length - 1 }))),
  })));
  if (!edge) return real;
  const junk = fc.record({
    src: num(edge, 0, MAX_SAFE, fc.integer({ min: 0, max: 200 })), dst: num(edge, 0, MAX_SAFE, fc.integer({ min: 0, max: 200 })),
    path: fc.oneof(fc.array(fc.integer({ min: -1, max: t.links.length }), { maxLength: 4 }), fc.constant(new Array<number>(65).fill(0))),
    hop: fc.integer({ min: -1, max: 4 }),
  });
  return fc.oneof({ arbitrary: real, weight: 9 }, { arbitrary: junk, weight: 1 });
}

const HUGE_PAYLOAD = new Float64Array(1_048_577); // past the guard's bound, and past the codec's size limit

function data(edge: boolean): fc.Arbitrary<Fields> {
  const payload = edge
    ? fc.oneof({ arbitrary: fc.float64Array({ maxLength: 8 }), weight: 200 }, { arbitrary: fc.constant(HUGE_PAYLOAD), weight: 1 })
    : fc.float64Array({ maxLength: 8 });
  const stripes = num(edge, 1, 4096, fc.integer({ min: 1, max: 3 }));
  return fc.record({
    h: header(edge, "data"), r: routed(edge), op: opId(edge), tag: num(edge, 0, TAG_LIMIT - 1, fc.constantFrom(0, 1, 65_536)),
    stripes, stripePick: fc.nat(), stripeEdge: edge ? fc.option(fc.integer({ min: -1, max: 4097 }), { freq: 10 }) : fc.constant(null),
    bytes: num(edge, 0, MAX_SAFE, fc.integer({ min: 0, max: 1 << 20 })), totalBytes: num(edge, 0, MAX_SAFE, fc.integer({ min: 0, max: 1 << 20 })),
    sentNs: time(edge), headNs: time(edge), spreadNs: num(edge, 0, MAX_SAFE, fc.integer({ min: 0, max: 100_000 })),
    payload, badCrc: edge ? fc.option(num(edge, 0, 0xffff_ffff, fc.nat()), { freq: 5 }) : fc.constant(null),
  }).map((x) => ({
    // Mostly from the device before this hop (as a real sender is), so stripes get past the path check.
    ...x.h, from: t.links[x.r.path[x.r.hop] ?? -1]?.from ?? x.h.from, op: x.op, src: x.r.src, dst: x.r.dst, tag: x.tag, stripes: x.stripes, totalBytes: x.totalBytes, sentNs: x.sentNs,
    parts: [{
      stripe: x.stripeEdge ?? (x.stripes >= 1 ? x.stripePick % Math.min(x.stripes, 4096) : 0),
      bytes: x.bytes, headNs: x.headNs, tailNs: x.headNs + x.spreadNs,
      path: x.r.path, hop: x.r.hop, payload: x.payload, crc: x.badCrc ?? crc32(x.payload),
    }],
  }));
}

function opAbort(edge: boolean): fc.Arbitrary<Fields> {
  const reason = edge ? fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("x".repeat(1000), "x".repeat(1001))) : fc.string({ maxLength: 40 });
  return fc.tuple(header(edge, "op-abort"), opId(edge), reason).map(([h, op, r]) => ({ ...h, op, reason: r }));
}

function opDone(edge: boolean): fc.Arbitrary<Fields> {
  const wireError = fc.record({ name: fc.string({ maxLength: 10 }), message: fc.string({ maxLength: 20 }), retryable: fc.boolean() });
  const error = edge
    ? fc.option(fc.oneof(wireError, fc.constantFrom<unknown>("boom", null, { name: "E", message: "m" }, { name: 1, message: "m", retryable: true })), { nil: undefined })
    : fc.option(wireError, { nil: undefined });
  return fc.record({
    h: header(edge, "op-done"), op: opId(edge), rank: num(edge, 0, MAX_SAFE, fc.integer({ min: 0, max: 3 })),
    startNs: edge ? fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(NaN, Infinity)) : fc.double({ noNaN: true, noDefaultInfinity: true }),
    endNs: time(edge), result: fc.float64Array({ maxLength: 8 }), sentMessages: num(edge, 0, MAX_SAFE, fc.nat(10)), error,
  }).map(({ h, error: e, ...rest }) => ({ ...h, ...rest, ...(e === undefined ? {} : { error: e }) }));
}

/** The messages added for liveness reporting: they reach the actors too. */
function liveness(edge: boolean): fc.Arbitrary<Fields> {
  const count = num(edge, 0, MAX_SAFE, fc.nat(100));
  const wait = fc.record({ op: opId(edge), rank: count, fromRank: count, fromActor: num(edge, -1, MAX_SAFE, fc.constantFrom(-1, ...ENDPOINTS)), tag: count });
  return fc.oneof(
    fc.tuple(header(edge, "heartbeat"), count, fc.string({ maxLength: 20 }), fc.constantFrom("init", "running", "failed"), count, count)
      .map(([h, pid, host, phase, handled, rejected]) => ({ ...h, pid, host, phase, handled, rejected, topology: "abc123" })),
    fc.tuple(header(edge, "status-req"), opId(edge)).map(([h, op]) => ({ ...h, op })),
    fc.tuple(header(edge, "status"), opId(edge), fc.array(wait, { maxLength: 3 }), count, count, count)
      .map(([h, op, waits, partialTransfers, dataHandled, dup]) => ({ ...h, op, waits, partialTransfers, dataHandled, rejected: { ...emptyRejectCounts(), duplicate: dup } })),
    fc.tuple(header(edge, "op-open"), opId(edge)).map(([h, op]) => ({ ...h, op })),
    fc.tuple(header(edge, "op-close"), opId(edge)).map(([h, op]) => ({ ...h, op })),
  );
}

function anyMessage(edge: boolean): fc.Arbitrary<Fields> {
  return fc.oneof(
    { arbitrary: data(edge), weight: 6 }, { arbitrary: opStart(edge), weight: 1 }, { arbitrary: opAbort(edge), weight: 1 },
    { arbitrary: opDone(edge), weight: 1 }, { arbitrary: liveness(edge), weight: 1 },
  );
}

/** An op-start (so data can find a running op), then a few more messages. */
const sequence = (edge: boolean) => fc.tuple(opStart(edge), fc.array(anyMessage(edge), { minLength: 1, maxLength: 6 })).map(([s, rest]) => [s, ...rest]);

// ---- Corruptions for (a) and (b). ----

interface ByteEdit { readonly at: number; readonly byte: number; readonly how: "set" | "insert" | "delete" | "truncate" }
const byteEdit: fc.Arbitrary<ByteEdit> = fc.record({
  at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), how: fc.constantFrom("set", "insert", "delete", "truncate"),
});

function corruptBytes(bytes: Uint8Array, edits: readonly ByteEdit[]): Uint8Array {
  let b = [...bytes];
  for (const e of edits) {
    const at = e.at % (b.length + 1);
    if (e.how === "set" && at < b.length) b[at] = e.byte;
    else if (e.how === "insert") b.splice(at, 0, e.byte);
    else if (e.how === "delete") b.splice(at, 1);
    else if (e.how === "truncate") b = b.slice(0, at);
  }
  return Uint8Array.from(b);
}

/** A value of any type: what a confused or hostile peer might put in a field. */
const wild: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ withTypedArray: true, withDate: true, withMap: true, withSet: true, maxDepth: 2 }),
  fc.constantFrom<unknown>(-1, -2, 0, 1, 0.5, NaN, Infinity, -Infinity, -0, 2 ** 32, 2 ** 50 + 1, 2 ** 53, Number.MAX_VALUE, "", "ring", null, undefined, true),
  fc.integer(), fc.double(), fc.string(), fc.float64Array({ maxLength: 4 }),
  fc.array(fc.integer({ min: -1, max: t.links.length }), { maxLength: 4 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
);

/** Every path into a message's maps and arrays (not into typed arrays). */
function fieldPaths(x: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(x)) return x.flatMap((v, i) => [[...prefix, i], ...fieldPaths(v, [...prefix, i])]);
  if (typeof x !== "object" || x === null || ArrayBuffer.isView(x)) return [];
  return Object.entries(x).flatMap(([k, v]) => [[...prefix, k], ...fieldPaths(v, [...prefix, k])]);
}

function clone(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(clone);
  if (x instanceof Float64Array) return x.slice();
  if (typeof x === "object" && x !== null) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, clone(v)]));
  return x;
}

function mutate(m: Fields, pick: number, value: unknown, remove: boolean): Fields {
  const out = clone(m) as Fields;
  const paths = fieldPaths(out);
  const path = paths[pick % paths.length]!;
  const parent = path.slice(0, -1).reduce<Record<string | number, unknown>>((o, k) => o[k] as Record<string | number, unknown>, out);
  const key = path[path.length - 1]!;
  if (remove && !Array.isArray(parent)) delete parent[key];
  else parent[key] = value;
  return out;
}

// ---- The properties. ----

/** Feeds a valid sequence with message `at` replaced by `bad`; only `bad` counts in `kind`. */
function feedWithOne(seq: readonly Fields[], at: number, bad: Uint8Array, kind: Tally, context: Tally): void {
  const rig = new Rig();
  const i = at % seq.length;
  seq.forEach((m, j) => (j === i ? rig.feed(bad, kind) : rig.feed(pack(m), context)));
}

/** Runs a property with the fixed seed; prints the tally even when it fails (then it includes shrinking). */
function check<T>(name: string, k: Tally, arb: fc.Arbitrary<T>, numRuns: number, run: (x: T) => void): void {
  try {
    fc.assert(fc.property(arb, run), { seed: SEED, numRuns });
  } finally {
    console.info(`protocol fuzz ${name}: ${JSON.stringify(k)}`);
  }
  expect(k.inputs).toBeGreaterThanOrEqual(numRuns);
  expect(k.rejected, `${name}: some inputs rejected`).toBeGreaterThan(0);
  expect(k.accepted, `${name}: some inputs accepted`).toBeGreaterThan(0);
  expect(k.npu).toBe(k.accepted);
  expect(k.switch).toBe(k.accepted);
}

describe("bad input on the wire never crashes an actor", () => {
  it("(a) corrupted or random bytes", () => {
    const k = tally(), context = tally();
    const corrupt = fc.oneof(
      { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => () => b), weight: 1 },
      { arbitrary: fc.array(byteEdit, { minLength: 1, maxLength: 3 }).map((e) => (valid: Uint8Array) => corruptBytes(valid, e)), weight: 3 },
    );
    check("(a) bytes", k, fc.tuple(sequence(false), fc.nat(), corrupt), RUNS.bytes, ([seq, at, c]) => {
      feedWithOne(seq, at, c(pack(seq[at % seq.length]!)), k, context);
    });
    expect(context.rejected, "the valid messages around the corrupted one are all accepted").toBe(0);
  });

  it("(b) one field set to a value of any type, or removed", () => {
    const k = tally(), context = tally();
    const change = fc.record({ pick: fc.nat(), value: wild, remove: fc.constantFrom(false, false, false, true) });
    check("(b) mutated", k, fc.tuple(sequence(false), fc.nat(), change), RUNS.mutated, ([seq, at, c]) => {
      feedWithOne(seq, at, pack(mutate(seq[at % seq.length]!, c.pick, c.value, c.remove)), k, context);
    });
    expect(context.rejected).toBe(0);
  });

  it("(c) well-formed messages with numbers around the bounds", () => {
    const k = tally();
    check("(c) ranged", k, sequence(true), RUNS.ranged, (seq) => {
      const rig = new Rig();
      for (const m of seq) rig.feed(pack(m), k);
    });
    expect(k.outbound, "some accepted messages made the actors send").toBeGreaterThan(0);
    expect(logCalls.n, "the actors logged what they refused").toBeGreaterThan(0);
  });
});

/**
 * Sequences of messages that each pass asMessage, minimised from what the properties above found.
 * No per-message guard can refuse them: each message is valid on its own (and sent by healthy runs).
 */
describe("accepted sequences found by the fuzzer", () => {
  const PEER = t.endpoints[1]!;
  const path = t.route(PEER, NPU).stripes[0]!;
  const stripe = (op: number, stripe: number, stripes: number): Fields => ({
    v: PROTOCOL_VERSION, type: "data", from: PEER, epoch: 0, inc: 0, op, src: PEER, dst: NPU, tag: 0, stripes, totalBytes: 8 * stripes, sentNs: 0,
    parts: [{ stripe, bytes: 8, headNs: 0, tailNs: 10, path, hop: path.length - 1, payload: new Float64Array([1]), crc: crc32(new Float64Array([1])) }],
  });
  const start = (op: number, spec: Fields): Fields => ({
    v: PROTOCOL_VERSION, type: "op-start", from: -1, epoch: 0, inc: 0, startNs: 0,
    spec: { op, sizeBytes: 1024, elementBytes: 2, group: [NPU, PEER], nodeGroups: [[0, 1]], realElements: 4, seed: 1, root: 0, chunkBytes: 512, ...spec },
  });
  const feedAll = (msgs: readonly Fields[]) => {
    const rig = new Rig(), k = tally();
    for (const m of msgs) rig.feed(pack(m), k);
    expect(k.accepted).toBe(msgs.length);
  };

  // Broadcast root: its program only sends, so the op is done inside start(); start() then replays
  // s.early.get(op) while onData pushes each stripe (no run any more) back onto that same list.
  it("an early stripe, then an op-start that finishes at once (broadcast root)", () => {
    expect(() => feedAll([stripe(1, 0, 1), start(1, { collective: "broadcast", algorithm: "direct" })])).not.toThrow();
  });

  // Reassembly sizes a transfer's parts by the first stripe's `stripes`; a later stripe of the same
  // (op, src, tag) with a smaller `stripes` completes it with a hole, and joining reads undefined.length.
  it("two stripes of one transfer that disagree on `stripes`", () => {
    expect(() => feedAll([start(1, { collective: "all-reduce", algorithm: "ring" }), stripe(1, 1, 3), stripe(1, 0, 1)])).not.toThrow();
  });
});

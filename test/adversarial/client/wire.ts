import { Decoder, Encoder, ExtensionCodec } from "@msgpack/msgpack";
import { crc32Bytes } from "./crc32.js";

/**
 * An independent client of the supernode wire, written from docs/wire-format.md alone: it imports
 * nothing from the project (only @msgpack/msgpack). It parses subjects, decodes every message type
 * into named fields (checking every field's type and bound as the document states them, and refusing
 * fields the document does not name), verifies data CRCs with its own CRC-32, and encodes messages
 * (to forge them). Section numbers (§) are the document's.
 */

// ---- §2 subjects -------------------------------------------------------------------------------

/** The coordinator: `coord` in subjects, -1 in bodies. */
export const COORD = -1;
export const CHANNELS = ["d", "c", "u", "h"] as const;
export type Channel = (typeof CHANNELS)[number];
export const API_VERBS = ["status", "run", "stop"] as const;

export type Subject =
  | { readonly kind: "actor"; readonly run: string; readonly channel: Channel; readonly from: number; readonly to: number }
  | { readonly kind: "api"; readonly run: string; readonly verb: (typeof API_VERBS)[number] };

const RUN = /^[A-Za-z0-9_-]{1,64}$/;
const token = (a: number): string => (a === COORD ? "coord" : String(a));
const actor = (t: string | undefined): number | undefined => (t === "coord" ? COORD : t !== undefined && /^\d{1,9}$/.test(t) ? Number(t) : undefined);

/** `sn.<run>.<channel>.<from>.<to>`. */
export function subjectOf(run: string, channel: Channel, from: number, to: number): string {
  return `sn.${run}.${channel}.${token(from)}.${token(to)}`;
}

/** Parses a subject of a run; undefined when it is none of §2's forms. */
export function parseSubject(s: string): Subject | undefined {
  const t = s.split(".");
  if (t[0] !== "sn" || !RUN.test(t[1] ?? "")) return undefined;
  const run = t[1]!;
  if (t.length === 4 && t[2] === "api") return (API_VERBS as readonly string[]).includes(t[3]!) ? { kind: "api", run, verb: t[3] as (typeof API_VERBS)[number] } : undefined;
  const from = actor(t[3]), to = actor(t[4]);
  if (t.length !== 5 || !(CHANNELS as readonly string[]).includes(t[2]!) || from === undefined || to === undefined) return undefined;
  return { kind: "actor", run, channel: t[2] as Channel, from, to };
}

// ---- §4 messages -------------------------------------------------------------------------------

export interface Header { readonly v: 1; readonly from: number; readonly epoch: number; readonly inc: number }
export interface StripePart {
  readonly stripe: number; readonly bytes: number; readonly headNs: number; readonly tailNs: number;
  readonly path: readonly number[]; readonly hop: number; readonly payload: Float64Array; readonly crc: number;
}
export interface DataMessage extends Header {
  readonly type: "data"; readonly op: number; readonly src: number; readonly dst: number; readonly tag: number;
  readonly stripes: number; readonly totalBytes: number; readonly sentNs: number; readonly parts: readonly StripePart[];
}
export type Fields = { readonly [k: string]: unknown };
export interface OpStart extends Header { readonly type: "op-start"; readonly spec: Fields; readonly startNs: number; readonly part?: Fields }
export interface OpAbort extends Header { readonly type: "op-abort"; readonly op: number; readonly reason: string }
export interface OpOpen extends Header { readonly type: "op-open"; readonly op: number }
export interface OpClose extends Header { readonly type: "op-close"; readonly op: number }
export interface OpDone extends Header {
  readonly type: "op-done"; readonly op: number; readonly rank: number; readonly startNs: number; readonly endNs: number;
  readonly result: Float64Array; readonly sentMessages: number; readonly error?: Fields; readonly marks?: readonly number[]; readonly tally?: readonly number[];
}
export interface Heartbeat extends Header {
  readonly type: "heartbeat"; readonly pid: number; readonly host: string; readonly phase: string;
  readonly handled: number; readonly rejected: number; readonly topology: string;
}
export interface StatusReq extends Header { readonly type: "status-req"; readonly op: number }
export const REASONS = ["duplicate", "forged", "stale", "malformed", "oversize", "overflow", "corrupt"] as const;
export interface Status extends Header {
  readonly type: "status"; readonly op: number; readonly waits: readonly Fields[]; readonly partialTransfers: number;
  readonly dataHandled: number; readonly rejected: { readonly [K in (typeof REASONS)[number]]: number };
}
/** §4.9: a fault the coordinator asks an actor to apply from op `fromOp` on. */
export interface Fault extends Header {
  readonly type: "fault"; readonly fault: number;
  readonly kind: "link-degrade" | "link-down" | "switch-crash" | "straggler" | "link-flap" | "message-duplicate" | "message-reorder" | "partition" | "halt";
  readonly targets: readonly number[]; readonly fromOp: number; readonly untilOp?: number;
  readonly bandwidthFactor?: number; readonly latencyNs?: number; readonly factor?: number;
  readonly lossPct?: number; readonly corruptPct?: number; readonly retryNs?: number;
  readonly periodNs?: number; readonly duty?: number; readonly phaseNs?: number; readonly originNs?: number;
  readonly pct?: number; readonly seed?: number; readonly mode?: "crash" | "hang"; readonly afterNs?: number; readonly phase?: string;
}
/** §4.10: an endpoint's last words when a halt struck it. */
export interface Halted extends Header { readonly type: "halted"; readonly op: number; readonly fault: number; readonly mode: "crash" | "hang"; readonly atNs: number }
/** §4.11: with deployment.timing exact, a window of virtual time, and an actor's answer to it. */
export interface Window extends Header { readonly type: "window"; readonly op: number; readonly window: number; readonly untilNs: number }
export interface WindowReport extends Header {
  readonly type: "window-report"; readonly op: number; readonly window: number; readonly sent: number; readonly received: number; readonly nextNs?: number;
}
export type WireMessage = DataMessage | OpStart | OpAbort | OpOpen | OpClose | OpDone | Heartbeat | StatusReq | Status | Fault | Halted | Window | WindowReport;
export type WireType = WireMessage["type"];
export const WIRE_TYPES: readonly WireType[] = ["data", "op-start", "op-abort", "op-open", "op-close", "op-done", "heartbeat", "status-req", "status", "fault", "halted", "window", "window-report"];

/** The channel each type travels on (§2). */
export function channelOfType(t: WireType): Channel {
  return t === "data" ? "d" : t === "heartbeat" ? "h" : t === "op-done" || t === "status" || t === "halted" || t === "window-report" ? "u" : "c";
}

/** A message that is not what §4 says; `path` names the first bad field. */
export class WireDecodeError extends Error {
  constructor(readonly path: string, what: string) { super(`${path}: ${what}`); this.name = "WireDecodeError"; }
}

// ---- §5 msgpack and §6 the typed-array extension -----------------------------------------------

export const MAX_MESSAGE_BYTES = 1_048_576;
export const DATA_MARKER = 0x5d;
/** §5.2: the first byte of a data message in the binary layout (msgpack never uses it). */
export const BINARY_DATA_MARKER = 0xc1;
export const TYPED_ARRAY_EXT = 116;
export const FLOAT64_KIND = 8;
const KINDS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];

const ext = new ExtensionCodec();
ext.register({
  type: TYPED_ARRAY_EXT,
  encode: (x: unknown) => {
    if (!(x instanceof Float64Array)) return null;
    const out = new Uint8Array(1 + x.byteLength);
    out[0] = FLOAT64_KIND;
    const view = new DataView(out.buffer);
    for (let i = 0; i < x.length; i++) view.setFloat64(1 + 8 * i, x[i]!, true);
    return out;
  },
  decode: (data: Uint8Array) => {
    const kind = data[0];
    const Ctor = kind === undefined ? undefined : KINDS[kind];
    if (!Ctor) throw new WireDecodeError("ext116", `unknown typed-array kind ${kind}`);
    const bytes = data.length - 1;
    if (bytes % Ctor.BYTES_PER_ELEMENT !== 0) throw new WireDecodeError("ext116", `${bytes} bytes is no whole number of ${Ctor.name} elements`);
    if (Ctor === Float64Array) { // explicit little-endian, whatever this host's order
      const out = new Float64Array(bytes / 8), view = new DataView(data.buffer, data.byteOffset + 1, bytes);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    return new Ctor(data.slice(1).buffer);
  },
});
// msgpackr's `undefined` (fixext1 type 0); §5: never sent, accepted so that it is named, not thrown.
ext.register({ type: 0, encode: () => null, decode: () => undefined });

const decoder = new Decoder({ extensionCodec: ext, useBigInt64: false });
// useBigInt64 on the encoder makes integers outside [-2^31, 2^32) float64, as msgpackr writes them (§5).
const encoder = new Encoder({ extensionCodec: ext, useBigInt64: true, ignoreUndefined: true });

// ---- §4 field checks ---------------------------------------------------------------------------

type Check = (x: unknown, path: string) => unknown;
const fail = (path: string, what: string): never => { throw new WireDecodeError(path, what); };
const U32 = 0xffff_ffff;
const int = (min = 0, max = Number.MAX_SAFE_INTEGER): Check => (x, p) =>
  typeof x === "number" && Number.isInteger(x) && x >= min && x <= max ? x : fail(p, `expected an integer in [${min}, ${max}], got ${String(x)}`);
const time = (min = 0): Check => (x, p) => (typeof x === "number" && Number.isFinite(x) && x >= min ? x : fail(p, `expected a finite time ≥ ${min}, got ${String(x)}`));
const real: Check = (x, p) => (typeof x === "number" && Number.isFinite(x) && x > 0 ? x : fail(p, `expected a finite number > 0, got ${String(x)}`));
const str = (max: number): Check => (x, p) => (typeof x === "string" && x.length <= max ? x : fail(p, `expected a string of ≤ ${max} chars`));
const oneOf = (...vs: readonly unknown[]): Check => (x, p) => (vs.includes(x) ? x : fail(p, `expected one of ${vs.join("|")}, got ${String(x)}`));
const bool: Check = (x, p) => (typeof x === "boolean" ? x : fail(p, "expected a boolean"));
const f64 = (max = Number.MAX_SAFE_INTEGER): Check => (x, p) => (x instanceof Float64Array && x.length <= max ? x : fail(p, `expected a Float64Array (ext ${TYPED_ARRAY_EXT}, kind ${FLOAT64_KIND}) of ≤ ${max} elements`));
const arr = (item: Check, max: number, min = 0): Check => (x, p) => {
  if (!Array.isArray(x) || x.length < min || x.length > max) return fail(p, `expected an array of ${min}..${max} entries`);
  x.forEach((e, i) => item(e, `${p}[${i}]`));
  return x;
};
/** A map with exactly these keys (the optional ones may be absent): a key §4 does not name is an error. */
const map = (req: Record<string, Check>, opt: Record<string, Check> = {}): Check => (x, p) => {
  if (typeof x !== "object" || x === null || Array.isArray(x) || ArrayBuffer.isView(x)) return fail(p, "expected a map");
  const o = x as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(k in req) && !(k in opt)) fail(`${p}.${k}`, "a field the document does not name");
  for (const [k, c] of Object.entries(req)) { if (!(k in o)) fail(`${p}.${k}`, "missing"); c(o[k], `${p}.${k}`); }
  for (const [k, c] of Object.entries(opt)) if (o[k] !== undefined) c(o[k], `${p}.${k}`);
  return o;
};

const HEADER = { v: oneOf(1), type: str(16), from: int(-1), epoch: int(), inc: int() };
const MOE_SHAPE = map(
  {
    hidden: int(1, 1_048_576), experts: int(1, 65_536), topK: int(1, 65_536), expertIntermediate: int(1, 1_048_576),
    tokensPerRank: int(1, 4_194_304), ep: int(1, 1_000_000), sharedExperts: int(0, 65_536),
    dispatchBytesPerToken: int(1, 2 ** 50), combineBytesPerToken: int(1, 2 ** 50), capacityFactor: real,
    replicaPolicy: oneOf("round-robin", "least-loaded", "same-node-first"),
  },
  { weightBytes: int(1, 8), nodeLimit: int(1, 1_000_000), replicas: arr(map({ expert: int(), copies: int(1) }), 65_536) },
);
const GATING = map({ kind: oneOf("uniform", "zipf", "hot", "fixed", "gate") }, { exponent: real, hotFraction: real, hotShare: real, assignments: arr(arr(int(), 65_536), 4_194_304) });
const SPEC = map(
  {
    op: int(), collective: oneOf("all-reduce", "reduce-scatter", "all-gather", "all-to-all", "all-to-all-v", "broadcast", "moe-layer"),
    algorithm: oneOf("ring", "hierarchical", "hierarchical-hd", "direct", "halving-doubling", "pipeline"), sizeBytes: int(0, 2 ** 50), elementBytes: oneOf(1, 2, 4, 8),
    group: arr(int(), 1_000_000, 1), nodeGroups: arr(arr(int(), 1_000_000), 1_000_000), realElements: int(1, 1_048_576), seed: int(0, 2 ** 53),
    root: int(), chunkBytes: int(1),
  },
  { moe: map({ shape: MOE_SHAPE }, { gating: GATING, chunkTokens: int(1, 4_194_304) }) },
);
const INTS = arr(int(), 16_777_216);
const MOE_PART = map({ sends: INTS, recvCounts: INTS, experts: INTS, weightUnits: INTS, weightDenominator: int(1, 2 ** 20), held: INTS }, { cross: INTS, scatter: INTS });
const WIRE_ERROR = map({ name: str(Infinity), message: str(Infinity), retryable: bool }, { path: str(Infinity) });

const BODIES: Record<Exclude<WireType, "data">, Check> = {
  "op-start": map({ ...HEADER, spec: SPEC, startNs: time() }, { part: MOE_PART }),
  "op-abort": map({ ...HEADER, op: int(), reason: str(1000) }),
  "op-open": map({ ...HEADER, op: int() }),
  "op-close": map({ ...HEADER, op: int() }),
  "op-done": map(
    { ...HEADER, op: int(), rank: int(), startNs: time(-Infinity), endNs: time(), result: f64(), sentMessages: int() },
    { error: WIRE_ERROR, marks: arr(time(), 64), tally: arr(int(), 2 * 65_536 + 16) },
  ),
  heartbeat: map({ ...HEADER, pid: int(), host: str(256), phase: str(256), handled: int(), rejected: int(), topology: str(256) }),
  "status-req": map({ ...HEADER, op: int() }),
  fault: map(
    { ...HEADER, fault: int(0, 4095), kind: oneOf("link-degrade", "link-down", "switch-crash", "straggler", "link-flap", "message-duplicate", "message-reorder", "partition", "halt"), targets: arr(int(), 4096, 1), fromOp: int() },
    {
      untilOp: int(1), bandwidthFactor: real, latencyNs: time(), factor: real,
      lossPct: time(), corruptPct: time(), retryNs: time(), periodNs: real, duty: real, phaseNs: time(), originNs: time(), pct: real, seed: int(),
      mode: oneOf("crash", "hang"), afterNs: time(), phase: str(64),
    },
  ),
  halted: map({ ...HEADER, op: int(), fault: int(), mode: oneOf("crash", "hang"), atNs: time() }),
  window: map({ ...HEADER, op: int(), window: int(), untilNs: time() }),
  "window-report": map({ ...HEADER, op: int(), window: int(), sent: int(), received: int() }, { nextNs: time() }),
  status: map({
    ...HEADER, op: int(), partialTransfers: int(), dataHandled: int(),
    waits: arr(map({ op: int(), rank: int(), fromRank: int(), fromActor: int(-1), tag: int() }), 1_000_000),
    rejected: map(Object.fromEntries(REASONS.map((r) => [r, int()]))),
  }),
};

// ---- decoding -----------------------------------------------------------------------------------

const DATA_FIELDS = ["v", "from", "epoch", "inc", "op", "src", "dst", "tag", "stripes", "totalBytes", "sentNs", "parts"] as const;
const PART_FIELDS = ["stripe", "bytes", "headNs", "tailNs", "path", "hop", "payload", "crc"] as const;

function dataFrom(row: readonly unknown[]): DataMessage {
  if (row.length !== 1 + DATA_FIELDS.length) fail("data", `expected ${1 + DATA_FIELDS.length} positions, got ${row.length}`);
  const m: Record<string, unknown> = { type: "data" };
  DATA_FIELDS.forEach((f, i) => { m[f] = row[i + 1]; });
  oneOf(1)(m.v, "data.v");
  int(-1)(m.from, "data.from");
  for (const f of ["epoch", "inc", "op", "src", "dst", "totalBytes"]) int()(m[f], `data.${f}`);
  int(0, 2 ** 31 - 1)(m.tag, "data.tag");
  const stripes = int(1, 4096)(m.stripes, "data.stripes") as number;
  time()(m.sentNs, "data.sentNs");
  if (!Array.isArray(m.parts) || m.parts.length < 1 || m.parts.length > stripes) fail("data.parts", `expected 1..${stripes} rows`);
  m.parts = (m.parts as unknown[]).map((r, i) => partFrom(r, `data.parts[${i}]`, stripes));
  return m as unknown as DataMessage;
}

function partFrom(r: unknown, p: string, stripes: number): StripePart {
  if (!Array.isArray(r) || r.length !== PART_FIELDS.length) return fail(p, `expected a row of ${PART_FIELDS.length} positions`);
  const o: Record<string, unknown> = {};
  PART_FIELDS.forEach((f, i) => { o[f] = r[i]; });
  int(0, stripes - 1)(o.stripe, `${p}.stripe`);
  int()(o.bytes, `${p}.bytes`);
  const head = time()(o.headNs, `${p}.headNs`) as number;
  time(head)(o.tailNs, `${p}.tailNs`);
  const path = arr(int(), 64, 1)(o.path, `${p}.path`) as number[];
  int(0, path.length - 1)(o.hop, `${p}.hop`);
  f64(1_048_576)(o.payload, `${p}.payload`);
  int(0, U32)(o.crc, `${p}.crc`);
  return o as unknown as StripePart;
}

/** Decodes one message body (§3–§6); throws WireDecodeError (or msgpack's own error) when it is not one. */
export function decodeMessage(bytes: Uint8Array): WireMessage {
  if (bytes.byteLength > MAX_MESSAGE_BYTES) fail("message", `${bytes.byteLength} bytes, over ${MAX_MESSAGE_BYTES}`);
  if (bytes[0] === BINARY_DATA_MARKER) return dataFrom(binaryRow(bytes));
  const x = decoder.decode(bytes);
  if (Array.isArray(x)) {
    if (x[0] !== DATA_MARKER) fail("message", `an array whose first element is not the data marker 0x5d`);
    return dataFrom(x);
  }
  const type = (x as { type?: unknown } | null)?.type;
  if (typeof type !== "string" || type === "data" || !(type in BODIES)) return fail("type", `unknown message type ${String(type)}`);
  return BODIES[type as Exclude<WireType, "data">](x, type) as WireMessage;
}

/** §7: stripes whose CRC-32 (this client's own) differs from their `crc`, as (part index, expected, carried). */
export function badCrcs(m: DataMessage): { part: number; computed: number; carried: number }[] {
  const bad: { part: number; computed: number; carried: number }[] = [];
  m.parts.forEach((p, i) => {
    const le = new Uint8Array(p.payload.length * 8), view = new DataView(le.buffer);
    for (let j = 0; j < p.payload.length; j++) view.setFloat64(8 * j, p.payload[j]!, true);
    const c = crc32Bytes(le);
    if (c !== p.crc) bad.push({ part: i, computed: c, carried: p.crc });
  });
  return bad;
}

/** §8's sender rules, as a receiver applies them: why this subject cannot carry this body, or undefined. */
export function senderProblem(subject: string, m: WireMessage): string | undefined {
  const s = parseSubject(subject);
  if (s?.kind !== "actor") return `${subject} is not an actor subject`;
  if (s.channel !== channelOfType(m.type)) return `${m.type} on channel ${s.channel}`;
  if (m.from !== s.from) return `body from ${m.from}, subject from ${token(s.from)}`;
  if (s.channel === "c" && s.from !== COORD) return "control not from the coordinator";
  if ((s.channel === "u" || s.channel === "h") && s.to !== COORD) return "a report not to the coordinator";
  if (s.channel === "d" && s.from === COORD) return "data from the coordinator";
  return undefined;
}

// ---- §5.2 the binary layout of data ---------------------------------------------------------------

const BIN_HEADER = 52, BIN_PART = 40;

/** §5.2's bytes as §5.3's row (marker first), so that both forms take the same field checks. */
function binaryRow(b: Uint8Array): unknown[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.byteLength < BIN_HEADER) fail("data", `binary form of ${b.byteLength} bytes: shorter than its ${BIN_HEADER}-byte header`);
  const n = v.getUint16(2, true);
  const parts: unknown[] = [];
  let o = BIN_HEADER;
  for (let i = 0; i < n; i++) {
    if (o + BIN_PART > b.byteLength) fail(`data.parts[${i}]`, "the message ends inside the part");
    const links = v.getUint16(o + 6, true), elements = v.getUint32(o + 12, true);
    const end = o + BIN_PART + 4 * links + 8 * elements;
    if (end > b.byteLength) fail(`data.parts[${i}]`, "the message ends inside the part's path or payload");
    const path: number[] = [];
    for (let j = 0; j < links; j++) path.push(v.getUint32(o + BIN_PART + 4 * j, true));
    const payload = new Float64Array(elements);
    for (let j = 0; j < elements; j++) payload[j] = v.getFloat64(o + BIN_PART + 4 * links + 8 * j, true);
    // row order of §5.3: stripe, bytes, headNs, tailNs, path, hop, payload, crc
    parts.push([v.getUint32(o, true), v.getFloat64(o + 16, true), v.getFloat64(o + 24, true), v.getFloat64(o + 32, true), path, v.getUint16(o + 4, true), payload, v.getUint32(o + 8, true)]);
    o = end;
  }
  if (o !== b.byteLength) fail("data", `${b.byteLength - o} bytes after the last part`);
  const u32 = (at: number) => v.getUint32(at, true);
  return [DATA_MARKER, v.getUint8(1), u32(4), u32(8), u32(12), u32(16), u32(20), u32(24), u32(28), u32(32), v.getFloat64(36, true), v.getFloat64(44, true), parts];
}

/** §5.2: a data message in the binary layout (every field must fit its type there). */
export function encodeDataBinary(m: DataMessage): Uint8Array {
  const size = m.parts.reduce((n, p) => n + BIN_PART + 4 * p.path.length + 8 * p.payload.length, BIN_HEADER);
  const b = new Uint8Array(size), v = new DataView(b.buffer);
  v.setUint8(0, BINARY_DATA_MARKER); v.setUint8(1, m.v); v.setUint16(2, m.parts.length, true);
  [m.from, m.epoch, m.inc, m.op, m.src, m.dst, m.tag, m.stripes].forEach((x, i) => v.setUint32(4 + 4 * i, x, true));
  v.setFloat64(36, m.totalBytes, true); v.setFloat64(44, m.sentNs, true);
  let o = BIN_HEADER;
  for (const p of m.parts) {
    v.setUint32(o, p.stripe, true); v.setUint16(o + 4, p.hop, true); v.setUint16(o + 6, p.path.length, true);
    v.setUint32(o + 8, p.crc, true); v.setUint32(o + 12, p.payload.length, true);
    v.setFloat64(o + 16, p.bytes, true); v.setFloat64(o + 24, p.headNs, true); v.setFloat64(o + 32, p.tailNs, true);
    o += BIN_PART;
    for (const l of p.path) { v.setUint32(o, l, true); o += 4; }
    for (const x of p.payload) { v.setFloat64(o, x, true); o += 8; }
  }
  return b;
}

// ---- encoding -----------------------------------------------------------------------------------

/** Encodes a message as the emulator would (§5): data in the binary layout, everything else as a map. */
export function encodeMessage(m: WireMessage): Uint8Array {
  return m.type === "data" ? encodeDataBinary(m) : encoder.encode(m);
}

/** §5.3: a data message as the positional msgpack array (accepted too; forged fields of any type fit it). */
export function encodeDataArray(m: DataMessage): Uint8Array {
  const row: unknown[] = [DATA_MARKER];
  for (const f of DATA_FIELDS) row.push(f === "parts" ? m.parts.map((p) => PART_FIELDS.map((k) => p[k])) : m[f]);
  return encoder.encode(row);
}

/** The JSON body of a control API reply (§9); an empty body (a service error carries its code in headers) is undefined. */
export function decodeApiBody(bytes: Uint8Array): unknown {
  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  return text.length === 0 ? undefined : JSON.parse(text);
}

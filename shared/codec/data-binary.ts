import { endianness } from "node:os";
import { ProtocolError } from "../errors/index.js";
import { f64 as f64Array } from "../units/index.js";
import type { DataMsg, StripePart } from "../protocol/index.js";

/**
 * The fixed binary layout of a data message (docs/wire-format.md §5.2): little-endian, no msgpack.
 * Data stripes are most of the traffic; a layout read and written byte by byte at fixed offsets costs
 * a fraction of msgpack's per-field work. A data message whose fields do not fit the layout
 * (only a malformed one: a non-integer id, a path entry beyond 2^32) is not written this way — the
 * caller falls back to the positional msgpack array, and the receiver's guard names the bad field.
 *
 *   header (52 bytes): marker 0xc1, v u8, parts u16, from, epoch, inc, op, src, dst, tag, stripes
 *                      (u32 each), totalBytes f64, sentNs f64
 *   per part (40 bytes + 4·links + 8·elements): stripe u32, hop u16, links u16, crc u32, elements u32,
 *                      bytes f64, headNs f64, tailNs f64, then links × u32 (path), elements × f64 (payload)
 */
export const DATA_BINARY_MARKER = 0xc1; // msgpack's "never used" byte: no msgpack value starts with it
const HEADER_BYTES = 52;
const PART_BYTES = 40;
const HOST_LE = endianness() === "LE";

const isU32 = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 0xffff_ffff;
const isU16 = (x: unknown): x is number => isU32(x) && x <= 0xffff;

/** Encoded size, or -1 when a field does not fit the layout. */
function sizeOf(m: DataMsg): number {
  if (!isU32(m.v) || m.v > 0xff || !Array.isArray(m.parts) || m.parts.length > 0xffff) return -1;
  if (!isU32(m.from) || !isU32(m.epoch) || !isU32(m.inc) || !isU32(m.op) || !isU32(m.src) || !isU32(m.dst) || !isU32(m.tag) || !isU32(m.stripes)) return -1;
  if (typeof m.totalBytes !== "number" || typeof m.sentNs !== "number") return -1;
  let n = HEADER_BYTES;
  for (let i = 0; i < m.parts.length; i++) {
    const q = m.parts[i] as StripePart | undefined;
    if (!q || typeof q !== "object") return -1;
    if (!isU32(q.stripe) || !isU16(q.hop) || !isU32(q.crc) || !(q.payload instanceof Float64Array)) return -1;
    if (typeof q.bytes !== "number" || typeof q.headNs !== "number" || typeof q.tailNs !== "number") return -1;
    if (!Array.isArray(q.path) || q.path.length > 0xffff) return -1;
    for (let j = 0; j < q.path.length; j++) if (!isU32(q.path[j])) return -1;
    n += PART_BYTES + 4 * q.path.length + 8 * q.payload.length;
  }
  return n;
}

// Messages are carved out of shared 64 KiB chunks, as msgpackr does: a typed array of more than 64
// bytes gets its own off-heap ArrayBuffer, which costs about a microsecond — more than encoding the
// message. A region is never handed out twice (the NATS client may hold it until it flushes); a chunk
// is freed when its last message is.
const CHUNK_BYTES = 64 * 1024;
let chunk = new Uint8Array(CHUNK_BYTES);
let used = 0;
function take(size: number): Uint8Array {
  if (size > CHUNK_BYTES / 4) return new Uint8Array(size);
  if (used + size > CHUNK_BYTES) { chunk = new Uint8Array(CHUNK_BYTES); used = 0; }
  const b = chunk.subarray(used, used + size);
  used += (size + 7) & ~7;
  return b;
}

/** The binary form, or undefined when the message does not fit it. */
export function encodeDataBinary(m: DataMsg): Uint8Array | undefined {
  const size = sizeOf(m);
  if (size < 0) return undefined;
  const b = take(size);
  b[0] = DATA_BINARY_MARKER;
  b[1] = m.v;
  put16(b, 2, m.parts.length);
  put32(b, 4, m.from); put32(b, 8, m.epoch); put32(b, 12, m.inc); put32(b, 16, m.op);
  put32(b, 20, m.src); put32(b, 24, m.dst); put32(b, 28, m.tag); put32(b, 32, m.stripes);
  putFloat(b, 36, m.totalBytes); putFloat(b, 44, m.sentNs);
  let o = HEADER_BYTES;
  for (let i = 0; i < m.parts.length; i++) {
    const p = m.parts[i]!;
    const links = p.path.length, elements = p.payload.length;
    put32(b, o, p.stripe); put16(b, o + 4, p.hop); put16(b, o + 6, links); put32(b, o + 8, p.crc); put32(b, o + 12, elements);
    putFloat(b, o + 16, p.bytes); putFloat(b, o + 24, p.headNs); putFloat(b, o + 32, p.tailNs);
    o += PART_BYTES;
    for (let j = 0; j < links; j++, o += 4) put32(b, o, p.path[j]!);
    if (HOST_LE && elements > 32) b.set(new Uint8Array(p.payload.buffer, p.payload.byteOffset, 8 * elements), o);
    else for (let j = 0; j < elements; j++) putFloat(b, o + 8 * j, p.payload[j]!);
    o += 8 * elements;
  }
  return b;
}

// Reads and writes go through these: a DataView, or a typed-array view per payload, costs more than a
// small message's fields (measured: 1.1 µs against 0.3 µs to decode a one-part message).
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
function put32(b: Uint8Array, o: number, x: number): void {
  b[o] = x; b[o + 1] = x >>> 8; b[o + 2] = x >>> 16; b[o + 3] = x >>> 24;
}
function put16(b: Uint8Array, o: number, x: number): void { b[o] = x; b[o + 1] = x >>> 8; }
function putFloat(b: Uint8Array, o: number, x: number): void {
  f64[0] = x;
  if (HOST_LE) for (let k = 0; k < 8; k++) b[o + k] = f64Bytes[k]!;
  else for (let k = 0; k < 8; k++) b[o + k] = f64Bytes[7 - k]!;
}
function float(b: Uint8Array, o: number): number {
  if (HOST_LE) for (let k = 0; k < 8; k++) f64Bytes[k] = b[o + k]!;
  else for (let k = 0; k < 8; k++) f64Bytes[7 - k] = b[o + k]!;
  return f64[0]!;
}

/**
 * Reads the binary form into a message object for the guard (which checks every field's bounds); throws
 * ProtocolError when the bytes are not exactly one message of this layout (short, or bytes left over).
 */
export function decodeDataBinary(b: Uint8Array): Record<string, unknown> {
  const len = b.byteLength;
  if (len < HEADER_BYTES) throw short(len, "the header");
  if (b[0] !== DATA_BINARY_MARKER) throw new ProtocolError("not a binary data message");
  const n = u16(b, 2);
  const parts: Record<string, unknown>[] = new Array(n);
  let o = HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    if (o + PART_BYTES > len) throw short(len, `part ${i}`);
    const links = u16(b, o + 6), elements = u32(b, o + 12);
    const at = o + PART_BYTES + 4 * links, end = at + 8 * elements;
    if (end > len) throw short(len, `part ${i}'s path and payload`);
    const path = new Array<number>(links);
    for (let j = 0; j < links; j++) path[j] = u32(b, o + PART_BYTES + 4 * j);
    const payload = f64Array(elements); // a view into a slab (shared/units/f64.ts): cheaper than a buffer of its own
    // Views cost more than copying a few elements; a long payload is copied in one go.
    if (HOST_LE && elements > 32) new Uint8Array(payload.buffer, payload.byteOffset, 8 * elements).set(b.subarray(at, end));
    else for (let j = 0; j < elements; j++) payload[j] = float(b, at + 8 * j);
    parts[i] = {
      stripe: u32(b, o), bytes: float(b, o + 16), headNs: float(b, o + 24), tailNs: float(b, o + 32),
      path, hop: u16(b, o + 4), payload, crc: u32(b, o + 8),
    };
    o = end;
  }
  if (o !== len) throw new ProtocolError(`binary data message has ${len - o} bytes after its ${n} parts`);
  return {
    type: "data", v: b[1]!, from: u32(b, 4), epoch: u32(b, 8), inc: u32(b, 12), op: u32(b, 16),
    src: u32(b, 20), dst: u32(b, 24), tag: u32(b, 28), stripes: u32(b, 32), totalBytes: float(b, 36), sentNs: float(b, 44), parts,
  };
}

const short = (len: number, what: string) => new ProtocolError(`binary data message of ${len} bytes ends inside ${what}`);

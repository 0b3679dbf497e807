import { Packr } from "msgpackr";
import { ProtocolError } from "../errors/index.js";
import { asMessage, type DataMsg, type Message, type StripePart } from "../protocol/index.js";
import { DATA_BINARY_MARKER, decodeDataBinary, encodeDataBinary } from "./data-binary.js";

/** Largest encoded message accepted from the wire. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

// One configuration for the whole project: no record structures shared across messages (each
// message decodes on its own) and typed arrays kept as typed arrays.
const packr = new Packr({ useRecords: false, moreTypes: true, structuredClone: false });

/**
 * Data stripes are most of the traffic, so they travel in the fixed binary layout of data-binary.ts
 * (wire-format §5.2). A data message whose fields do not fit it, and what other writers may send,
 * travels as a positional msgpack array (§5.3): a marker, then these fields in this order. Everything
 * else travels as a map.
 */
const DATA_MARKER = 0x5d;
const DATA_FIELDS = [
  "v", "from", "epoch", "inc", "op", "src", "dst", "tag", "stripes", "totalBytes", "sentNs", "parts",
] as const satisfies readonly (keyof DataMsg)[];
const PART_FIELDS = ["stripe", "bytes", "headNs", "tailNs", "path", "hop", "payload", "crc"] as const satisfies readonly (keyof StripePart)[];

export function encode(m: Message): Uint8Array {
  if (m.type !== "data") return packr.pack(m);
  const binary = encodeDataBinary(m);
  if (binary) return binary;
  const row: unknown[] = [DATA_MARKER];
  for (const f of DATA_FIELDS) row.push(f === "parts" ? partsRow(m.parts) : m[f]);
  return packr.pack(row);
}

/** Parts as positional rows; anything malformed is passed through for the receiver's guard to name. */
function partsRow(parts: unknown): unknown {
  if (!Array.isArray(parts)) return parts;
  return parts.map((p: unknown) => (p && typeof p === "object" ? PART_FIELDS.map((k) => (p as Record<string, unknown>)[k]) : p));
}

function partFrom(x: unknown): unknown {
  if (!Array.isArray(x) || x.length !== PART_FIELDS.length) return x; // the guard names what is wrong
  const p: Record<string, unknown> = {};
  for (let i = 0; i < PART_FIELDS.length; i++) p[PART_FIELDS[i]!] = x[i];
  return p;
}

/** Decodes and validates bytes from the wire; throws ProtocolError (or a decode error) on bad input. */
export function decode(bytes: Uint8Array): Message {
  if (bytes.byteLength > MAX_MESSAGE_BYTES) throw new RangeError(`message of ${bytes.byteLength} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  if (bytes[0] === DATA_BINARY_MARKER) return asMessage(decodeDataBinary(bytes));
  const x: unknown = packr.unpack(bytes);
  if (!Array.isArray(x)) return asMessage(x);
  if (x[0] !== DATA_MARKER || x.length !== DATA_FIELDS.length + 1) throw new ProtocolError("an array that is not a data message");
  const m: Record<string, unknown> = { type: "data" };
  for (let i = 0; i < DATA_FIELDS.length; i++) m[DATA_FIELDS[i]!] = x[i + 1];
  if (Array.isArray(m.parts)) m.parts = m.parts.map(partFrom);
  return asMessage(m);
}

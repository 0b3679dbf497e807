import { describe, expect, it } from "vitest";
import { crc32, decode, encode } from "../../shared/codec/index.js";
import { ProtocolError } from "../../shared/errors/index.js";
import { PROTOCOL_VERSION, type DataMsg } from "../../shared/protocol/index.js";
import { decodeMessage, encodeDataArray, encodeDataBinary } from "../adversarial/client/wire.js";

/**
 * The binary layout of data messages (docs/wire-format.md §5.2) against the document: byte offsets
 * read by hand, the independent client's encoder (test/adversarial/client, written from the document)
 * byte for byte, both encodings decoding to the same message, and every truncation or extension refused.
 */
const payload = new Float64Array([-7, 1, 0.5]);
const msg: DataMsg = {
  v: PROTOCOL_VERSION, type: "data", from: 8, epoch: 1, inc: 2, op: 70000, src: 0, dst: 300, tag: 12, stripes: 4,
  totalBytes: 2 ** 40, sentNs: 26.306640625 as never,
  parts: [
    { stripe: 3, bytes: 256, headNs: 25 as never, tailNs: 1e12 + 0.25 as never, path: [0, 5, 65536], hop: 1 as never, payload, crc: crc32(payload) },
    { stripe: 0, bytes: 0, headNs: 0 as never, tailNs: 0 as never, path: [7] as never, hop: 0 as never, payload: new Float64Array(0), crc: 0 },
  ] as never,
};

describe("data messages in the binary layout", () => {
  const bytes = encode(msg);

  it("has the documented size and offsets", () => {
    // 52 header + part 0: 40 + 4·3 links + 8·3 elements = 76 + part 1: 40 + 4·1 + 0 = 44 → 172 bytes
    expect(bytes.byteLength).toBe(52 + 76 + 44);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(v.getUint8(0)).toBe(0xc1);
    expect(v.getUint8(1)).toBe(1);
    expect(v.getUint16(2, true)).toBe(2); // parts
    expect([4, 8, 12, 16, 20, 24, 28, 32].map((o) => v.getUint32(o, true))).toEqual([8, 1, 2, 70000, 0, 300, 12, 4]);
    expect(v.getFloat64(36, true)).toBe(2 ** 40);
    expect(v.getFloat64(44, true)).toBe(26.306640625);
    // part 0 at 52: stripe, hop, links, crc, elements, bytes, headNs, tailNs, path (at 92), payload (at 104)
    expect([v.getUint32(52, true), v.getUint16(56, true), v.getUint16(58, true), v.getUint32(60, true), v.getUint32(64, true)]).toEqual([3, 1, 3, crc32(payload), 3]);
    expect([v.getFloat64(68, true), v.getFloat64(76, true), v.getFloat64(84, true)]).toEqual([256, 25, 1e12 + 0.25]);
    expect([v.getUint32(92, true), v.getUint32(96, true), v.getUint32(100, true)]).toEqual([0, 5, 65536]);
    expect([v.getFloat64(104, true), v.getFloat64(112, true), v.getFloat64(120, true)]).toEqual([-7, 1, 0.5]);
    // part 1 at 128: one link (at 168), no payload
    expect([v.getUint32(128, true), v.getUint16(134, true), v.getUint32(140, true), v.getUint32(168, true)]).toEqual([0, 1, 0, 7]);
  });

  it("is what the independent client writes, and both encodings decode to the same message", () => {
    expect(Buffer.from(encodeDataBinary(msg as never)).equals(Buffer.from(bytes))).toBe(true);
    const fromArray = decode(encodeDataArray(msg as never)); // §5.3, still accepted
    expect(decode(bytes)).toEqual(msg);
    expect(fromArray).toEqual(msg);
    expect(decodeMessage(bytes)).toEqual(msg);
  });

  it("refuses every truncation and any byte beyond the last part", () => {
    for (let n = 0; n < bytes.byteLength; n++) expect(() => decode(bytes.subarray(0, n)), `first ${n} bytes`).toThrow(n === 0 ? Error : ProtocolError);
    const longer = new Uint8Array(bytes.byteLength + 1);
    longer.set(bytes);
    expect(() => decode(longer)).toThrow(/1 bytes after its 2 parts/);
  });

  it("decodes at any offset of a buffer (NATS hands out views)", () => {
    const big = new Uint8Array(bytes.byteLength + 3);
    big.set(bytes, 3);
    expect(decode(big.subarray(3))).toEqual(msg);
  });

  it("falls back to the msgpack array for fields that do not fit, and the guard names the field", () => {
    const odd = { ...msg, from: 1.5 } as unknown as DataMsg;
    const b = encode(odd);
    expect(b[0]).toBe(0x9d); // fixarray of 13 (§5.3)
    expect(() => decode(b)).toThrow(/from/);
    // A well-typed but out-of-bounds field travels in binary and is refused the same way.
    expect(() => decode(encode({ ...msg, stripes: 5000 }))).toThrow(/data\.stripes/);
  });
});

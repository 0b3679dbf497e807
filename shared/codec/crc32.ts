/**
 * CRC-32 (IEEE) tables for slicing-by-8: TABLES[k][n] is the CRC of byte n followed by k zero bytes,
 * so eight bytes are folded in with eight lookups and no per-byte dependency chain.
 */
const TABLES = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0]![n] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) t[k]![n] = (t[k - 1]![n]! >>> 8) ^ t[0]![t[k - 1]![n]! & 0xff]!;
  }
  return t;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/**
 * One element at a time through a scratch double and its two 32-bit halves: no view of the payload's
 * buffer is made (that allocates, and for a small on-heap array also moves its bytes off the heap,
 * which cost more than the checksum itself). The halves are bytes 0–3 and 4–7 on a little-endian host.
 */
const SCRATCH = new Float64Array(1);
const HALVES = new Uint32Array(SCRATCH.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** CRC-32 (IEEE) of a payload's bytes; every data message carries it and the destination checks it. */
export function crc32(data: Float64Array): number {
  if (data.length === 0) return 0;
  return LITTLE_ENDIAN ? crcWords(data) : crcBytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function crcWords(data: Float64Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    SCRATCH[0] = data[i]!;
    c ^= HALVES[0]!;
    const hi = HALVES[1]!;
    c = T7[c & 0xff]! ^ T6[(c >>> 8) & 0xff]! ^ T5[(c >>> 16) & 0xff]! ^ T4[c >>> 24]!
      ^ T3[hi & 0xff]! ^ T2[(hi >>> 8) & 0xff]! ^ T1[(hi >>> 16) & 0xff]! ^ T0[hi >>> 24]!;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function crcBytes(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = T0[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

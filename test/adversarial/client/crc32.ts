/**
 * CRC-32 as docs/wire-format.md §7 defines it for data payloads: the IEEE 802.3 / zlib / PNG CRC
 * (reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF), over the payload's
 * little-endian float64 bytes — exactly the bytes that follow the kind byte of the ext-116 value.
 * Written for the independent client: it imports nothing from the project.
 */

/** The standard check value: CRC-32 of the ASCII bytes "123456789". */
export const CRC32_CHECK = 0xcbf43926;

/** Slicing-by-4 tables: T[0] is the classic byte table; T[k][n] advances T[k-1][n] by one zero byte. */
const T: Uint32Array[] = (() => {
  const t = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  const t0 = t[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    t0[n] = c >>> 0;
  }
  for (let k = 1; k < 4; k++) {
    const prev = t[k - 1]!, cur = t[k]!;
    for (let n = 0; n < 256; n++) cur[n] = (prev[n]! >>> 8) ^ t0[prev[n]! & 0xff]!;
  }
  return t;
})();

/** CRC-32 of a byte string (0 for no bytes, as the standard gives). */
export function crc32Bytes(b: Uint8Array): number {
  const [t0, t1, t2, t3] = T as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = 0xffffffff;
  let i = 0;
  for (const end = b.length - (b.length % 4); i < end; i += 4) {
    c ^= b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    c = t3[c & 0xff]! ^ t2[(c >>> 8) & 0xff]! ^ t1[(c >>> 16) & 0xff]! ^ t0[c >>> 24]!;
  }
  for (; i < b.length; i++) c = t0[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The wire bytes of a payload: each element as an IEEE 754 binary64, little-endian, no padding. */
export function float64LeBytes(x: Float64Array): Uint8Array {
  const out = new Uint8Array(x.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < x.length; i++) view.setFloat64(i * 8, x[i]!, true);
  return out;
}

/** CRC-32 of a payload as a data message's `crc` carries it. */
export function payloadCrc(x: Float64Array): number {
  return crc32Bytes(float64LeBytes(x));
}

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE) of a payload's bytes; every data message carries it and the destination checks it. */
export function crc32(data: Float64Array): number {
  if (data.length === 0) return 0;
  const b = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = (TABLE[(c ^ (b[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

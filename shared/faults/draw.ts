/**
 * The deterministic draws of the probabilistic faults (message-duplicate, message-reorder, link-degrade
 * lossPct and corruptPct): a seeded hash of what names the message or stripe, never Math.random, so
 * every engine and every run of one scenario picks the same messages (docs/chaos.md §2). MurmurHash3's
 * 32-bit mixing: cheap, and well spread for inputs that differ in one small integer.
 */

/** Folds one non-negative integer (ids and op numbers may exceed 2^32) into the running hash. */
function mix(h: number, x: number): number {
  let k = (x >>> 0) ^ Math.floor(x / 4_294_967_296);
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** What names one draw: the fault, its seed, the transfer (epoch, op, src, dst, tag), and the stripe and hop or link. */
export interface DrawKey {
  readonly fault: number;
  readonly seed: number;
  readonly epoch: number;
  readonly op: number;
  readonly src: number;
  readonly dst: number;
  readonly tag: number;
  readonly stripe: number;
  /** The hop (message faults) or the link id (link faults): where on the path it is drawn. */
  readonly where: number;
}

/** A number in [0, 100): the key's percentile (compared against a fault's `pct`). */
export function drawPct(k: DrawKey): number {
  let h = mix(k.seed | 0, k.fault);
  h = mix(h, k.epoch);
  h = mix(h, k.op);
  h = mix(h, k.src);
  h = mix(h, k.dst);
  h = mix(h, k.tag);
  h = mix(h, k.stripe);
  h = mix(h, k.where);
  return (finish(h) / 4_294_967_296) * 100;
}

import type { Delivered } from "../../shared/collectives/index.js";
import { deliveredAtNs } from "../../shared/linkmodel/index.js";
import type { StripePart } from "../../shared/protocol/index.js";
import type { SimNs } from "../../shared/units/index.js";

interface Partial {
  readonly parts: (Float64Array | undefined)[];
  got: number;
  firstByteNs: number;
  deliveredNs: number;
}

/** A transfer delivered whole: any stripe of it that comes again is a duplicate. */
const DONE = Symbol("delivered");

/** What a stripe did to its transfer. */
export type Added = Delivered | "partial" | "duplicate" | "mismatch" | "overflow";

/**
 * Collects the stripes of each transfer of one op. A transfer is delivered when its last stripe is;
 * its first byte is the earliest stripe head. Real elements are joined in stripe order, never arrival
 * order. It also is the op's duplicate detector: a stripe it already holds, or of a transfer it
 * already delivered, is a "duplicate" (remembered until the op ends here, when the whole object
 * goes); at most `maxTransfers` transfers are tracked ("overflow" past that).
 */
export class Reassembly {
  private readonly partial = new Map<number, Partial | typeof DONE>();

  constructor(private readonly maxTransfers = Infinity) {}

  /** Adds a stripe; the whole transfer once every stripe is in. */
  add(key: number, stripes: number, totalBytes: number, m: StripePart, endpointOverheadNs: number): Added {
    let p = this.partial.get(key);
    if (p === DONE) return "duplicate";
    if (!p) {
      if (this.partial.size >= this.maxTransfers) return "overflow";
      p = { parts: new Array(stripes).fill(undefined), got: 0, firstByteNs: Infinity, deliveredNs: 0 };
      this.partial.set(key, p);
    }
    if (p.parts.length !== stripes || m.stripe >= stripes) return "mismatch";
    if (p.parts[m.stripe] !== undefined) return "duplicate";
    p.parts[m.stripe] = m.payload;
    p.got++;
    p.firstByteNs = Math.min(p.firstByteNs, m.headNs);
    p.deliveredNs = Math.max(p.deliveredNs, deliveredAtNs(m.tailNs, endpointOverheadNs));
    if (p.got < stripes) return "partial";
    this.partial.set(key, DONE);
    let len = 0;
    for (const part of p.parts) len += part!.length;
    const data = new Float64Array(len);
    let at = 0;
    for (const part of p.parts) { data.set(part!, at); at += part!.length; }
    return { data, bytes: totalBytes, firstByteNs: p.firstByteNs as SimNs, deliveredNs: p.deliveredNs as SimNs };
  }

  /** Transfers with some but not all stripes in. */
  get pending(): number {
    let n = 0;
    for (const p of this.partial.values()) if (p !== DONE) n++;
    return n;
  }
}

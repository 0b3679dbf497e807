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

/**
 * Collects the stripes of each transfer. A transfer is delivered when its last stripe is; its first
 * byte is the earliest stripe head. Real elements are joined in stripe order, never arrival order.
 */
export class Reassembly {
  private readonly partial = new Map<number, Partial>();

  /**
   * Adds a stripe; returns the whole transfer once every stripe is in, else undefined. Duplicates are
   * ignored; a stripe whose count disagrees with the transfer's first stripe is a "mismatch".
   */
  add(key: number, stripes: number, totalBytes: number, m: StripePart, endpointOverheadNs: number): Delivered | undefined | "mismatch" {
    let p = this.partial.get(key);
    if (!p) {
      p = { parts: new Array(stripes).fill(undefined), got: 0, firstByteNs: Infinity, deliveredNs: 0 };
      this.partial.set(key, p);
    }
    if (p.parts.length !== stripes || m.stripe >= stripes) return "mismatch";
    if (p.parts[m.stripe] !== undefined) return undefined;
    p.parts[m.stripe] = m.payload;
    p.got++;
    p.firstByteNs = Math.min(p.firstByteNs, m.headNs);
    p.deliveredNs = Math.max(p.deliveredNs, deliveredAtNs(m.tailNs, endpointOverheadNs));
    if (p.got < stripes) return undefined;
    this.partial.delete(key);
    let len = 0;
    for (const part of p.parts) len += part!.length;
    const data = new Float64Array(len);
    let at = 0;
    for (const part of p.parts) { data.set(part!, at); at += part!.length; }
    return { data, bytes: totalBytes, firstByteNs: p.firstByteNs as SimNs, deliveredNs: p.deliveredNs as SimNs };
  }

  get pending(): number { return this.partial.size; }
}

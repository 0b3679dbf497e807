import { crc32 } from "../../shared/codec/index.js";
import { handleAtNs, traverse, type Ports } from "../../shared/linkmodel/index.js";
import { PROTOCOL_VERSION, type DataMsg } from "../../shared/protocol/index.js";
import type { Outbound } from "../../shared/runtime/index.js";
import type { Topology } from "../../shared/topology/index.js";
import { splitEven, splitOffsets, type NpuId, type SimNs } from "../../shared/units/index.js";

export interface TransferSpec {
  readonly op: number;
  readonly epoch: number;
  readonly inc: number;
  readonly src: NpuId;
  readonly dst: NpuId;
  readonly tag: number;
  readonly bytes: number;
  readonly data: Float64Array;
  readonly nowNs: number;
}

/**
 * Sends one transfer: stripes the modelled bytes and the real elements evenly over the route's
 * stripes, and pushes each stripe through the source's egress port of its first link.
 */
export function transmit(t: Topology, ports: Ports, x: TransferSpec, out: Outbound[]): void {
  const stripes = t.route(x.src, x.dst).stripes;
  const n = stripes.length;
  const byteParts = splitEven(x.bytes, n), elemOff = splitOffsets(x.data.length, n);
  for (let i = 0; i < n; i++) {
    const path = stripes[i]!;
    const link = t.links[path[0]!]!;
    const hop = traverse(ports.get(link.id), link, byteParts[i]!, x.nowNs, x.nowNs);
    const payload = x.data.slice(elemOff[i]!, elemOff[i + 1]!);
    const msg: DataMsg = {
      v: PROTOCOL_VERSION, type: "data", from: x.src, epoch: x.epoch, inc: x.inc,
      op: x.op, src: x.src, dst: x.dst, tag: x.tag, stripe: i, stripes: n,
      bytes: byteParts[i]!, totalBytes: x.bytes, sentNs: x.nowNs as SimNs,
      headNs: hop.headNs, tailNs: hop.tailNs, path, hop: 0, payload, crc: crc32(payload),
    };
    out.push({ to: link.to, atNs: handleAtNs(t, link.to, hop.headNs, hop.tailNs), msg });
  }
}

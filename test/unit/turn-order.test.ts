import { describe, expect, it } from "vitest";
import { COORDINATOR, PROTOCOL_VERSION, type DataMsg, type Message } from "../../shared/protocol/index.js";
import { TurnOrder } from "../../shared/runtime/index.js";

// A NATS switch's data messages of one event-loop turn go to its logic earliest stripe head first
// (shared/runtime/turn-order.ts); anything else releases them first, so no data passes a control message.
const data = (tag: number, heads: number[]): DataMsg => ({
  v: PROTOCOL_VERSION, type: "data", from: 1, epoch: 1, inc: 0, op: 1, src: 1 as never, dst: 2 as never, tag, stripes: heads.length,
  totalBytes: 8, sentNs: 0 as never,
  parts: heads.map((h, stripe) => ({ stripe, bytes: 4, headNs: h as never, tailNs: (h + 1) as never, path: [], hop: 0, payload: new Float64Array(0), crc: 0 })),
});

describe("TurnOrder", () => {
  it("releases held data by earliest stripe head, arrival order among equal heads", () => {
    const o = new TurnOrder();
    // heads (earliest part): tag 1 → 30, tag 2 → 10, tag 3 → 20 (its second part), tag 4 → 10 (ties tag 2, came later)
    for (const [tag, heads] of [[1, [30]], [2, [10]], [3, [25, 20]], [4, [10]]] as const) expect(o.hold(`s${tag}`, data(tag, [...heads]))).toBe(true);
    expect(o.size).toBe(4);
    expect(o.release().map((e) => (e.msg as DataMsg).tag)).toEqual([2, 4, 3, 1]);
    expect(o.size).toBe(0);
    expect(o.release()).toEqual([]);
  });
  it("holds nothing but data", () => {
    const o = new TurnOrder();
    const close: Message = { v: PROTOCOL_VERSION, type: "op-close", from: COORDINATOR, epoch: 1, inc: 0, op: 1 };
    expect(o.hold("c", close)).toBe(false);
    expect(o.size).toBe(0);
  });
});

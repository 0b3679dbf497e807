import { describe, expect, it } from "vitest";
import { LocalDelivery } from "../../shared/runtime/index.js";
import type { Message } from "../../shared/protocol/index.js";

const msg = (n: number) => ({ type: "heartbeat", n }) as unknown as Message;
const turn = () => new Promise<void>((r) => setImmediate(r));

describe("LocalDelivery (co-located actors, no server)", () => {
  it("queues only for receivers in this process, never delivers inside the sender's turn, keeps FIFO order", async () => {
    const got: [string, number][] = [];
    const d = new LocalDelivery();
    d.add(1, { receiveLocal: (s, m) => got.push([s, (m as unknown as { n: number }).n]) });
    expect(d.offer(2, "x", msg(0))).toBe(false); // not here: the caller publishes over NATS
    for (let i = 0; i < 5; i++) expect(d.offer(1, `s${i}`, msg(i))).toBe(true);
    expect(got).toEqual([]); // nothing re-enters the sender's handler
    await turn();
    expect(got).toEqual([["s0", 0], ["s1", 1], ["s2", 2], ["s3", 3], ["s4", 4]]);
    expect(d.delivered).toBe(5);
  });

  it("yields to the event loop after perTurn messages (timers and socket reads still run)", async () => {
    const got: number[] = [];
    const d = new LocalDelivery(3);
    d.add(7, { receiveLocal: (_s, m) => got.push((m as unknown as { n: number }).n) });
    for (let i = 0; i < 7; i++) d.offer(7, "s", msg(i));
    await turn();
    expect(got).toEqual([0, 1, 2]); // first turn: 3
    await turn();
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
    await turn();
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // A message handled by a receiver that offers more: those come after what was already queued.
    d.add(8, { receiveLocal: (_s, m) => { got.push(100 + (m as unknown as { n: number }).n); if ((m as unknown as { n: number }).n === 0) d.offer(7, "s", msg(9)); } });
    d.offer(8, "s", msg(0));
    d.offer(7, "s", msg(8));
    await turn();
    expect(got.slice(7)).toEqual([100, 8]); // what a handler offers waits for the next turn
    await turn();
    expect(got.slice(7)).toEqual([100, 8, 9]);
  });
});

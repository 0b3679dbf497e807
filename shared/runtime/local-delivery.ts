import type { Message } from "../protocol/index.js";

/** What a co-located actor offers the router: its edge for messages that did not cross the server. */
export interface LocalReceiver {
  /** Handles a message as if it had arrived on `subject` (the same edge checks as from the wire, minus decoding). */
  receiveLocal(subject: string, msg: Message): void;
}

/**
 * Delivery between actors of one host process without a round trip through the NATS server
 * (`deployment.localDelivery`). Messages wait in one FIFO queue, drained on a later turn of the event
 * loop (never inside the sender's handler), so each sender's messages to each receiver keep their
 * order, as the server keeps them, and socket reads and timers (heartbeats) still get their turns.
 */
export class LocalDelivery {
  private readonly receivers = new Map<number, LocalReceiver>();
  private readonly queue: { to: LocalReceiver; subject: string; msg: Message }[] = [];
  private head = 0;
  private scheduled = false;
  /** Messages handed over locally so far. */
  delivered = 0;

  /** The drain runs at most this many messages per turn, then yields to I/O. */
  constructor(private readonly perTurn = 4096) {}

  add(id: number, r: LocalReceiver): void { this.receivers.set(id, r); }

  /** True (and queued) when `to` lives in this process; false: send it over NATS. */
  offer(to: number, subject: string, msg: Message): boolean {
    const r = this.receivers.get(to);
    if (!r) return false;
    this.queue.push({ to: r, subject, msg });
    if (!this.scheduled) { this.scheduled = true; setImmediate(this.drain); }
    return true;
  }

  private readonly drain = (): void => {
    const end = Math.min(this.queue.length, this.head + this.perTurn);
    while (this.head < end) {
      const e = this.queue[this.head]!;
      this.queue[this.head++] = undefined as never; // let the message go
      this.delivered++;
      e.to.receiveLocal(e.subject, e.msg); // a throw is the receiver's own (it marks itself failed)
    }
    if (this.head < this.queue.length) { setImmediate(this.drain); return; }
    this.queue.length = 0;
    this.head = 0;
    this.scheduled = false;
  };
}

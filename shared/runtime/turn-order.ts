import type { Message } from "../protocol/index.js";

/**
 * Data messages that arrived in one turn of the event loop, released in virtual order: earliest
 * stripe head first, arrival order among equals. A NATS actor shell holds a switch's data here until
 * the turn ends (nats-actor.ts); anything else it receives releases the held data first, so data
 * never passes a control message or a report it came before.
 */
export class TurnOrder {
  private readonly held: { subject: string; msg: Message; earliest: number; seq: number }[] = [];

  get size(): number { return this.held.length; }

  /** Holds a data message (true), or refuses anything else (false: release, then handle it). */
  hold(subject: string, msg: Message): boolean {
    if (msg.type !== "data") return false;
    let earliest = Infinity;
    for (const p of msg.parts) earliest = Math.min(earliest, p.headNs);
    this.held.push({ subject, msg, earliest, seq: this.held.length });
    return true;
  }

  /** Everything held, in virtual order; empties the buffer. */
  release(): { subject: string; msg: Message }[] {
    return this.held.splice(0).sort((a, b) => a.earliest - b.earliest || a.seq - b.seq);
  }
}

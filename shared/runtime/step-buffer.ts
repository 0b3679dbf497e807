import type { ActorRef, Message } from "../protocol/index.js";
import type { SimNs } from "../units/index.js";
import type { Outbound, Step } from "./actor.js";

/**
 * A logic's one reusable step: its outbound list, emptied for each message without giving up the
 * room it grew to (a fresh `[]` gets 17 slots at its first push: ~180 B for a message that sends one),
 * and the step object that returns it. Valid until the next message to any actor of that logic —
 * engines read a step's outbound before they hand any actor another (ActorLogic's contract). One per
 * logic rather than per actor: it stays in cache, where 832 actors' own were a miss or two per message.
 */
export class StepBuffer<S> {
  private readonly out: Outbound[] = [];
  private readonly step: { state: S | undefined; outbound: readonly Outbound[] } = { state: undefined, outbound: this.out };

  /** The empty outbound list for this message (pop keeps the array's room; `length = 0` would not). */
  begin(): Outbound[] {
    const o = this.out;
    while (o.length > 0) o.pop();
    return o;
  }

  /** The step: `state`, sending `outbound` (the list from `begin`, or what wire faults made of it). */
  end(state: S, outbound: readonly Outbound[]): Step<S> {
    this.step.state = state;
    this.step.outbound = outbound;
    return this.step as Step<S>;
  }
}

/**
 * Outbound entries by their position in a step's list, reused from step to step under the same
 * contract as StepBuffer: an engine reads a step's list before any actor gets its next message, so
 * entry k of one step is free again at the next. A hot path's sends allocate no entry (and no heap
 * number for its time) per message.
 */
const ENTRIES: { to: ActorRef; atNs: SimNs; msg: Message }[] = [];

/** Appends (to, atNs, msg) to a step's outbound list in the reused entry of its position. */
export function pushReused(out: Outbound[], to: ActorRef, atNs: number, msg: Message): void {
  const k = out.length;
  let e = ENTRIES[k];
  if (e === undefined) ENTRIES[k] = e = { to, atNs: atNs as SimNs, msg };
  else { e.to = to; e.atNs = atNs as SimNs; e.msg = msg; }
  out.push(e);
}

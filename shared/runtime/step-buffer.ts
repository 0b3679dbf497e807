import type { Outbound, Step } from "./actor.js";

/**
 * An actor's one reusable step: its outbound list, emptied for each message without giving up the
 * room it grew to (a fresh `[]` gets 17 slots at its first push: ~180 B for a message that sends one),
 * and the step object that returns it. Valid until the actor's next message — engines read a step's
 * outbound before they hand that actor another (ActorLogic's contract).
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

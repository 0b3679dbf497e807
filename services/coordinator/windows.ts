import { encode } from "../../shared/codec/index.js";
import { RunError } from "../../shared/errors/index.js";
import { COORDINATOR, PROTOCOL_VERSION, type WindowReportMsg } from "../../shared/protocol/index.js";
import type { Topology } from "../../shared/topology/index.js";
import type { SimNs } from "../../shared/units/index.js";

/**
 * The lookahead of `deployment.timing: exact`: half the smallest link latency. Nothing an actor
 * handles at t can reach another actor before t plus a link's latency (a switch adds its own, an
 * endpoint its overhead), so events inside [m, m + lookahead) cannot cause one another; half, so that
 * float rounding in the sums that make a handling time can never put a caused event inside.
 */
export function lookaheadNs(t: Topology): number {
  let min = Infinity;
  for (const l of t.links) min = Math.min(min, l.latencyNs);
  if (!(min > 0)) throw new RunError("deployment.timing: exact needs every link's latency above 0 ns (it is the lookahead of the windows); this fabric has a link of 0 ns");
  return min / 2;
}

/**
 * One op's conservative windows of virtual time (docs/nats-engine.md §9.1), driven by the
 * coordinator: window w lets every actor handle the data it holds that it would handle before
 * `untilNs`, in virtual order; each actor answers with its cumulative data counts and its earliest
 * held time. When every actor has answered window w and all data sent has been received (the sums
 * agree: nothing in flight), the next window starts at the earliest held time anywhere, plus the
 * lookahead. The first window (until the op's start) only takes the counts after the op-starts.
 * Between windows the op's actors are all idle, so each port serves in virtual order, as in the sim.
 */
export class Windows {
  private readonly reports = new Map<number, WindowReportMsg>();
  private wake: (() => void) | undefined;
  private stopped = false;
  /** Windows this op took. */
  count = 0;

  constructor(
    private readonly op: number,
    private readonly epoch: number,
    private readonly actors: readonly number[],
    private readonly lookahead: number,
    private readonly send: (to: number, bytes: Uint8Array) => void,
  ) {}

  /** A report for this op (the engine checked it comes from the actor it names). */
  onReport(m: WindowReportMsg): void {
    this.reports.set(m.from, m);
    this.wake?.();
  }

  /** Ends the loop (the op finished or stalled). */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Runs windows until stopped. */
  async run(startNs: number): Promise<void> {
    let untilNs = startNs;
    for (let w = 0; !this.stopped; w++) {
      this.count = w + 1;
      const bytes = encode({ v: PROTOCOL_VERSION, type: "window", from: COORDINATOR, epoch: this.epoch, inc: 0, op: this.op, window: w, untilNs: untilNs as SimNs });
      for (const id of this.actors) this.send(id, bytes);
      let next: number | undefined;
      while (!this.stopped && (next = this.settled(w)) === undefined) await new Promise<void>((r) => { this.wake = r; });
      if (this.stopped) return;
      // Nothing held anywhere and nothing in flight: the op is done (op-done stops us) or stuck (the watchdog's).
      if (next === Infinity) { while (!this.stopped) await new Promise<void>((r) => { this.wake = r; }); return; }
      untilNs = next! + this.lookahead;
    }
  }

  /** The earliest held time once window w has settled (Infinity: nothing held); undefined while not. */
  private settled(w: number): number | undefined {
    let sent = 0, received = 0, next = Infinity;
    for (const id of this.actors) {
      const r = this.reports.get(id);
      if (!r || r.window !== w) return undefined;
      sent += r.sent;
      received += r.received;
      if (r.nextNs !== undefined && r.nextNs < next) next = r.nextNs;
    }
    return sent === received ? next : undefined;
  }
}

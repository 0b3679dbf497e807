import { acceptFault, FaultTable, type FaultTally } from "../../shared/faults/index.js";
import type { FaultMsg } from "../../shared/protocol/index.js";
import type { ActorContext } from "../../shared/runtime/index.js";

/** The part of an actor's state that holds its faults (created with the first fault it takes), and what they did. */
export interface FaultHolder {
  faults: FaultTable | undefined;
  /** What this actor's faults did to the data it sent (lost, corrupted, duplicated, reordered, waited). */
  readonly tally: FaultTally;
}

/**
 * A fault message reaches an endpoint or a switch: taken into its table (and applied from the fault's
 * op on, docs/chaos.md), or refused and counted (a fault that is not this actor's, for an op already
 * begun here, or seen before). `highestOp`: the last op this actor started or opened.
 */
export function takeFault(s: FaultHolder, m: FaultMsg, ctx: ActorContext, highestOp: number): void {
  const table = s.faults ?? new FaultTable(ctx.topology);
  const refused = acceptFault(table, m, ctx.self, ctx.topology, highestOp);
  if (refused) {
    ctx.reject(refused[0], m.from, { fault: m.fault, kind: m.kind }, `fault refused: ${refused[1]}`);
    return;
  }
  s.faults = table;
  ctx.log.debug({ fault: m.fault, kind: m.kind, targets: m.targets.length, fromOp: m.fromOp, untilOp: m.untilOp }, "fault taken");
}

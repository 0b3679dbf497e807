import { inputFor, type Delivered, type Program } from "../../shared/collectives/index.js";
import { programFor } from "../../shared/workload/index.js";
import { reductionNs, rooflineNs, streamedComputeEnd } from "../../shared/linkmodel/index.js";
import { TAG_LIMIT, type MoeRankPart, type OpSpec } from "../../shared/protocol/index.js";
import type { NpuId } from "../../shared/units/index.js";
import { Reassembly } from "./reassembly.js";

/** Key of a transfer within an op: (source rank, tag). */
export const transferKey = (fromRank: number, tag: number): number => fromRank * TAG_LIMIT + tag;
export const splitTransferKey = (key: number): { fromRank: number; tag: number } =>
  ({ fromRank: Math.floor(key / TAG_LIMIT), tag: key % TAG_LIMIT });

/** One endpoint's part in one collective: its program, its clock for the op, and what has arrived. */
export class OpRun {
  readonly rankOf = new Map<NpuId, number>();
  readonly mailbox = new Map<number, Delivered>();
  /** Stripes in so far, per transfer; it also refuses a stripe seen before (a replay). */
  readonly reassembly: Reassembly;
  readonly program: Program;
  waitingFor: number | undefined;
  nowNs: number;
  sent = 0;
  readonly marks: number[] = [];
  tally: readonly number[] | undefined;

  constructor(readonly spec: OpSpec, readonly rank: number, readonly epoch: number, readonly startNs: number, moePart?: MoeRankPart, maxTransfers = Infinity) {
    this.reassembly = new Reassembly(maxTransfers);
    spec.group.forEach((id, r) => this.rankOf.set(id, r));
    this.nowNs = startNs;
    this.program = programFor(spec, { rank, size: spec.group.length, spec, input: inputFor(spec, rank), moePart });
  }
}

/** What driving a program until it blocks produced. */
export type DriveOutcome =
  | { readonly kind: "blocked" }
  | { readonly kind: "done"; readonly result: Float64Array };

export interface DriveEffects {
  send(to: number, tag: number, bytes: number, data: Float64Array): void;
  /** The endpoint's compute engine: free from this virtual time on. */
  computeFreeNs: number;
}

/**
 * Runs the program until it waits for a transfer that has not arrived, or returns. Virtual time moves
 * only by deliveries and compute, never by the order in which messages happened to arrive.
 */
export function drive(run: OpRun, resumeWith: Delivered | undefined, fx: DriveEffects, model: Parameters<typeof reductionNs>[2]): DriveOutcome {
  let r = run.program.next(resumeWith);
  for (;;) {
    if (r.done) return { kind: "done", result: r.value };
    const cmd = r.value;
    switch (cmd.kind) {
      case "send":
        fx.send(cmd.to, cmd.tag, cmd.bytes, cmd.data);
        run.sent++;
        r = run.program.next(undefined);
        break;
      case "recv": {
        const key = transferKey(cmd.from, cmd.tag);
        const d = run.mailbox.get(key);
        if (!d) { run.waitingFor = key; return { kind: "blocked" }; }
        run.mailbox.delete(key);
        run.waitingFor = undefined;
        run.nowNs = Math.max(run.nowNs, d.deliveredNs);
        r = run.program.next(d);
        break;
      }
      case "reduce": {
        const cost = reductionNs(cmd.bytes, run.spec.elementBytes, model);
        const end = streamedComputeEnd(cmd.operand.firstByteNs, cmd.operand.deliveredNs, fx.computeFreeNs, cost);
        fx.computeFreeNs = end;
        run.nowNs = Math.max(run.nowNs, end);
        r = run.program.next(undefined);
        break;
      }
      case "compute": {
        const end = Math.max(fx.computeFreeNs, run.nowNs) + rooflineNs(cmd.flops, cmd.hbmBytes, model);
        fx.computeFreeNs = end;
        if (!cmd.background) run.nowNs = end;
        r = run.program.next(undefined);
        break;
      }
      case "mark":
        run.marks.push(run.nowNs);
        r = run.program.next(undefined);
        break;
      case "tally":
        run.tally = cmd.values;
        r = run.program.next(undefined);
        break;
      default: {
        const never: never = cmd;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  }
}

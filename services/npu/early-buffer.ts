import type { DataMsg } from "../../shared/protocol/index.js";
import type { ActorLimits } from "../../shared/runtime/index.js";

/** What a buffered message is charged besides its payloads: the envelope, and each stripe's fields. */
const MESSAGE_OVERHEAD_BYTES = 128;
const PART_OVERHEAD_BYTES = 96;

function bytesOf(m: DataMsg): number {
  let n = MESSAGE_OVERHEAD_BYTES;
  for (const p of m.parts) n += PART_OVERHEAD_BYTES + p.payload.byteLength;
  return n;
}

/**
 * Data messages for ops that have not started here yet (possible when transport order differs from
 * causal order), bounded three ways: ops, messages per sender, and bytes per actor. What does not fit
 * is refused — the caller counts it as overflow — so a flood for a future op cannot grow memory.
 */
export class EarlyBuffer {
  private readonly byOp = new Map<number, DataMsg[]>();
  private readonly perSender = new Map<number, number>();
  private bytes = 0;

  constructor(private readonly limits: ActorLimits) {}

  /** Keeps the message; or says why not. */
  add(m: DataMsg): string | undefined {
    const list = this.byOp.get(m.op);
    if (!list && this.byOp.size >= this.limits.openOps) return `${this.byOp.size} ops already have early messages here`;
    const fromSender = this.perSender.get(m.from) ?? 0;
    if (fromSender >= this.limits.earlyMessagesPerSender) return `${fromSender} early messages from this sender already`;
    const size = bytesOf(m);
    if (this.bytes + size > this.limits.earlyBytesPerActor) return `early buffer holds ${this.bytes} of ${this.limits.earlyBytesPerActor} bytes`;
    this.perSender.set(m.from, fromSender + 1);
    this.bytes += size;
    if (list) list.push(m);
    else this.byOp.set(m.op, [m]);
    return undefined;
  }

  /** Removes and returns the op's messages in arrival order. */
  take(op: number): DataMsg[] {
    const list = this.byOp.get(op);
    if (!list) return [];
    this.byOp.delete(op);
    for (const m of list) {
      this.bytes -= bytesOf(m);
      const n = (this.perSender.get(m.from) ?? 1) - 1;
      if (n > 0) this.perSender.set(m.from, n);
      else this.perSender.delete(m.from);
    }
    return list;
  }

  get heldBytes(): number { return this.bytes; }
}

import { Collective, type OpSpec } from "../protocol/index.js";
import { splitOffsets } from "../units/index.js";
import { a2avElements, inputFor } from "./data.js";

/**
 * Expected outputs computed directly from every rank's input — not by running any algorithm — so a
 * run is checked against an independent reference. Sums are of small integers: exact.
 */
export class Reference {
  private held: Float64Array[] | undefined;
  private sum: Float64Array | undefined;

  constructor(private readonly spec: OpSpec) {}

  /**
   * Every rank's input, made on first use: n ranks × n elements at `ranks: all` (8,192² × 8 B = 512 MB),
   * so an all-reduce, which needs only their sum, never holds them all.
   */
  private get inputs(): Float64Array[] {
    return (this.held ??= this.spec.group.map((_, r) => inputFor(this.spec, r)));
  }

  expected(rank: number): Float64Array {
    const n = this.spec.group.length, L = this.spec.realElements;
    switch (this.spec.collective) {
      case Collective.AllReduce: return this.total();
      case Collective.ReduceScatter: {
        const off = splitOffsets(L, n);
        return this.total().slice(off[rank]!, off[rank + 1]!);
      }
      case Collective.AllGather: {
        const out = new Float64Array(L);
        const off = splitOffsets(L, n);
        this.inputs.forEach((inp, q) => out.set(inp, off[q]!));
        return out;
      }
      case Collective.AllToAll: {
        const off = splitOffsets(L, n);
        const out = new Float64Array(L);
        this.inputs.forEach((inp, q) => out.set(inp.subarray(off[rank]!, off[rank + 1]!), off[q]!));
        return out;
      }
      case Collective.AllToAllV: {
        const parts: number[] = [];
        this.inputs.forEach((inp, q) => {
          let start = 0;
          for (let j = 0; j < rank; j++) start += a2avElements(this.spec.seed, q, j);
          parts.push(...inp.subarray(start, start + a2avElements(this.spec.seed, q, rank)));
        });
        return Float64Array.from(parts);
      }
      case Collective.Broadcast: return this.inputs[this.spec.root]!.slice();
      case Collective.MoeLayer: throw new Error("a moe-layer is checked against shared/moe's reference (coordinator/moe-collect.ts)");
      case Collective.TrainingStep: throw new Error("a training step is checked by the training workload (coordinator/training-collect.ts)");
      default: {
        const never: never = this.spec.collective;
        throw new Error(`unknown collective ${String(never)}`);
      }
    }
  }

  /** Compares a rank's output with the reference; returns a description of the first mismatch, or undefined. */
  check(rank: number, got: Float64Array): string | undefined {
    const want = this.expected(rank);
    if (got.length !== want.length) return `rank ${rank}: ${got.length} elements, expected ${want.length}`;
    for (let i = 0; i < want.length; i++) {
      if (got[i] !== want[i]) return `rank ${rank}: element ${i} is ${got[i]}, expected ${want[i]}`;
    }
    return undefined;
  }

  private total(): Float64Array {
    if (!this.sum) {
      const s = new Float64Array(this.spec.realElements);
      for (let r = 0; r < this.spec.group.length; r++) {
        const inp = this.held?.[r] ?? inputFor(this.spec, r);
        for (let i = 0; i < s.length; i++) s[i] = (s[i] as number) + (inp[i] as number);
      }
      this.sum = s;
    }
    return this.sum;
  }
}

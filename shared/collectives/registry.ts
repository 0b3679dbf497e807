import { Collective } from "../protocol/index.js";

/** NCCL-tests' bus-bandwidth factors (PERFORMANCE.md of nccl-tests): busbw = algbw × factor. */
export function busBwFactor(c: Collective, n: number): number {
  switch (c) {
    case Collective.AllReduce: return (2 * (n - 1)) / n;
    case Collective.ReduceScatter:
    case Collective.AllGather:
    case Collective.AllToAll:
    case Collective.AllToAllV: return (n - 1) / n;
    case Collective.Broadcast:
    case Collective.MoeLayer:
    case Collective.TrainingStep: return 1;
    default: {
      const never: never = c;
      throw new Error(`unknown collective ${String(never)}`);
    }
  }
}

import { Algorithm, Collective, type OpSpec } from "../protocol/index.js";
import { directAllReduce, hierarchicalAllReduce, ringAllReduce } from "./all-reduce.js";
import { directAllToAll, directAllToAllV } from "./all-to-all.js";
import { directBroadcast, pipelineBroadcast } from "./broadcast.js";
import { ringAllGatherOp, ringReduceScatterOp } from "./gather-scatter.js";
import { halvingDoublingAllReduce } from "./halving-doubling.js";
import type { Program, ProgramEnv } from "./program.js";
import { moeLayerProgram } from "../moe/program.js";
import { hierarchicalMoeProgram } from "../moe/hier-program.js";

type Factory = (env: ProgramEnv) => Program;

/** Every (collective, algorithm) that exists; the first algorithm listed is the default. */
export const ALGORITHMS: Readonly<Record<Collective, Readonly<Partial<Record<Algorithm, Factory>>>>> = {
  [Collective.AllReduce]: {
    [Algorithm.Ring]: ringAllReduce,
    [Algorithm.Hierarchical]: hierarchicalAllReduce,
    [Algorithm.Direct]: directAllReduce,
    [Algorithm.HalvingDoubling]: halvingDoublingAllReduce,
  },
  [Collective.ReduceScatter]: { [Algorithm.Ring]: ringReduceScatterOp },
  [Collective.AllGather]: { [Algorithm.Ring]: ringAllGatherOp },
  [Collective.AllToAll]: { [Algorithm.Direct]: directAllToAll },
  [Collective.AllToAllV]: { [Algorithm.Direct]: directAllToAllV },
  [Collective.Broadcast]: { [Algorithm.Pipeline]: pipelineBroadcast, [Algorithm.Direct]: directBroadcast },
  [Collective.MoeLayer]: { [Algorithm.Direct]: moeLayerProgram, [Algorithm.Hierarchical]: hierarchicalMoeProgram },
};

export function algorithmsOf(c: Collective): Algorithm[] {
  return Object.keys(ALGORITHMS[c]) as Algorithm[];
}

export function programFor(spec: OpSpec, env: ProgramEnv): Program {
  const f = ALGORITHMS[spec.collective][spec.algorithm];
  if (!f) throw new Error(`no ${spec.algorithm} algorithm for ${spec.collective}`);
  return f(env);
}

/** NCCL-tests' bus-bandwidth factors (PERFORMANCE.md of nccl-tests): busbw = algbw × factor. */
export function busBwFactor(c: Collective, n: number): number {
  switch (c) {
    case Collective.AllReduce: return (2 * (n - 1)) / n;
    case Collective.ReduceScatter:
    case Collective.AllGather:
    case Collective.AllToAll:
    case Collective.AllToAllV: return (n - 1) / n;
    case Collective.Broadcast:
    case Collective.MoeLayer: return 1;
    default: {
      const never: never = c;
      throw new Error(`unknown collective ${String(never)}`);
    }
  }
}

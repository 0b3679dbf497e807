import { Algorithm, Collective, type OpSpec } from "../protocol/index.js";
import {
  directAllReduce, directAllToAll, directAllToAllV, directBroadcast, halvingDoublingAllReduce, hierarchicalAllReduce, hierarchicalHdAllReduce,
  pipelineBroadcast, ringAllGatherOp, ringAllReduce, ringReduceScatterOp, type Program, type ProgramEnv,
} from "../collectives/index.js";
import { hierarchicalMoeProgram, moeLayerProgram } from "../moe/index.js";
import { trainingStepProgram } from "./training/index.js";

/**
 * The registry of every program an op can run, by (collective, algorithm). It lives with the
 * workloads, above collectives and moe, so that neither of those imports the other.
 */

type Factory = (env: ProgramEnv) => Program;

/** Every (collective, algorithm) that exists; the first algorithm listed is the default. */
export const ALGORITHMS: Readonly<Record<Collective, Readonly<Partial<Record<Algorithm, Factory>>>>> = {
  [Collective.AllReduce]: {
    [Algorithm.Ring]: ringAllReduce,
    [Algorithm.Hierarchical]: hierarchicalAllReduce,
    [Algorithm.HierarchicalHd]: hierarchicalHdAllReduce,
    [Algorithm.Direct]: directAllReduce,
    [Algorithm.HalvingDoubling]: halvingDoublingAllReduce,
  },
  [Collective.ReduceScatter]: { [Algorithm.Ring]: ringReduceScatterOp },
  [Collective.AllGather]: { [Algorithm.Ring]: ringAllGatherOp },
  [Collective.AllToAll]: { [Algorithm.Direct]: directAllToAll },
  [Collective.AllToAllV]: { [Algorithm.Direct]: directAllToAllV },
  [Collective.Broadcast]: { [Algorithm.Pipeline]: pipelineBroadcast, [Algorithm.Direct]: directBroadcast },
  [Collective.MoeLayer]: { [Algorithm.Direct]: moeLayerProgram, [Algorithm.Hierarchical]: hierarchicalMoeProgram },
  [Collective.TrainingStep]: { [Algorithm.Direct]: trainingStepProgram },
};

export function algorithmsOf(c: Collective): Algorithm[] {
  return Object.keys(ALGORITHMS[c]) as Algorithm[];
}

export function programFor(spec: OpSpec, env: ProgramEnv): Program {
  const f = ALGORITHMS[spec.collective][spec.algorithm];
  if (!f) throw new Error(`no ${spec.algorithm} algorithm for ${spec.collective}`);
  return f(env);
}

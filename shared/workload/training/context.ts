import { call, clockOf, NOW, type Program } from "../../collectives/index.js";
import type { Kernel } from "../../compute/index.js";
import type { TrainingSpec } from "../../protocol/index.js";
import { Tags } from "./comm.js";
import type { RankPlace } from "./groups.js";
import { StepKernels } from "./kernels.js";
import type { ShardBlock } from "./layout.js";

/** Virtual time a rank's main stream spent, by kind (ns); the DP stream's busy time beside it. */
export interface StepTimes {
  computeNs: number;
  tpNs: number;
  epNs: number;
  /** Busy time of the gradient-sync stream (overlapped or not), and the main stream's wait for it. */
  dpNs: number;
  dpExposedNs: number;
}

/** What a rank's step program works with. */
export interface StepCtx {
  readonly t: TrainingSpec;
  readonly place: RankPlace;
  readonly blocks: readonly ShardBlock[];
  readonly params: Float64Array;
  readonly grads: Float64Array;
  readonly k: StepKernels;
  readonly tags: Tags;
  readonly times: StepTimes;
  /** Real tokens per rank per micro-step, and the modelled tokens each stands for. */
  readonly tokens: number;
  readonly scale: number;
  /** Op ranks per node (hierarchical gradient sync). */
  readonly nodeGroups: readonly (readonly number[])[];
  /** Where the program is, for the names of trace spans (`fwd L3`, `bwd L0`). */
  where: string;
  /** Gradient buckets made so far this step (their trace names: `DP bucket 2`). */
  buckets: number;
}

export function stepCtx(t: TrainingSpec, place: RankPlace, blocks: readonly ShardBlock[], params: Float64Array, nodeGroups: readonly (readonly number[])[]): StepCtx {
  const k = new StepKernels(t);
  return {
    t, place, blocks, params, grads: new Float64Array(params.length), k, tags: new Tags(),
    times: { computeNs: 0, tpNs: 0, epNs: 0, dpNs: 0, dpExposedNs: 0 },
    tokens: t.numerics.tokensPerRank, scale: k.tokens / t.numerics.tokensPerRank, nodeGroups, where: "", buckets: 0,
  };
}

/** Runs full-size kernels on the compute engine (`times` × each), counting their time as compute. */
export function* kernels(c: StepCtx, list: readonly Kernel[], times = 1, background = false): Program<void> {
  if (times <= 0 || list.length === 0) return;
  const t0 = clockOf(yield NOW); // timed() inlined, here and in comm(): one `yield*` level less per command
  for (const kn of list) {
    const cost = c.k.cost(kn, times);
    yield { kind: "compute", flops: cost.flops, hbmBytes: cost.hbmBytes, background, label: { cls: kn.cls, flops: kn.flops * times } };
  }
  const ns = clockOf(yield NOW) - t0;
  if (!background) c.times.computeNs += ns;
}

/** Runs a communication step of the main stream, counting its (exposed) time under `kind`. */
export function* comm<T>(c: StepCtx, kind: "tpNs" | "epNs", p: Program<T>): Program<T> {
  const t0 = clockOf(yield NOW);
  const value = yield* call(p); // the exchanges and TP collectives: most of a step's commands
  c.times[kind] += clockOf(yield NOW) - t0;
  return value;
}

export const snapshot = (s: StepTimes): StepTimes => ({ ...s });

/** Adds (after − before) × factor to `s`: the time of `factor` more layers like the one just emulated. */
export function repeatInto(s: StepTimes, before: StepTimes, after: StepTimes, factor: number): void {
  for (const key of ["computeNs", "tpNs", "epNs"] as const) s[key] += (after[key] - before[key]) * factor;
}

import type { Gating, MoeShape } from "../moe/types.js";
import { ScenarioError } from "../errors/index.js";
import { DEFAULT_CHUNK_TOKENS } from "../moe/program.js";
import type { RawMoeWorkload } from "./moe-schema.js";

/** Defaults of a moe-layer workload: the DeepSeek-V3 layer (hardware.md §6) with CM384 message sizes (§2.3). */
export const MOE_DEFAULTS = {
  hidden: 7168, experts: 256, topK: 8, expertIntermediate: 2048, sharedExperts: 0, tokensPerRank: 128,
} as const;
/** CM384's dispatch message pads the INT8 token's 4-byte scale to 512 B (7168 + 512 = 7.5 KB). */
export const DISPATCH_SCALE_PAD_BYTES = 512;

/** How replicas are chosen before the topology and the seed are known. */
export type ReplicaChoice =
  | { readonly kind: "list"; readonly list: readonly { readonly expert: number; readonly copies: number }[] }
  | { readonly kind: "hottest"; readonly hottest: number; readonly copies: number };

/** A resolved moe-layer workload; `shape.ep` is "all" (the most endpoints that divide the experts) until the topology is known. */
export interface MoeWorkload {
  readonly kind: "moe-layer";
  readonly algorithm: "direct" | "hierarchical";
  readonly chunkTokens: number;
  readonly shape: Omit<MoeShape, "ep" | "replicas"> & { readonly ep: number | "all" };
  readonly gating: Gating | { readonly kind: "fixed"; readonly file: string };
  readonly replicas: ReplicaChoice;
  /** capacityFactor was omitted: no limit (shape.capacityFactor is then experts / topK, which never drops). */
  readonly unlimitedCapacity: boolean;
}

export function resolveMoeWorkload(w: RawMoeWorkload, at: string): MoeWorkload {
  const hidden = w.hidden ?? MOE_DEFAULTS.hidden, experts = w.experts ?? MOE_DEFAULTS.experts, topK = w.topK ?? MOE_DEFAULTS.topK;
  if (w.capacityFactor !== undefined && !(w.capacityFactor > 0)) throw new ScenarioError(`${at}.capacityFactor`, `must be > 0 (omit it for no capacity limit), got ${w.capacityFactor}`);
  return {
    kind: "moe-layer",
    algorithm: w.algorithm ?? "direct",
    chunkTokens: w.chunkTokens ?? DEFAULT_CHUNK_TOKENS,
    shape: {
      hidden, experts, topK,
      expertIntermediate: w.expertIntermediate ?? MOE_DEFAULTS.expertIntermediate,
      sharedExperts: w.sharedExperts ?? MOE_DEFAULTS.sharedExperts,
      tokensPerRank: w.tokensPerRank ?? MOE_DEFAULTS.tokensPerRank,
      ep: w.ep ?? "all",
      dispatchBytesPerToken: w.dispatchBytesPerToken ?? hidden + DISPATCH_SCALE_PAD_BYTES,
      combineBytesPerToken: w.combineBytesPerToken ?? 2 * hidden,
      weightBytes: w.weightBytes ?? 1,
      capacityFactor: w.capacityFactor ?? experts / Math.max(1, topK),
      ...(w.nodeLimit !== undefined ? { nodeLimit: w.nodeLimit } : {}),
      replicaPolicy: w.replicaPolicy ?? "round-robin",
    },
    gating: resolveGating(w.gating, at),
    replicas: w.replicas === undefined ? { kind: "list", list: [] }
      : Array.isArray(w.replicas) ? { kind: "list", list: w.replicas }
        : { kind: "hottest", hottest: w.replicas.hottest, copies: w.replicas.copies ?? 1 },
    unlimitedCapacity: w.capacityFactor === undefined,
  };
}

function resolveGating(g: RawMoeWorkload["gating"], at: string): MoeWorkload["gating"] {
  if (g === undefined) return { kind: "uniform" };
  if (g.kind !== "fixed") return g;
  if ((g.assignments === undefined) === (g.file === undefined)) throw new ScenarioError(`${at}.gating`, "fixed gating needs exactly one of assignments or file");
  return g.file !== undefined ? { kind: "fixed", file: g.file } : { kind: "fixed", assignments: g.assignments! };
}

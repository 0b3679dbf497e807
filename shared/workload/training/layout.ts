import type { TrainingSpec } from "../../protocol/index.js";
import type { RankPlace } from "./groups.js";
import { sym } from "./rng.js";

/** Kinds of parameter blocks (docs/training.md §1.2: the kind coordinate of their random stream). */
export const BlockKind = { A: 1, W1: 2, W2: 3, G: 4, W1e: 5, W2e: 6, S1: 7, S2: 8 } as const;
export type BlockKind = (typeof BlockKind)[keyof typeof BlockKind];

/** One matrix of the tiny model, in the canonical flat order (that of the reference trainer). */
export interface FullBlock {
  readonly layer: number;
  readonly kind: BlockKind;
  /** Expert or shared-expert index; 0 for other blocks. */
  readonly index: number;
  readonly rows: number;
  readonly cols: number;
  readonly offset: number;
  /** Scale of its initial values: factor / √cols. */
  readonly factor: number;
}

/** Tiny widths of a step's numerics. */
export const dims = (t: TrainingSpec) => ({ h: t.numerics.hidden, f: t.numerics.expertHidden, E: t.shape.experts, S: t.shape.sharedExperts });

/** Every block of the tiny model, in canonical order, with its offset in the flat vector. */
export function fullBlocks(t: TrainingSpec): FullBlock[] {
  const { h, f, E, S } = dims(t);
  const out: FullBlock[] = [];
  let offset = 0;
  const add = (layer: number, kind: BlockKind, index: number, rows: number, cols: number, factor: number) => {
    out.push({ layer, kind, index, rows, cols, offset, factor });
    offset += rows * cols;
  };
  t.layers.forEach((l, layer) => {
    add(layer, BlockKind.A, 0, h, h, 0.3);
    if (l.kind === "dense") { add(layer, BlockKind.W1, 0, f, h, 1); add(layer, BlockKind.W2, 0, h, f, 0.5); return; }
    add(layer, BlockKind.G, 0, E, h, 1);
    for (let e = 0; e < E; e++) { add(layer, BlockKind.W1e, e, f, h, 1); add(layer, BlockKind.W2e, e, h, f, 0.5); }
    for (let s = 0; s < S; s++) { add(layer, BlockKind.S1, s, f, h, 1); add(layer, BlockKind.S2, s, h, f, 0.5); }
  });
  return out;
}

export const fullLength = (t: TrainingSpec): number => fullBlocks(t).reduce((n, b) => n + b.rows * b.cols, 0);

/** docs/training.md §1.2. */
export function initialParams(t: TrainingSpec): Float64Array {
  const blocks = fullBlocks(t);
  const out = new Float64Array(fullLength(t));
  for (const b of blocks) {
    const tag = 100000 * b.layer + 10000 * b.kind + b.index;
    for (let i = 0; i < b.rows; i++) for (let j = 0; j < b.cols; j++) out[b.offset + i * b.cols + j] = b.factor * sym(t.numerics.seed, tag, i, j) / Math.sqrt(b.cols);
  }
  return out;
}

/** The part of a full block one rank holds: rows [r0, r1) × columns [c0, c1), and which group reduces its gradient. */
export interface ShardBlock {
  readonly full: FullBlock;
  readonly r0: number;
  readonly r1: number;
  readonly c0: number;
  readonly c1: number;
  /** Offset in the rank's shard vector. */
  readonly at: number;
  /** Routed experts: reduced over the expert-DP group; everything else over the DP group. */
  readonly expert: boolean;
}

/**
 * The blocks one rank holds. TP (dense models) splits the attention matrix A by input columns
 * (row-parallel), a dense FFN's W1 by rows and W2 by columns (column- then row-parallel, Megatron-LM);
 * MoE layers (tp = 1) give a rank the router and shared experts whole and its routed experts.
 */
export function shardBlocks(t: TrainingSpec, p: RankPlace): ShardBlock[] {
  const tp = t.tp, j = p.tpRank;
  const held = new Set(p.experts);
  const out: ShardBlock[] = [];
  let at = 0;
  const add = (full: FullBlock, r0: number, r1: number, c0: number, c1: number, expert = false) => {
    out.push({ full, r0, r1, c0, c1, at, expert });
    at += (r1 - r0) * (c1 - c0);
  };
  for (const b of fullBlocks(t)) {
    switch (b.kind) {
      case BlockKind.A: { const w = b.cols / tp; add(b, 0, b.rows, j * w, (j + 1) * w); break; }
      case BlockKind.W1: { const w = b.rows / tp; add(b, j * w, (j + 1) * w, 0, b.cols); break; }
      case BlockKind.W2: { const w = b.cols / tp; add(b, 0, b.rows, j * w, (j + 1) * w); break; }
      case BlockKind.W1e: case BlockKind.W2e: if (held.has(b.index)) add(b, 0, b.rows, 0, b.cols, true); break;
      default: add(b, 0, b.rows, 0, b.cols);
    }
  }
  return out;
}

export const shardLength = (blocks: readonly ShardBlock[]): number => blocks.reduce((n, b) => n + (b.r1 - b.r0) * (b.c1 - b.c0), 0);

/** A rank's shard of a full parameter vector. */
export function toShard(full: Float64Array, blocks: readonly ShardBlock[]): Float64Array {
  const out = new Float64Array(shardLength(blocks));
  for (const b of blocks) {
    let k = b.at;
    for (let i = b.r0; i < b.r1; i++) for (let c = b.c0; c < b.c1; c++) out[k++] = full[b.full.offset + i * b.full.cols + c]!;
  }
  return out;
}

/** Writes a rank's shard into a full vector; returns the first element that differs from what `seen` says is already written, if any. */
export function fromShard(full: Float64Array, seen: Uint8Array, shard: Float64Array, blocks: readonly ShardBlock[]): number | undefined {
  let conflict: number | undefined;
  for (const b of blocks) {
    let k = b.at;
    for (let i = b.r0; i < b.r1; i++) {
      for (let c = b.c0; c < b.c1; c++) {
        const at = b.full.offset + i * b.full.cols + c, v = shard[k++]!;
        if (seen[at] && !Object.is(full[at], v)) conflict ??= at;
        full[at] = v;
        seen[at] = 1;
      }
    }
  }
  return conflict;
}

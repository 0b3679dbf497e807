import { advance, call, clockOf, fork, NOW, span, SPAN_END, type Program } from "../../collectives/index.js";
import { chunking } from "../../collectives/index.js";
import { allGather, allReduce, hierAllGather, hierOwned, hierReduceScatter, reduceScatter, tiersOf, type Tiers } from "./comm.js";
import type { StepCtx } from "./context.js";
import type { ShardBlock } from "./layout.js";

/**
 * One gradient bucket of one reduction group: the real gradients of the emulated layer it holds (or
 * one zero for buckets of counted layers only), reduced across the group as `bytes` modelled bytes.
 */
export interface Bucket {
  readonly group: readonly number[];
  readonly me: number;
  readonly vec: Float64Array;
  readonly blocks: readonly ShardBlock[];
  readonly bytes: number;
  /** Bytes of the updated parameters gathered back (ZeRO-1). */
  readonly paramBytes: number;
  readonly tag: number;
  readonly gatherTag: number;
  /** Hierarchical (node, then across nodes) collectives over the group, or undefined for the flat ring. */
  readonly tiers: Tiers | undefined;
  /** Its name in the trace: `DP bucket 2`, `expert-DP bucket 3`, `DP embedding bucket`. */
  readonly label: string;
}

const NO_BLOCKS: readonly ShardBlock[] = [];

/** Copies the gradients of `blocks` out of the rank's gradient vector, in block order. */
function gather(c: StepCtx, blocks: readonly ShardBlock[]): Float64Array {
  const n = blocks.reduce((s, b) => s + (b.r1 - b.r0) * (b.c1 - b.c0), 0);
  const out = new Float64Array(Math.max(1, n));
  let at = 0;
  for (const b of blocks) {
    const len = (b.r1 - b.r0) * (b.c1 - b.c0);
    out.set(c.grads.subarray(b.at, b.at + len), at);
    at += len;
  }
  return out;
}

/**
 * The buckets of `layers` layers of one kind: one for the weights every DP rank holds (reduced over
 * the DP group) and, in MoE layers, one for the routed experts (over the expert-DP group). `real`: the
 * emulated layer's gradients are in it.
 */
export function bucketsFor(c: StepCtx, layer: number, kind: "dense" | "moe", layers: number, real: boolean): Bucket[] {
  const p = c.k.layerParams(kind), gb = c.t.gradBytes;
  const mine = real ? c.blocks.filter((b) => b.full.layer === layer) : NO_BLOCKS;
  const make = (group: readonly number[], blocks: readonly ShardBlock[], params: number, label: string): Bucket => ({
    group, me: group.indexOf(c.place.rank), vec: real ? gather(c, blocks) : new Float64Array(1), blocks: real ? blocks : NO_BLOCKS,
    bytes: gb * params * layers, paramBytes: 2 * params * layers, tag: c.tags.next(), gatherTag: c.tags.next(), tiers: tiersFor(c, group),
    label: `${label} ${c.buckets++}`,
  });
  const out = [make(c.place.dpGroup, mine.filter((b) => !b.expert), p.dense, "DP bucket")];
  if (p.expert > 0) out.push(make(c.place.expertDpGroup, mine.filter((b) => b.expert), p.expert, "expert-DP bucket"));
  return out;
}

/** The embedding table and LM head (counted, no real weights in the tiny model): one bucket over DP. */
export function embeddingBucket(c: StepCtx): Bucket {
  const g = c.place.dpGroup;
  return {
    group: g, me: g.indexOf(c.place.rank), vec: new Float64Array(1), blocks: NO_BLOCKS, bytes: c.t.gradBytes * c.k.embeddingParams,
    paramBytes: 2 * c.k.embeddingParams, tag: c.tags.next(), gatherTag: c.tags.next(), tiers: tiersFor(c, g), label: "DP embedding bucket",
  };
}

/** `dpAlgorithm: hierarchical` over a group spread evenly over several nodes; else the flat ring. */
function tiersFor(c: StepCtx, group: readonly number[]): Tiers | undefined {
  return c.t.dpAlgorithm === "hierarchical" ? tiersOf(group, c.place.rank, c.nodeGroups) : undefined;
}

function* reduction(c: StepCtx, b: Bucket): Program<void> {
  if (!b.tiers) {
    yield* (c.t.zero === 1 ? reduceScatter(b.group, b.me, b.vec, b.bytes, b.tag) : allReduce(b.group, b.me, b.vec, b.bytes, b.tag));
    return;
  }
  yield* hierReduceScatter(b.tiers, b.vec, b.bytes, b.tag);
  if (c.t.zero === 0) yield* hierAllGather(b.tiers, b.vec, b.bytes, b.tag);
}

/** A bucket's reduction on the DP stream: all-reduce (ZeRO-0) or reduce-scatter (ZeRO-1), its time counted as DP communication. */
export function* reduceBucket(c: StepCtx, b: Bucket): Program<void> {
  const what = c.t.zero === 1 ? "reduce-scatter" : "all-reduce";
  yield span(`${b.label} ${what}${b.tiers ? " (hierarchical)" : ""}`, "dp", { bytes: b.bytes, ranks: b.group.length });
  const t0 = clockOf(yield NOW); // timed() inlined: one `yield*` level less on every DP ring command
  yield* call(reduction(c, b));
  const ns = clockOf(yield NOW) - t0;
  yield SPAN_END;
  c.times.dpNs += ns;
}

/** The elements of a bucket this rank updates: all (ZeRO-0), else the chunk its reduce-scatter left it. */
export function ownedRange(c: StepCtx, b: Bucket): [number, number] {
  if (c.t.zero === 0 || b.group.length < 2) return [0, b.vec.length];
  if (b.tiers) return hierOwned(b.tiers, b.vec.length);
  const ch = chunking(b.vec.length, b.bytes, b.group.length);
  return [ch.offsets[b.me]!, ch.offsets[b.me + 1]!];
}

/** Sends a bucket to the DP stream (it starts when its gradients exist and the stream is free). */
export function* startBucket(c: StepCtx, b: Bucket): Program<void> {
  yield* fork("dp", reduceBucket(c, b));
}

/**
 * The backward of `count` layers of one kind when only the first is emulated: the others take the
 * emulated one's time (`ns`) each, and their gradients leave in buckets of `bucketLayers` layers
 * (collected in `held`; without overlap they are reduced only after the backward).
 */
export function* countedBackward(c: StepCtx, layer: number, kind: "dense" | "moe", count: number, ns: number, sync: boolean, held: Bucket[]): Program<void> {
  const per = c.t.bucketLayers;
  let inBucket = 1, real = true;
  const flush = function* (): Program<void> {
    for (const b of sync ? bucketsFor(c, layer, kind, inBucket, real) : []) {
      held.push(b);
      if (c.t.overlap) yield* startBucket(c, b);
    }
    inBucket = 0;
    real = false;
  };
  for (let i = 1; i < count; i++) {
    if (inBucket === per) yield* flush();
    yield* advance(ns);
    inBucket++;
  }
  yield* flush();
}

/** ZeRO-1 after the update: each rank's updated chunk of every bucket goes to all (exposed on the main stream). */
export function* gatherParams(c: StepCtx, buckets: readonly Bucket[]): Program<void> {
  for (const b of buckets) {
    yield span(`${b.label} all-gather`, "dp", { bytes: b.paramBytes, ranks: b.group.length });
    const t0 = clockOf(yield NOW);
    yield* call(b.tiers ? hierAllGather(b.tiers, b.vec, b.paramBytes, b.gatherTag) : allGather(b.group, b.me, b.vec, b.paramBytes, b.gatherTag));
    const ns = clockOf(yield NOW) - t0;
    yield SPAN_END;
    c.times.dpNs += ns;
    c.times.dpExposedNs += ns;
  }
}

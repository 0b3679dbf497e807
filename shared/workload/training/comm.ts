import { chunking, clockOf, mod, NOW, received, recvCmd, ringAllGather, ringReduceScatter, sendCmd, type Program } from "../../collectives/index.js";
import { TAG_LIMIT } from "../../protocol/index.js";

/** Tags per collective instance of a step: ring steps and EP phases stay far below it. */
const TAG_SPAN = 1 << 20;

/**
 * Hands out disjoint tag ranges, one per collective instance, in program order: every rank runs the
 * same sequence of instances, so the ranks of one instance agree on its range.
 */
export class Tags {
  private n = 0;
  next(): number {
    const base = this.n++ * TAG_SPAN;
    if (base + TAG_SPAN > TAG_LIMIT) throw new Error(`a training step uses more than ${TAG_LIMIT / TAG_SPAN} collectives`);
    return base;
  }
}

/** Ring all-reduce of `buf` (in place) among `members` (op ranks, ring order); `me` is my position. */
export function* allReduce(members: readonly number[], me: number, buf: Float64Array, bytes: number, tagBase: number): Program<void> {
  if (members.length < 2) return;
  const c = chunking(buf.length, bytes, members.length);
  yield* ringReduceScatter(members, me, buf, c, tagBase);
  yield* ringAllGather(members, me, buf, c, tagBase + members.length);
}

/** Ring reduce-scatter of `buf` (in place): I end up owning reduced chunk `me`. */
export function* reduceScatter(members: readonly number[], me: number, buf: Float64Array, bytes: number, tagBase: number): Program<void> {
  if (members.length < 2) return;
  yield* ringReduceScatter(members, me, buf, chunking(buf.length, bytes, members.length), tagBase);
}

/** Ring all-gather of `buf` (in place), each rank contributing its chunk `me`. */
export function* allGather(members: readonly number[], me: number, buf: Float64Array, bytes: number, tagBase: number): Program<void> {
  if (members.length < 2) return;
  yield* ringAllGather(members, me, buf, chunking(buf.length, bytes, members.length), tagBase);
}

/**
 * One all-to-all-v round inside an EP group: `out[i]` (records of `width` numbers) goes to group
 * member i, modelled as copies × bytesPerCopy; one message to every peer even when empty (that is the
 * count exchange real dispatchers run first). Peers are taken me+1, me+2, … (each round a
 * permutation). Returns what each member sent me, by member; mine stays local.
 */
export function* exchange(group: readonly number[], me: number, out: readonly Float64Array[], width: number, bytesPerCopy: number, tagBase: number): Program<Float64Array[]> {
  const n = group.length;
  for (let j = 1; j < n; j++) {
    const to = mod(me + j, n);
    yield sendCmd(group[to]!, tagBase, (out[to]!.length / width) * bytesPerCopy, out[to]!);
  }
  const got: Float64Array[] = new Array(n);
  got[me] = out[me]!;
  for (let j = 1; j < n; j++) {
    const from = mod(me - j, n);
    got[from] = received(yield recvCmd(group[from]!, tagBase), group[from]!, tagBase).data;
  }
  return got;
}

/**
 * A dissemination barrier (⌈log2 n⌉ rounds of empty messages): every member leaves after the last one
 * arrived, plus the rounds' latency. Used before an emulated layer that stands for several, so that
 * the time it is measured at does not include waiting for a peer that started later.
 */
export function* barrier(group: readonly number[], me: number, tagBase: number): Program<void> {
  const n = group.length;
  for (let k = 0, d = 1; d < n; k++, d *= 2) {
    yield sendCmd(group[mod(me + d, n)]!, tagBase + k, 0, EMPTY);
    received(yield recvCmd(group[mod(me - d, n)]!, tagBase + k), group[mod(me - d, n)]!, tagBase + k);
  }
}
const EMPTY = new Float64Array(0);

/** Runs `p` and returns how long it took on this stream's clock, beside its result. */
export function* timed<T>(p: Program<T>): Program<{ value: T; ns: number }> {
  const t0 = clockOf(yield NOW);
  const value = yield* p;
  return { value, ns: clockOf(yield NOW) - t0 };
}

/**
 * A group's two tiers for hierarchical collectives: the members on my node (in group order) and, for
 * each node, the member with my local index. Undefined when nodes hold different numbers of members
 * (then the flat ring is used).
 */
export interface Tiers {
  readonly local: readonly number[];
  readonly peers: readonly number[];
  /** My index among `local`, and my node's among `peers`. */
  readonly lp: number;
  readonly node: number;
}

export function tiersOf(group: readonly number[], rank: number, nodeGroups: readonly (readonly number[])[]): Tiers | undefined {
  let byGroup = tiersMemo.get(nodeGroups);
  if (!byGroup) tiersMemo.set(nodeGroups, (byGroup = new WeakMap()));
  let byRank = byGroup.get(group);
  if (!byRank) byGroup.set(group, (byRank = new Map()));
  if (!byRank.has(rank)) byRank.set(rank, computeTiers(group, rank, nodeGroups));
  return byRank.get(rank);
}

/**
 * Tiers by (node groups, group, rank): a rank asks for the same group's tiers for every gradient
 * bucket (hundreds a step), and building them is O(group × nodes) with a map and a sort each time.
 * Tiers are read-only, so buckets may share them.
 */
const tiersMemo = new WeakMap<readonly (readonly number[])[], WeakMap<readonly number[], Map<number, Tiers | undefined>>>();

function computeTiers(group: readonly number[], rank: number, nodeGroups: readonly (readonly number[])[]): Tiers | undefined {
  const pos = new Map<number, number>();
  group.forEach((r, i) => { if (!pos.has(r)) pos.set(r, i); }); // first index, as indexOf gives
  const byNode = nodeGroups.map((g) => g.filter((r) => pos.has(r)).sort((a, b) => pos.get(a)! - pos.get(b)!)).filter((g) => g.length > 0);
  if (byNode.length < 2 || byNode.some((g) => g.length !== byNode[0]!.length) || byNode[0]!.length < 2) return undefined;
  const node = byNode.findIndex((g) => g.includes(rank));
  const lp = byNode[node]!.indexOf(rank);
  return { local: byNode[node]!, peers: byNode.map((g) => g[lp]!), lp, node };
}

/** The chunk of `length` elements a hierarchical reduce-scatter leaves with me: [lo, hi). */
export function hierOwned(t: Tiers, length: number): [number, number] {
  const intra = chunking(length, 0, t.local.length);
  const lo = intra.offsets[t.lp]!, inter = chunking(intra.offsets[t.lp + 1]! - lo, 0, t.peers.length);
  return [lo + inter.offsets[t.node]!, lo + inter.offsets[t.node + 1]!];
}

/** Intra-node ring reduce-scatter, then inter-node ring reduce-scatter of my chunk among same-index peers. */
export function* hierReduceScatter(t: Tiers, buf: Float64Array, bytes: number, tagBase: number): Program<void> {
  const intra = chunking(buf.length, bytes, t.local.length);
  yield* ringReduceScatter(t.local, t.lp, buf, intra, tagBase);
  const inter = chunking(intra.offsets[t.lp + 1]! - intra.offsets[t.lp]!, intra.bytes[t.lp]!, t.peers.length, intra.offsets[t.lp]!);
  yield* ringReduceScatter(t.peers, t.node, buf, inter, tagBase + t.local.length);
}

/** The reverse: inter-node all-gather of my sub-chunk, then intra-node all-gather. */
export function* hierAllGather(t: Tiers, buf: Float64Array, bytes: number, tagBase: number): Program<void> {
  const intra = chunking(buf.length, bytes, t.local.length);
  const inter = chunking(intra.offsets[t.lp + 1]! - intra.offsets[t.lp]!, intra.bytes[t.lp]!, t.peers.length, intra.offsets[t.lp]!);
  yield* ringAllGather(t.peers, t.node, buf, inter, tagBase + 2 * t.local.length);
  yield* ringAllGather(t.local, t.lp, buf, intra, tagBase + 2 * t.local.length + t.peers.length);
}

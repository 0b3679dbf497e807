import { chunking, chunkStart, chunkSlice } from "./chunks.js";
import { call, mod, phaseTag, recv, reduceInto, send, type Program, type ProgramEnv } from "./program.js";
import { allRanks, ringAllGather, ringReduceScatter } from "./ring.js";
import { halvingDoublingAmong } from "./halving-doubling.js";

/** Ring all-reduce: reduce-scatter then all-gather around one ring of all ranks. 2(n-1) steps of size/n. */
export function* ringAllReduce(env: ProgramEnv): Program {
  const buf = env.input; // the rank's own (ProgramEnv): no copy, n elements per rank at `ranks: all`
  const c = chunking(buf.length, env.spec.sizeBytes, env.size);
  // call(): the endpoint drives each phase directly, not through this frame at every command.
  yield* call(ringReduceScatter(allRanks(env), env.rank, buf, c, phaseTag(0, 0)));
  yield* call(ringAllGather(allRanks(env), env.rank, buf, c, phaseTag(1, 0)));
  return buf;
}

/**
 * Hierarchical all-reduce over G ranks per node and M nodes: intra-node ring reduce-scatter (chunk
 * size/G), inter-node ring all-reduce of my chunk among the ranks with my local index (size/(G·M)
 * per step), intra-node ring all-gather.
 */
export function* hierarchicalAllReduce(env: ProgramEnv): Program {
  const { myNode, local, lp, peers, buf, intra } = tiers(env);
  yield* call(ringReduceScatter(local, lp, buf, intra, phaseTag(0, 0)));
  const inter = chunking(intra.offsets[lp + 1]! - intra.offsets[lp]!, intra.bytes[lp]!, peers.length, chunkStart(intra, lp));
  yield* call(ringReduceScatter(peers, myNode, buf, inter, phaseTag(1, 0)));
  yield* call(ringAllGather(peers, myNode, buf, inter, phaseTag(2, 0)));
  yield* call(ringAllGather(local, lp, buf, intra, phaseTag(3, 0)));
  return buf;
}

/**
 * Hierarchical all-reduce with a halving-doubling inter-node phase: intra-node ring reduce-scatter,
 * halving-doubling all-reduce of my chunk among the ranks with my local index (2·log2 M exchanges
 * instead of the ring's 2(M−1), the same bytes), intra-node ring all-gather. What a collective library
 * picks across many nodes, where the inter-node ring's latency term 2(M−1)·α dominates.
 */
export function* hierarchicalHdAllReduce(env: ProgramEnv): Program {
  const { myNode, local, lp, peers, buf, intra } = tiers(env);
  yield* call(ringReduceScatter(local, lp, buf, intra, phaseTag(0, 0)));
  yield* call(halvingDoublingAmong(peers, myNode, buf.subarray(chunkStart(intra, lp), chunkStart(intra, lp + 1)), intra.bytes[lp]!, 1));
  yield* call(ringAllGather(local, lp, buf, intra, phaseTag(5, 0)));
  return buf;
}

/** A rank's two tiers: its node's ranks (intra-node rings) and its peers, one per node with its local index. */
function tiers(env: ProgramEnv) {
  const groups = env.spec.nodeGroups;
  const myNode = groups.findIndex((g) => g.includes(env.rank));
  const local = groups[myNode]!;
  const lp = local.indexOf(env.rank);
  const peers = groups.map((g) => g[lp]!); // same local index on every node
  const buf = env.input; // the rank's own (ProgramEnv): no copy, n elements per rank at `ranks: all`
  const intra = chunking(buf.length, env.spec.sizeBytes, local.length);
  return { myNode, local, lp, peers, buf, intra };
}

/**
 * Direct all-reduce: every rank sends chunk j straight to rank j (in shifted order, so each round is a
 * permutation), reduces the chunk it owns in rank order, then sends the result straight to everyone.
 */
export function* directAllReduce(env: ProgramEnv): Program {
  const n = env.size, me = env.rank;
  const buf = env.input; // the rank's own (ProgramEnv): no copy, n elements per rank at `ranks: all`
  const c = chunking(buf.length, env.spec.sizeBytes, n);
  for (let j = 1; j < n; j++) {
    const to = mod(me + j, n);
    yield* send(to, phaseTag(0, 0), c.bytes[to]!, chunkSlice(buf, c, to));
  }
  // Reduce each chunk as it is received, in the order the schedule delivers them (me-1, me-2, …):
  // fixed by the algorithm, not by arrival, and streamed behind the transfers like a ring's reductions.
  for (let j = 1; j < n; j++) yield* reduceInto(buf, chunkStart(c, me), yield* recv(mod(me - j, n), phaseTag(0, 0)));
  const mine = chunkSlice(buf, c, me);
  for (let j = 1; j < n; j++) yield* send(mod(me + j, n), phaseTag(1, 0), c.bytes[me]!, mine);
  for (let j = 1; j < n; j++) {
    const from = mod(me - j, n);
    const d = yield* recv(from, phaseTag(1, 0));
    buf.set(d.data, chunkStart(c, from));
  }
  return buf;
}

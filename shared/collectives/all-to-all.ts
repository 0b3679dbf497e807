import { f64Slice, splitEven, splitOffsets } from "../units/index.js";
import { a2avBytes, a2avElements } from "./data.js";
import { mod, phaseTag, recv, send, type Program, type ProgramEnv } from "./program.js";

/**
 * Direct all-to-all (`size` = a rank's whole send buffer, size/n to each peer). Rank me sends to
 * me+1, me+2, … in turn, so every round is a permutation and no receiver is hit by two at once.
 */
export function* directAllToAll(env: ProgramEnv): Program {
  const n = env.size, me = env.rank;
  const off = splitOffsets(env.input.length, n), bytes = splitEven(env.spec.sizeBytes, n);
  const block = (j: number) => f64Slice(env.input, off[j]!, off[j + 1]!);
  const out = new Float64Array(env.input.length);
  for (let j = 1; j < n; j++) {
    const to = mod(me + j, n);
    yield* send(to, phaseTag(0, 0), bytes[to]!, block(to));
  }
  out.set(block(me), off[me]!);
  for (let j = 1; j < n; j++) {
    const from = mod(me - j, n);
    out.set((yield* recv(from, phaseTag(0, 0))).data, off[from]!);
  }
  return out;
}

/** Direct all-to-all-v: uneven per-pair sizes (real and modelled) drawn from the seed; same schedule. */
export function* directAllToAllV(env: ProgramEnv): Program {
  const n = env.size, me = env.rank, seed = env.spec.seed;
  const sendOff = [0];
  for (let j = 0; j < n; j++) sendOff.push(sendOff[j]! + a2avElements(seed, me, j));
  const recvOff = [0];
  for (let i = 0; i < n; i++) recvOff.push(recvOff[i]! + a2avElements(seed, i, me));
  const out = new Float64Array(recvOff[n]!);
  for (let j = 1; j < n; j++) {
    const to = mod(me + j, n);
    yield* send(to, phaseTag(0, 0), a2avBytes(env.spec, me, to), f64Slice(env.input, sendOff[to]!, sendOff[to + 1]!));
  }
  out.set(env.input.slice(sendOff[me]!, sendOff[me + 1]!), recvOff[me]!);
  for (let j = 1; j < n; j++) {
    const from = mod(me - j, n);
    out.set((yield* recv(from, phaseTag(0, 0))).data, recvOff[from]!);
  }
  return out;
}

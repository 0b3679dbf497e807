import { compute, mark, mod, phaseTag, recv, send, span, SPAN_END, tally, type Program, type ProgramEnv } from "../collectives/program.js";
import { MOE_LIMITS } from "../protocol/index.js";
import { expertFlopsPerCopy } from "./bounds.js";
import { choiceAt } from "./gating.js";
import { viewPart, type LocalCopy, type PartView } from "./part.js";
import { applyExpert, checkCombined, combineFromParts, expectedCombined, tokenVector, TOKEN_ELEMENTS, type ExpertPart } from "./reference.js";
import type { MoeShape } from "./types.js";

/** Real elements per copy on the wire: dispatch (token, k, expert, x…), combine (token, k, y…). */
export const DISPATCH_ELEMENTS = 3 + TOKEN_ELEMENTS;
export const COMBINE_ELEMENTS = 2 + TOKEN_ELEMENTS;
const TAG_DISPATCH = 0, TAG_COMBINE = 1;
/**
 * Copies per message to one peer. Senders take peers in turn a chunk at a time (as DeepEP and
 * CM384's FusedDispatch interleave destinations), so every receiver is fed from the start instead
 * of waiting for peers busy with whole transfers to others.
 */
export const DEFAULT_CHUNK_TOKENS = 8;

/**
 * What an EP rank reports in op-done `tally`: copies its experts processed, parts that came back to
 * its tokens, its token copies that never came back (dropped), then (expert, dropped) pairs.
 */
export const MoeTally = { Processed: 0, Returned: 1, Dropped: 2, PerExpert: 3 } as const;

/** Bytes of one expert's weights in HBM: three hidden × intermediate matrices. */
export function expertWeightBytes(s: MoeShape): number {
  return 3 * s.hidden * s.expertIntermediate * (s.weightBytes ?? 1);
}

/**
 * One EP rank's side of an MoE layer with direct dispatch (all-to-all-v of token copies, ranks taken
 * me+1, me+2, … so each round is a permutation):
 * 1. shared experts start in the background on the rank's own tokens;
 * 2. dispatch: each accepted copy travels to its expert's rank as (token, k, expert, vector), modelled
 *    as dispatchBytesPerToken; copies for the rank's own experts stay local; dropped copies go nowhere;
 * 3. experts apply their functions to what arrived (roofline: flops per copy, each used expert's weights read once);
 * 4. combine: outputs go back to their origin as (token, k, output), combineBytesPerToken each;
 * 5. the origin sums gate-weighted parts and shared outputs, and checks every token against the
 *    independent reference (expectedCombined). Returns the rank's combined tokens, in token order.
 */
export function* moeLayerProgram(env: ProgramEnv): Program {
  const shape = env.spec.moe!.shape;
  const me = env.rank, n = shape.ep, T = shape.tokensPerRank, seed = env.spec.seed;
  if (me >= n) return new Float64Array(0);
  if (!env.moePart) throw new Error(`rank ${me}: op-start of a moe-layer without this rank's part`);
  const view = viewPart(env.moePart, me, n, T, shape.topK);
  const flops = expertFlopsPerCopy(shape), weights = expertWeightBytes(shape);
  if (shape.sharedExperts > 0) yield* compute(T * shape.sharedExperts * flops, shape.sharedExperts * weights, true, { cls: "shared experts", flops: T * shape.sharedExperts * flops });

  const chunk = env.spec.moe!.chunkTokens ?? DEFAULT_CHUNK_TOKENS;
  const dispatchOut = view.sendsTo.map((list) => packDispatch(seed, me * T, list));
  yield span("dispatch", "ep");
  yield* exchange(me, n, chunk, TAG_DISPATCH, shape.dispatchBytesPerToken, DISPATCH_ELEMENTS, dispatchOut);
  const inbox: (Float64Array | undefined)[] = new Array(n);
  inbox[me] = dispatchOut[me];
  for (let j = 1; j < n; j++) {
    const from = mod(me - j, n), copies = view.recvCounts[from]!;
    if (copies > 0) inbox[from] = yield* gather(from, chunk, copies, TAG_DISPATCH, DISPATCH_ELEMENTS);
  }
  yield SPAN_END;
  yield* mark();

  const experts = new ExpertRunner(env.moePart.held, seed, me);
  const outbox = experts.direct(inbox);
  const { processed, used } = experts;
  yield span("experts", "ep");
  if (processed > 0) yield* compute(processed * flops, used * weights, false, { cls: "matmul", flops: processed * flops });
  yield SPAN_END;
  yield* mark();

  yield span("combine", "ep");
  yield* exchange(me, n, chunk, TAG_COMBINE, shape.combineBytesPerToken, COMBINE_ELEMENTS, outbox);
  const parts: ExpertPart[][] = Array.from({ length: T }, () => []);
  if (outbox[me]) collectParts(me, T, parts, outbox[me]);
  for (let j = 1; j < n; j++) {
    const from = mod(me - j, n);
    const copies = view.sendsTo[from]!.length;
    if (copies > 0) collectParts(me, T, parts, yield* gather(from, chunk, copies, TAG_COMBINE, COMBINE_ELEMENTS));
  }
  yield SPAN_END;
  return yield* finish(shape, seed, me, view, parts, processed);
}

/** A rank's experts: applies them to token copies, refuses experts it does not hold, counts what it ran. */
export class ExpertRunner {
  private readonly held: ReadonlySet<number>;
  private readonly usedExperts = new Set<number>();
  /** Token copies processed so far. */
  processed = 0;

  constructor(held: readonly number[], private readonly seed: number, private readonly me: number) {
    this.held = new Set(held);
  }

  /** Distinct experts used so far (each one's weights are read once). */
  get used(): number { return this.usedExperts.size; }

  apply(expert: number, x: Float64Array): Float64Array {
    if (!this.held.has(expert)) throw new Error(`rank ${this.me} got a copy for expert ${expert}, which it does not hold`);
    this.usedExperts.add(expert);
    this.processed++;
    return applyExpert(this.seed, expert, x);
  }

  /** Per sender: (token, k, expert, x) records in, (token, k, output) records out. */
  direct(inbox: readonly (Float64Array | undefined)[]): (Float64Array | undefined)[] {
    return inbox.map((data) => {
      if (!data) return undefined;
      const copies = data.length / DISPATCH_ELEMENTS;
      const out = new Float64Array(copies * COMBINE_ELEMENTS);
      for (let c = 0; c < copies; c++) {
        const at = c * DISPATCH_ELEMENTS;
        out[c * COMBINE_ELEMENTS] = data[at]!;
        out[c * COMBINE_ELEMENTS + 1] = data[at + 1]!;
        out.set(this.apply(data[at + 2]!, data.subarray(at + 3, at + DISPATCH_ELEMENTS)), c * COMBINE_ELEMENTS + 2);
      }
      return out;
    });
  }
}

/** Files (token, k, output) records under their token; a token part seen twice is an error. */
function collectParts(me: number, T: number, parts: ExpertPart[][], data: Float64Array): void {
  for (let at = 0; at < data.length; at += COMBINE_ELEMENTS) {
    const t = data[at]!, k = data[at + 1]!;
    if (!(t >= 0 && t < T) || parts[t]!.some((p) => p.k === k)) throw new Error(`rank ${me}: unexpected part (token ${t}, k ${k})`);
    parts[t]!.push({ k, output: data.slice(at + 2, at + COMBINE_ELEMENTS) });
  }
}

/**
 * Sends `data[to]` (elements per copy `width`) to every other rank, `chunk` copies per message, round
 * by round: round c sends the c-th chunk to me+1, me+2, … in turn.
 */
export function* exchange(me: number, n: number, chunk: number, phase: number, bytesPerCopy: number, width: number, data: readonly (Float64Array | undefined)[]): Program<void> {
  let rounds = 0;
  data.forEach((d, to) => { if (d && to !== me) rounds = Math.max(rounds, Math.ceil(d.length / width / chunk)); });
  if (rounds > MOE_LIMITS.chunksPerPeer) throw new Error(`${rounds} chunks to one peer: raise chunkTokens`);
  for (let c = 0; c < rounds; c++) {
    for (let j = 1; j < n; j++) {
      const to = mod(me + j, n), d = data[to];
      const copies = d ? Math.min(chunk, d.length / width - c * chunk) : 0;
      if (copies > 0) yield* send(to, phaseTag(phase, c), copies * bytesPerCopy, d!.subarray(c * chunk * width, (c * chunk + copies) * width));
    }
  }
}

/** Receives the `copies` copies `from` sends in chunks (exchange), concatenated. */
export function* gather(from: number, chunk: number, copies: number, phase: number, width: number): Program<Float64Array> {
  const out = new Float64Array(copies * width);
  for (let c = 0; c * chunk < copies; c++) out.set((yield* recv(from, phaseTag(phase, c))).data, c * chunk * width);
  return out;
}

/** A gate-weighted sum of some of a token's expert outputs (hierarchical combine), and which k's it holds. */
export interface Partial {
  readonly kMask: number;
  readonly sum: Float64Array;
}

/**
 * Combines and checks the rank's tokens, and tallies what came back: per-k parts (weighted here) and,
 * with hierarchical dispatch, partial sums already weighted on the experts' node.
 */
export function* finish(shape: MoeShape, seed: number, me: number, view: PartView, parts: readonly ExpertPart[][], processed: number, partials?: readonly Partial[][]): Program {
  const { choices } = view;
  const T = shape.tokensPerRank, K = shape.topK;
  const result = new Float64Array(T * TOKEN_ELEMENTS);
  const droppedPerExpert = new Map<number, number>();
  let returned = 0;
  for (let t = 0; t < T; t++) {
    const g = me * T + t;
    const got = combineFromParts(seed, shape, choices, g, parts[t]!);
    const back = new Set(parts[t]!.map((p) => p.k));
    for (const p of partials?.[t] ?? []) {
      for (let i = 0; i < got.length; i++) got[i] = got[i]! + p.sum[i]!;
      for (let k = 0; k < K; k++) if (Math.floor(p.kMask / 2 ** k) % 2 === 1) back.add(k);
    }
    const problem = checkCombined(g, got, expectedCombined(seed, shape, choices, g, view.dropped[t]!));
    if (problem) throw new Error(`rank ${me}: combined result wrong: ${problem}`);
    result.set(got, t * TOKEN_ELEMENTS);
    returned += back.size;
    for (let k = 0; k < K; k++) {
      if (back.has(k)) continue;
      const e = choiceAt(choices, g, k).expert;
      droppedPerExpert.set(e, (droppedPerExpert.get(e) ?? 0) + 1);
    }
  }
  const pairs = [...droppedPerExpert].sort((a, b) => a[0] - b[0]).flat();
  yield* tally([processed, returned, T * K - returned, ...pairs]);
  return result;
}

/** The real data of a list of copies: (token, k, expert, token vector) each; token ids are local, from global `first`. */
export function packDispatch(seed: number, first: number, list: readonly LocalCopy[]): Float64Array {
  const out = new Float64Array(list.length * DISPATCH_ELEMENTS);
  list.forEach((c, i) => {
    const at = i * DISPATCH_ELEMENTS;
    out[at] = c.token;
    out[at + 1] = c.k;
    out[at + 2] = c.expert;
    out.set(tokenVector(seed, first + c.token), at + 3);
  });
  return out;
}

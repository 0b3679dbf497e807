import type { DispatchPlan } from "./routing.js";
import type { MoeShape } from "./types.js";

/**
 * Closed forms for one MoE layer on a non-blocking fabric, the yardstick the engines are checked
 * against. Direct all-to-all-v dispatch: rank r injects sendCopies_r × dispatchBytesPerToken and
 * ejects recvCopies_r × dispatchBytesPerToken (copies to its own experts never leave it), so
 *   T_dispatch ≥ max_r max(send_r, recv_r) × bytes / injectionGBps + α.
 * Combine is the reverse flow with combineBytesPerToken (send and receive swap). GB/s = bytes/ns.
 */

/** Injection port of an endpoint: its bandwidth and the one-way α of the smallest message path. */
export interface PortModel {
  /** Endpoint injection (= ejection) bandwidth, GB/s, i.e. bytes per ns (CM384 NPU: 392). */
  readonly injectionGBps: number;
  /** One-way latency added once: endpoint overhead + link and switch latencies, ns. */
  readonly alphaNs: number;
}

/** Port-serialization bound, ns: the busiest injection or ejection port, plus α. */
export function portBoundNs(sendCopies: ArrayLike<number>, recvCopies: ArrayLike<number>, bytesPerCopy: number, port: PortModel): number {
  let worst = 0;
  for (let r = 0; r < sendCopies.length; r++) worst = Math.max(worst, sendCopies[r]!, recvCopies[r] ?? 0);
  return worst === 0 ? 0 : (worst * bytesPerCopy) / port.injectionGBps + port.alphaNs;
}

/** Dispatch bound of a plan, ns. */
export function dispatchBoundNs(shape: MoeShape, plan: DispatchPlan, port: PortModel): number {
  return portBoundNs(plan.sendCopies, plan.recvCopies, shape.dispatchBytesPerToken, port);
}

/** Combine bound of a plan, ns: every accepted remote copy comes back, so the flows reverse. */
export function combineBoundNs(shape: MoeShape, plan: DispatchPlan, port: PortModel): number {
  return portBoundNs(plan.recvCopies, plan.sendCopies, shape.combineBytesPerToken, port);
}

/**
 * Expected token copies a rank sends to other ranks under uniform gating with no drops:
 * tokensPerRank × topK × (1 − expertsOnRank / experts) = T·k·(1 − 1/ep) with ep | experts
 * (each distinct choice lands on any given expert with probability k/E, so on the own rank's
 * E/ep experts with probability 1/ep per copy). Mean only: the max over ranks is a little higher.
 */
export function uniformRemoteCopies(shape: MoeShape): number {
  return shape.tokensPerRank * shape.topK * (1 - 1 / shape.ep);
}

/** FLOPs of one token through one SwiGLU expert: 3 matrices × 2 flops × hidden × intermediate (DeepSeek-V3: 88.1 M). */
export function expertFlopsPerCopy(shape: Pick<MoeShape, "hidden" | "expertIntermediate">): number {
  return 3 * 2 * shape.hidden * shape.expertIntermediate;
}

/** Compute roofline of the expert side: peak TFLOPS × efficiency (1 TFLOPS = 1e3 flop/ns). */
export interface ComputeModel {
  readonly peakTflops: number;
  /** Fraction of peak achieved, in (0, 1]. */
  readonly efficiency: number;
}

/** ns for `copies` token copies through the rank's experts at the roofline's compute bound. */
export function expertComputeNs(shape: MoeShape, copies: number, m: ComputeModel): number {
  return (copies * expertFlopsPerCopy(shape)) / (m.peakTflops * 1e3 * m.efficiency);
}

/** Expert compute of the layer, ns: the busiest rank (its own copies plus the ones it received). */
export function expertComputeBoundNs(shape: MoeShape, plan: DispatchPlan, m: ComputeModel): number {
  return expertComputeNs(shape, Math.max(0, ...plan.rankLoad), m);
}

/** Dispatch, expert compute and combine one after the other (no overlap), ns. */
export function layerBoundNs(shape: MoeShape, plan: DispatchPlan, port: PortModel, m: ComputeModel): {
  readonly dispatchNs: number; readonly expertComputeNs: number; readonly combineNs: number; readonly totalNs: number;
} {
  const dispatchNs = dispatchBoundNs(shape, plan, port);
  const computeNs = expertComputeBoundNs(shape, plan, m);
  const combineNs = combineBoundNs(shape, plan, port);
  return { dispatchNs, expertComputeNs: computeNs, combineNs, totalNs: dispatchNs + computeNs + combineNs };
}

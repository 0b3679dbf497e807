import { Collective, type OpSpec } from "../../shared/protocol/index.js";
import { COMPUTE_LANE, MAIN_LANE, SliceKind, type TraceArgs, type TraceSink } from "../../shared/trace/index.js";
import { formatSize } from "../../shared/units/index.js";
import type { KernelLabel } from "../../shared/collectives/index.js";

/** A span a program opened (Command "span"), waiting for its end. */
export interface OpenSpan { readonly name: string; readonly cat: string; readonly startNs: number; readonly args: TraceArgs | undefined }

/** What an op is called on its ranks' tracks: `step 3` (training), `moe-layer EP 64`, `all-reduce ring 64MiB`. */
export function opName(spec: OpSpec): string {
  if (spec.collective === Collective.TrainingStep) return `step ${spec.training?.step ?? "?"}`;
  if (spec.collective === Collective.MoeLayer) return `moe-layer EP ${spec.moe?.shape.ep ?? spec.group.length}`;
  return `${spec.collective} ${spec.algorithm} ${formatSize(spec.sizeBytes)}`;
}

/** The engine lane of a stream: the endpoint's compute engine for the main program, a stream's own otherwise. */
const engineLane = (queue: string | undefined): string => (queue === undefined ? COMPUTE_LANE : `${queue} engine`);

/**
 * The op on this rank, on its main lane (the slowest rank's is the step's virtual time), and on the
 * lane of each stream it forked: every slice and flow of the op lies inside one of these.
 */
export function traceOpEnd(trace: TraceSink, spec: OpSpec, rank: number, startNs: number, endNs: number, queues: Iterable<string>): void {
  const name = opName(spec), args = { op: spec.op, rank };
  trace.slice(SliceKind.Step, MAIN_LANE, name, "step", startNs, endNs - startNs, args);
  for (const q of queues) trace.slice(SliceKind.Step, q, `${name} · ${q}`, "step", startNs, endNs - startNs, args);
}

/** Closes the innermost open span of a stream. */
export function traceSpanEnd(trace: TraceSink, lane: string, spans: OpenSpan[], nowNs: number): void {
  const o = spans.pop();
  if (o) trace.slice(SliceKind.Phase, lane, o.name, o.cat, o.startNs, nowNs - o.startNs, o.args);
}

/** A kernel on the stream's engine, named by its op class within the innermost span (`fwd L3 attention · matmul`). */
export function traceKernel(trace: TraceSink, queue: string | undefined, spans: readonly OpenSpan[], startNs: number, endNs: number, cmd: { flops: number; hbmBytes: number; background: boolean; label?: KernelLabel | undefined }): void {
  if (!trace.wants(SliceKind.Kernel)) return;
  const cls = cmd.label?.cls ?? "kernel", within = spans[spans.length - 1]?.name;
  const args: TraceArgs = { class: cls, flops: cmd.label?.flops ?? cmd.flops, hbmBytes: cmd.hbmBytes, ...(cmd.background ? { background: true } : {}) };
  trace.slice(SliceKind.Kernel, engineLane(queue), within ? `${within} · ${cls}` : cls, "kernel", startNs, endNs - startNs, args);
}

/** A reduction of received data, streamed as it arrives (kept only at detail `full`). */
export function traceReduce(trace: TraceSink, queue: string | undefined, startNs: number, endNs: number, bytes: number): void {
  if (trace.wants(SliceKind.Reduce)) trace.slice(SliceKind.Reduce, engineLane(queue), "reduce", "reduce", startNs, endNs - startNs, { bytes });
}

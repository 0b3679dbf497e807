import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadScenario } from "../../shared/config/index.js";
import { SimEngine, type ActorLogic } from "../../shared/runtime/index.js";
import { TraceCollector } from "../../shared/trace/index.js";
import { npuLogic } from "../../services/npu/index.js";
import { switchLogic } from "../../services/switch/index.js";
import { runScenario, writeTrace, type Report, type TraceFile } from "../../services/coordinator/index.js";

/** One event of a Chrome trace-event file, as the tests read it. */
export interface ChromeEvent {
  readonly ph: string;
  readonly pid: number;
  readonly tid: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly name: string;
  readonly cat?: string;
  readonly id?: number;
  readonly bp?: string;
  readonly args?: Record<string, unknown>;
}

export interface ChromeTrace {
  readonly displayTimeUnit: string;
  readonly otherData: { readonly trace: { readonly dropped: number; readonly events: number; readonly maxEvents: number; readonly detail: string } } & Record<string, unknown>;
  readonly traceEvents: readonly ChromeEvent[];
}

/** Runs a scenario on the sim engine with tracing on and reads back the trace.json it writes. */
export async function runTraced(raw: unknown): Promise<{ report: Report; trace: ChromeTrace; file: TraceFile; text: string }> {
  const loaded = loadScenario({ raw });
  const collector = new TraceCollector(loaded.scenario.outputs.trace);
  const dir = mkdtempSync(join(tmpdir(), "supernode-trace-"));
  try {
    await using engine = new SimEngine({ topology: loaded.topology, npu: npuLogic as ActorLogic<never>, switch: switchLogic as ActorLogic<never>, trace: collector });
    const report = await runScenario(loaded, engine);
    const file = writeTrace(dir, collector.drain(), loaded.topology, { scenarioHash: loaded.hash });
    const text = readFileSync(file.path, "utf8");
    return { report, trace: JSON.parse(text) as ChromeTrace, file, text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whole ns of a trace time in µs (the writer puts every time on whole ns). */
export const nsOf = (us: number): number => Math.round(us * 1000);

import type { Loaded } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { TraceCollector } from "../../shared/trace/index.js";
import { faultSlices, writeTrace, type Report } from "../coordinator/index.js";

/**
 * The collector of `supernode run --trace`, or nothing without the flag. Only the sim engine traces:
 * the NATS engine's actors live in other processes and do not ship their events yet, so `--trace`
 * with it is refused rather than writing an empty trace.
 */
export function traceFor(loaded: Loaded, on: boolean | undefined): TraceCollector | undefined {
  if (!on) return undefined;
  if (loaded.scenario.engine !== "sim") {
    throw new ScenarioError("engine", "--trace needs the sim engine (--engine sim): the NATS engine does not collect trace events from its actor processes yet");
  }
  return new TraceCollector(loaded.scenario.outputs.trace);
}

const n = (x: number): string => x.toLocaleString("en-US");

/** Writes `trace.json` into `dir`; returns the line that says where it is and what it kept. */
export function finishTrace(dir: string, trace: TraceCollector, loaded: Loaded, report: Report): string {
  const content = trace.drain();
  // Faults and recovery (docs/chaos.md §5) are the coordinator's: added here, from the report.
  const withFaults = { ...content, slices: [...content.slices, ...faultSlices(report, loaded.topology)] };
  const file = writeTrace(dir, withFaults, loaded.topology, { scenarioHash: loaded.hash, engine: report.engine, status: report.status });
  const s = file.summary;
  const flows = s.flows.sampled === "none" ? "no flows" : `${n(s.flows.kept)} flows of ${n(s.flows.transfers)} transfers (${s.flows.sampled})`;
  const dropped = s.dropped > 0 ? `${n(s.dropped)} dropped over the cap of ${n(s.maxEvents)} (outputs.trace.maxEvents)` : "none dropped";
  return `# trace: ${file.path} · ${n(s.events)} events, detail ${s.detail}, ${flows}, ${dropped} · ${(file.bytes / 1e6).toFixed(1)} MB`;
}

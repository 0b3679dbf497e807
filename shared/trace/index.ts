export {
  TraceDetail, TRACE_DETAILS, DEFAULT_TRACE_DETAIL, DEFAULT_TRACE_MAX_EVENTS, SliceKind, MAIN_LANE, COMPUTE_LANE,
  type TraceArgs, type TraceSink, type TraceRecorder,
} from "./sink.js";
export { TraceCollector, type TraceContent, type TraceSummary, type TraceOptions, type SliceRec, type CounterSeries } from "./collector.js";
export { FlowSampler, PortEnvelope, flowHash, type FlowRec, type FlowEnd } from "./sampling.js";

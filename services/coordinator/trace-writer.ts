import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Topology } from "../../shared/topology/index.js";
import { MAIN_LANE, type FlowRec, type SliceRec, type TraceContent, type TraceSummary } from "../../shared/trace/index.js";
import { chromeDur, chromeTs, TraceTracks } from "./trace-tracks.js";

export const TRACE_FILE = "trace.json";

/** Flush the output every this many characters: the file is streamed, never held whole in memory. */
const WRITE_CHUNK_CHARS = 1 << 20;

/** Where the trace went, what it holds. */
export interface TraceFile {
  readonly path: string;
  readonly bytes: number;
  readonly summary: TraceSummary;
}

class LineWriter {
  private buf: string[] = [];
  private chars = 0;
  bytes = 0;
  private first = true;
  constructor(private readonly fd: number) {}
  raw(s: string): void {
    this.buf.push(s);
    this.chars += s.length;
    if (this.chars >= WRITE_CHUNK_CHARS) this.flush();
  }
  event(json: string): void {
    this.raw(this.first ? `\n${json}` : `,\n${json}`);
    this.first = false;
  }
  flush(): void {
    if (this.buf.length === 0) return;
    this.bytes += writeSync(this.fd, this.buf.join(""));
    this.buf = [];
    this.chars = 0;
  }
}

const str = JSON.stringify;

/**
 * Writes `content` as Chrome trace-event JSON (what Perfetto UI, chrome://tracing and speedscope
 * open): a process per node (spine switches in one of their own), a thread per actor lane, X slices,
 * i instants, C counters of port queue depth, s/f flows bound to the slices around them. `ts` and
 * `dur` are virtual µs; `otherData` says what was kept, sampled and dropped.
 */
export function writeTrace(dir: string, content: TraceContent, t: Topology, meta: Readonly<Record<string, unknown>>): TraceFile {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, TRACE_FILE);
  const tracks = new TraceTracks(t);
  const slices = sortedSlices(content.slices);
  const events = slices.length + content.counters.reduce((n, c) => n + c.samples.length, 0) + 2 * content.flows.length;
  const summary: TraceSummary = { ...content.summary, events, zeroLengthOmitted: content.summary.events - events };
  for (const s of slices) tracks.use(s.actor, s.lane);
  for (const c of content.counters) tracks.use(c.actor, MAIN_LANE);
  for (const f of content.flows) { tracks.use(f.from.actor, f.from.lane); tracks.use(f.to!.actor, f.to!.lane); }
  const fd = openSync(path, "w");
  const w = new LineWriter(fd);
  try {
    const other = { tool: "supernode", timeUnit: "virtual µs (modelled hardware, not this machine)", ...meta, trace: summary };
    w.raw(`{"displayTimeUnit":"ns","otherData":${str(other)},\n"traceEvents":[`);
    for (const m of tracks.metadata()) w.event(m);
    for (const s of slices) w.event(sliceJson(tracks, s));
    for (const c of content.counters) {
      const pid = tracks.pidOf(c.actor), tid = tracks.tidOf(c.actor, MAIN_LANE), name = str(`queue ${tracks.portName(c.linkId)}`);
      for (const [atNs, bytes] of c.samples) w.event(`{"ph":"C","pid":${pid},"tid":${tid},"ts":${chromeTs(atNs)},"name":${name},"args":{"bytes":${Math.round(bytes)}}}`);
    }
    const ends = opEnds(content.slices);
    content.flows.forEach((f, id) => { for (const e of flowJson(tracks, f, id + 1, ends)) w.event(e); });
    w.raw("\n]}\n");
    w.flush();
  } finally {
    closeSync(fd);
  }
  return { path, bytes: w.bytes, summary };
}

/**
 * Time order, outer slices before the inner ones they share a start with (longer first; an exact
 * tie: the later recorded, which is the outer, since a span closes after those inside it). Slices
 * that round to no time are left out, but never a step: viewers cannot show them, and one at its
 * parent's start would unbalance speedscope's stack.
 */
function sortedSlices(list: readonly SliceRec[]): SliceRec[] {
  const keep = list.map((s, i) => ({ s, i })).filter(({ s }) => s.durNs < 0 || s.cat === "step" || chromeDur(s.startNs, s.durNs) !== "0");
  keep.sort((a, b) => a.s.startNs - b.s.startNs || b.s.durNs - a.s.durNs || b.i - a.i);
  return keep.map(({ s }) => s);
}

function sliceJson(tracks: TraceTracks, s: SliceRec): string {
  const where = `"pid":${tracks.pidOf(s.actor)},"tid":${tracks.tidOf(s.actor, s.lane)},"ts":${chromeTs(s.startNs)}`;
  const args = s.args ? `,"args":${str(s.args)}` : "";
  if (s.durNs < 0) return `{"ph":"i","s":"t",${where},"name":${str(s.name)},"cat":${str(s.cat)}${args}}`;
  return `{"ph":"X",${where},"dur":${chromeDur(s.startNs, s.durNs)},"name":${str(s.name)},"cat":${str(s.cat)}${args}}`;
}

/** End of each op's slice per actor lane: a flow point must lie strictly inside it to bind to it. */
function opEnds(list: readonly SliceRec[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of list) if (s.cat === "step" && s.args) m.set(`${s.actor}|${s.lane}|${String(s.args.op)}`, s.startNs + s.durNs);
  return m;
}

/** 1 ns before the op ends on that lane, at the latest: Perfetto closes a slice at its end, before a point there binds. */
const NS_BEFORE_END = 1;

function flowJson(tracks: TraceTracks, f: FlowRec, id: number, ends: ReadonlyMap<string, number>): [string, string] {
  const point = (e: FlowRec["from"]) => {
    const end = ends.get(`${e.actor}|${e.lane}|${f.op}`);
    const at = end === undefined ? e.atNs : Math.min(e.atNs, end - NS_BEFORE_END);
    return `"pid":${tracks.pidOf(e.actor)},"tid":${tracks.tidOf(e.actor, e.lane)},"ts":${chromeTs(at)}`;
  };
  const to = f.to!;
  return [
    `{"ph":"s","id":${id},${point(f.from)},"name":"transfer","cat":"flow","args":{"op":${f.op},"tag":${f.tag},"bytes":${f.bytes}}}`,
    `{"ph":"f","bp":"e","id":${id},${point(to)},"name":"transfer","cat":"flow"}`,
  ];
}

import { DeviceKind, type Topology } from "../../shared/topology/index.js";
import { COMPUTE_LANE, MAIN_LANE } from "../../shared/trace/index.js";

/** Threads one actor may have in the trace: its main program, its compute engine, its streams. */
const LANES_PER_ACTOR = 8;

/**
 * Virtual ns → the trace's µs, at whole ns: Perfetto reads µs × 1000 back as exact integers, and
 * nesting survives because rounding keeps order.
 */
export const chromeTs = (ns: number): string => String(Math.round(ns) / 1000);

const f64 = new Float64Array(1), i64 = new BigInt64Array(f64.buffer);
const nextDouble = (x: number, dir: 1 | -1): number => {
  f64[0] = x;
  i64[0]! += BigInt(x >= 0 ? dir : -dir);
  return f64[0]!;
};

/**
 * A slice's `dur`, chosen so that viewers adding it to `ts` in float64 land exactly on the end's own
 * float: a child that ends with its parent then ends at the same number, not one ulp after it (which
 * unbalances speedscope's stack).
 */
export function chromeDur(startNs: number, durNs: number): string {
  const ts = Math.round(startNs) / 1000, end = Math.round(startNs + durNs) / 1000;
  let d = end - ts;
  for (let i = 0; i < 4 && ts + d !== end; i++) d = nextDouble(d, ts + d < end ? 1 : -1);
  return String(d);
}

/**
 * Processes and threads of a trace: a process per node (pid node + 1; the switches of no node —
 * spine chips, NVSwitches — in one more, `fabric`), a thread per lane of each actor that appears:
 * tid actor × 8 + lane + 1, lanes ordered main, compute, then streams by name.
 */
export class TraceTracks {
  private readonly lanes = new Map<number, Set<string>>();
  private tids: Map<string, number> | undefined;

  constructor(private readonly t: Topology) {}

  use(actor: number, lane: string): void {
    let s = this.lanes.get(actor);
    if (!s) { s = new Set(); this.lanes.set(actor, s); }
    s.add(lane);
  }

  pidOf(actor: number): number {
    const node = this.t.devices[actor]!.node;
    return node >= 0 ? node + 1 : this.fabricPid;
  }

  private get fabricPid(): number { return this.t.nodes.length + 1; }

  tidOf(actor: number, lane: string): number {
    if (!this.tids) this.assign();
    const tid = this.tids!.get(`${actor}|${lane}`);
    if (tid === undefined) throw new Error(`trace lane ${lane || "main"} of actor ${actor} was not registered`);
    return tid;
  }

  private assign(): void {
    this.tids = new Map();
    for (const [actor, set] of this.lanes) {
      const order = [...set].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
      if (order.length > LANES_PER_ACTOR) throw new Error(`actor ${this.t.devices[actor]!.name} has ${order.length} trace lanes (at most ${LANES_PER_ACTOR})`);
      order.forEach((lane, i) => this.tids!.set(`${actor}|${lane}`, actor * LANES_PER_ACTOR + i + 1));
    }
  }

  /** `l1.n0→npu.n0.3 p5`: a switch's egress port, by the devices it joins and its port number. */
  portName(linkId: number): string {
    const l = this.t.links[linkId]!;
    return `${this.t.devices[l.from]!.name}→${this.t.devices[l.to]!.name} p${this.t.portIndex[linkId]}`;
  }

  /** process_name / thread_name (and their sort indices) of every process and thread that appears. */
  metadata(): string[] {
    if (!this.tids) this.assign();
    const out: string[] = [], pids = new Set<number>();
    const actors = [...this.lanes.keys()].sort((a, b) => a - b);
    for (const actor of actors) {
      const pid = this.pidOf(actor);
      if (!pids.has(pid)) {
        pids.add(pid);
        const name = pid === this.fabricPid ? "fabric" : `node ${pid - 1}`;
        out.push(meta("process_name", pid, 0, { name }), meta("process_sort_index", pid, 0, { sort_index: pid }));
      }
      const d = this.t.devices[actor]!;
      for (const lane of [...this.lanes.get(actor)!].sort((a, b) => this.tidOf(actor, a) - this.tidOf(actor, b))) {
        const tid = this.tidOf(actor, lane);
        const name = lane === MAIN_LANE ? d.name : `${d.name} · ${lane}`;
        out.push(meta("thread_name", pid, tid, { name, kind: d.kind === DeviceKind.Npu ? "npu" : "switch" }), meta("thread_sort_index", pid, tid, { sort_index: tid }));
      }
    }
    return out;
  }
}

const rank = (lane: string): number => (lane === MAIN_LANE ? 0 : lane === COMPUTE_LANE ? 1 : 2);

function meta(name: string, pid: number, tid: number, args: Record<string, unknown>): string {
  return `{"ph":"M","name":"${name}","pid":${pid},"tid":${tid},"args":${JSON.stringify(args)}}`;
}

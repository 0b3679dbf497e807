import { LinkState } from "../linkmodel/index.js";
import { FaultKind, type FaultMsg } from "../protocol/index.js";
import { RouteFilter, type DeadSet, type Link, type Route, type Topology } from "../topology/index.js";
import type { DeviceId, LinkId, NpuId } from "../units/index.js";

/** A fault as actors keep it: the fields of its message (docs/wire-format.md §4.9), without the header. */
export type FaultEntry = Pick<FaultMsg, "fault" | "kind" | "targets" | "fromOp" | "untilOp" | "bandwidthFactor" | "latencyNs" | "factor">;

/** Whether a fault applies to op `op`: from `fromOp` on, before `untilOp` (absent: to the end). */
export const activeAt = (e: FaultEntry, op: number): boolean => e.fromOp <= op && (e.untilOp === undefined || op < e.untilOp);

/**
 * The fabric as a set of faults leaves it for one op: routes around dead links and switches, degraded
 * links, straggling NPUs. Built the same way by every actor that holds the same faults (and by the
 * coordinator, for its closed forms), in fault-index order, so they all agree on every route and time.
 */
export class FaultedFabric {
  readonly dead: DeadSet | undefined;
  readonly linkState: LinkState | undefined;
  private readonly factors: ReadonlyMap<number, number> | undefined;
  private readonly routes: RouteFilter | undefined;

  constructor(private readonly t: Topology, entries: readonly FaultEntry[]) {
    const deadLinks = new Set<LinkId>(), deadDevices = new Set<DeviceId>();
    let links: LinkState | undefined, factors: Map<number, number> | undefined;
    for (const e of [...entries].sort((a, b) => a.fault - b.fault)) {
      switch (e.kind) {
        case FaultKind.LinkDown: for (const id of e.targets) deadLinks.add(id as LinkId); break;
        case FaultKind.SwitchCrash: for (const id of e.targets) deadDevices.add(id as DeviceId); break;
        case FaultKind.LinkDegrade:
          links ??= new LinkState(t);
          for (const id of e.targets) links.degrade(id as LinkId, e.bandwidthFactor ?? 1, e.latencyNs ?? 0);
          break;
        case FaultKind.Straggler:
          factors ??= new Map();
          for (const id of e.targets) factors.set(id, (factors.get(id) ?? 1) * (e.factor ?? 1));
          break;
        default: {
          const never: never = e.kind;
          throw new Error(`unknown fault kind ${String(never)}`);
        }
      }
    }
    this.dead = deadLinks.size || deadDevices.size ? { links: deadLinks, devices: deadDevices } : undefined;
    this.routes = this.dead ? new RouteFilter(t, this.dead) : undefined;
    this.linkState = links;
    this.factors = factors;
  }

  /** The stripes a transfer src → dst may use (none: every stripe crosses a dead link or switch). */
  route(src: NpuId, dst: NpuId): Route {
    return this.routes ? this.routes.route(src, dst) : this.t.route(src, dst);
  }

  /** A link as its owner's port serves it. */
  link(id: LinkId): Link {
    return this.linkState ? this.linkState.link(id) : this.t.links[id]!;
  }

  /** How many times its roofline an endpoint's compute takes (1: not a straggler). */
  computeFactor(device: number): number {
    return this.factors?.get(device) ?? 1;
  }

  /** The topology as the faults leave it: filtered routes and degraded links, for closed forms and checks. */
  view(): Topology {
    return { ...this.t, links: this.linkState?.links() ?? this.t.links, route: (s, d) => this.route(s, d) };
  }
}

/**
 * The faults one actor holds, keyed by op: `at(op)` is the fabric of that op (undefined when no fault
 * applies to it). The last answer is kept, and reused while the set of active faults stays the same,
 * so routes are filtered once per pair and fault set, not once per message.
 */
export class FaultTable {
  private entries: FaultEntry[] = [];
  private lastOp = -1;
  private lastKey = "";
  private last: FaultedFabric | undefined;

  constructor(private readonly t: Topology) {}

  get size(): number { return this.entries.length; }
  /** The same fault of the same run (a later run on the same actors sends it again, from a later op). */
  has(fault: number, fromOp: number): boolean { return this.entries.some((e) => e.fault === fault && e.fromOp === fromOp); }

  /** Adds a fault; faults that ended before it begins can apply to no later op (ops only go up) and go. */
  add(e: FaultEntry): void {
    this.entries = this.entries.filter((x) => x.untilOp === undefined || x.untilOp > e.fromOp);
    this.entries.push(e);
    this.lastOp = -1;
  }

  at(op: number): FaultedFabric | undefined {
    if (op === this.lastOp) return this.last;
    const active = this.entries.filter((e) => activeAt(e, op));
    const key = active.map((e) => e.fault).sort((a, b) => a - b).join(",");
    if (key !== this.lastKey) {
      this.last = active.length ? new FaultedFabric(this.t, active) : undefined;
      this.lastKey = key;
    }
    this.lastOp = op;
    return this.last;
  }
}

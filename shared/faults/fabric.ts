import { LinkState } from "../linkmodel/index.js";
import { FaultKind, type FaultMsg } from "../protocol/index.js";
import { RouteFilter, type DeadSet, type Link, type Route, type Topology } from "../topology/index.js";
import { onGrid, type DeviceId, type LinkId, type NpuId } from "../units/index.js";
import { FlapSet, type Flap } from "./flap.js";

/** A fault as actors keep it: the fields of its message (docs/wire-format.md §4.9), without the header. */
export type FaultEntry = Pick<FaultMsg, "fault" | "kind" | "targets" | "fromOp" | "untilOp" | "bandwidthFactor" | "latencyNs" | "factor"
  | "lossPct" | "corruptPct" | "retryNs" | "periodNs" | "duty" | "phaseNs" | "originNs" | "pct" | "seed">;

/** A link-degrade's loss and corruption on one link, as its egress port draws them (services/npu link-retry.ts). */
export interface LinkLoss {
  readonly fault: number;
  readonly seed: number;
  readonly lossPct: number;
  readonly corruptPct: number;
  /** Absent: 2 × the link's latency + the switch latency at its ends (services/npu link-retry.ts). */
  readonly retryNs: number | undefined;
}

/** A message-duplicate or message-reorder as its device draws it, message by message. */
export interface MessagePick {
  readonly fault: number;
  readonly seed: number;
  readonly pct: number;
}

/** What a device does to its outgoing data messages (undefined: nothing). */
export interface WireFaults {
  readonly duplicate: readonly MessagePick[];
  readonly reorder: readonly MessagePick[];
}

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
  /** Link-flaps of the op: routes then depend on each transfer's send time. */
  readonly flaps: FlapSet | undefined;
  /** Duplication and reordering of this device's outgoing data messages. */
  readonly wire: WireFaults | undefined;
  private readonly factors: ReadonlyMap<number, number> | undefined;
  private readonly routes: RouteFilter | undefined;
  private readonly losses: ReadonlyMap<LinkId, readonly LinkLoss[]> | undefined;
  /** Links that may deliver corrupted copies: their receiver checks CRCs. */
  private readonly corruptIn: ReadonlySet<LinkId> | undefined;

  constructor(private readonly t: Topology, entries: readonly FaultEntry[]) {
    const deadLinks = new Set<LinkId>(), deadDevices = new Set<DeviceId>();
    let links: LinkState | undefined, factors: Map<number, number> | undefined, losses: Map<LinkId, LinkLoss[]> | undefined;
    const flaps: Flap[] = [], duplicate: MessagePick[] = [], reorder: MessagePick[] = [];
    let side: Set<DeviceId> | undefined;
    for (const e of [...entries].sort((a, b) => a.fault - b.fault)) {
      switch (e.kind) {
        case FaultKind.LinkDown: for (const id of e.targets) deadLinks.add(id as LinkId); break;
        case FaultKind.SwitchCrash: for (const id of e.targets) deadDevices.add(id as DeviceId); break;
        case FaultKind.LinkDegrade:
          links ??= new LinkState(t);
          for (const id of e.targets) links.degrade(id as LinkId, e.bandwidthFactor ?? 1, e.latencyNs ?? 0);
          if (e.lossPct || e.corruptPct) {
            losses ??= new Map();
            const loss: LinkLoss = { fault: e.fault, seed: e.seed ?? 0, lossPct: e.lossPct ?? 0, corruptPct: e.corruptPct ?? 0, retryNs: e.retryNs };
            for (const id of e.targets) (losses.get(id as LinkId) ?? losses.set(id as LinkId, []).get(id as LinkId)!).push(loss);
          }
          break;
        case FaultKind.Straggler:
          factors ??= new Map();
          for (const id of e.targets) factors.set(id, (factors.get(id) ?? 1) * (e.factor ?? 1));
          break;
        case FaultKind.LinkFlap: {
          const periodNs = e.periodNs ?? 1;
          flaps.push({ links: e.targets as LinkId[], startNs: (e.originNs ?? 0) + (e.phaseNs ?? 0), periodNs, downNs: onGrid((e.duty ?? 0) * periodNs) });
          break;
        }
        case FaultKind.MessageDuplicate: duplicate.push({ fault: e.fault, seed: e.seed ?? 0, pct: e.pct ?? 100 }); break;
        case FaultKind.MessageReorder: reorder.push({ fault: e.fault, seed: e.seed ?? 0, pct: e.pct ?? 100 }); break;
        case FaultKind.Partition: (side ??= new Set()); for (const id of e.targets) side.add(id as DeviceId); break;
        case FaultKind.Halt: break; // the endpoint's, not the fabric's
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
    this.losses = losses;
    const corrupting = losses ? [...losses].filter(([, l]) => l.some((x) => x.corruptPct > 0)).map(([id]) => id) : [];
    this.corruptIn = corrupting.length ? new Set(corrupting) : undefined;
    this.flaps = flaps.length ? new FlapSet(t, flaps, this.dead, (s, d) => this.staticRoute(s, d)) : undefined;
    this.wire = duplicate.length || reorder.length ? { duplicate, reorder } : undefined;
    this.side = side;
  }

  /** One side of a partition (the other is everyone else); undefined without one. */
  private readonly side: ReadonlySet<DeviceId> | undefined;

  /** Whether a message from `from` to `to` crosses the op's partition (it is then dropped where it arrives). */
  cut(from: number, to: number): boolean {
    return this.side !== undefined && this.side.has(from as DeviceId) !== this.side.has(to as DeviceId);
  }

  /** The route without the flaps (every flapping link up): the closed forms' fabric. */
  private staticRoute(src: NpuId, dst: NpuId): Route {
    return this.routes ? this.routes.route(src, dst) : this.t.route(src, dst);
  }

  /**
   * The stripes a transfer src → dst sent at `sentNs` may use (none: every stripe crosses a dead link
   * or switch, or a link-flap down at that time). Without flaps the send time does not matter.
   */
  route(src: NpuId, dst: NpuId, sentNs = 0): Route {
    return this.flaps ? this.flaps.route(src, dst, sentNs) : this.staticRoute(src, dst);
  }

  /** The loss and corruption of a link's egress port (undefined: it delivers every copy). */
  lossOf(id: LinkId): readonly LinkLoss[] | undefined {
    return this.losses?.get(id);
  }

  /** Whether stripes arriving over link `id` may be corrupted: the receiving switch then checks their CRC. */
  corrupts(id: LinkId): boolean {
    return this.corruptIn !== undefined && this.corruptIn.has(id);
  }

  /** Whether any link of this op may deliver corrupted copies (a switch checks CRCs only then). */
  get checksCrc(): boolean {
    return this.corruptIn !== undefined;
  }

  /** A link as its owner's port serves it. */
  link(id: LinkId): Link {
    return this.linkState ? this.linkState.link(id) : this.t.links[id]!;
  }

  /** How many times its roofline an endpoint's compute takes (1: not a straggler). */
  computeFactor(device: number): number {
    return this.factors?.get(device) ?? 1;
  }

  /**
   * The topology as the faults leave it: filtered routes and degraded links, for closed forms and
   * checks. Flapping links count as up, and lost or corrupted copies as absent (both depend on time).
   */
  view(): Topology {
    return { ...this.t, links: this.linkState?.links() ?? this.t.links, route: (s, d) => this.staticRoute(s, d) };
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

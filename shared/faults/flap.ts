import { RouteFilter, type DeadSet, type Route, type Topology } from "../topology/index.js";
import type { DeviceId, LinkId, NpuId } from "../units/index.js";

/** One link-flap as actors apply it: its links are down during [startNs + k·periodNs, … + downNs), k ≥ 0. */
export interface Flap {
  readonly links: readonly LinkId[];
  /** originNs + phaseNs: the start of the first down window. */
  readonly startNs: number;
  readonly periodNs: number;
  /** duty × periodNs. */
  readonly downNs: number;
}

/** Whether a flap's links are down at `ns`, and if so when that down window ends. */
export function downUntil(f: Flap, ns: number): number | undefined {
  const x = ns - f.startNs;
  if (x < 0) return undefined;
  const k = Math.floor(x / f.periodNs);
  const end = f.startNs + k * f.periodNs + f.downNs;
  return ns < end ? end : undefined;
}

/** At most this many waits for a flapping link to come up before a transfer gives up (flaps that together never leave a route). */
export const MAX_FLAP_WAITS = 1024;

/**
 * Routes under link-flaps (and the op's static dead links and switches): a transfer may use the
 * stripes that avoid every link down at its send time (`sentNs`, the same in every actor's copy of
 * its messages), so sender, switches and destination filter it alike. One RouteFilter per set of
 * flaps down at once, built on first use: a handful per run.
 */
export class FlapSet {
  private readonly filters = new Map<number | string, RouteFilter>();

  constructor(private readonly t: Topology, readonly flaps: readonly Flap[], private readonly base: DeadSet | undefined, private readonly staticRoute: (src: NpuId, dst: NpuId) => Route) {}

  /** The flaps down at `ns`: a bit mask up to 30 flaps (no allocation per message), else their indices; 0 when none. */
  private downKey(ns: number): number | string {
    if (this.flaps.length <= 30) {
      let mask = 0;
      for (let i = 0; i < this.flaps.length; i++) if (downUntil(this.flaps[i]!, ns) !== undefined) mask |= 1 << i;
      return mask;
    }
    const down = this.flaps.flatMap((f, i) => (downUntil(f, ns) !== undefined ? [i] : []));
    return down.length ? down.join(",") : 0;
  }

  private isDown(key: number | string, i: number): boolean {
    return typeof key === "number" ? ((key >>> i) & 1) === 1 : key.split(",").includes(String(i));
  }

  route(src: NpuId, dst: NpuId, sentNs: number): Route {
    const key = this.downKey(sentNs);
    if (key === 0) return this.staticRoute(src, dst);
    let f = this.filters.get(key);
    if (!f) {
      const links = new Set<LinkId>(this.base?.links ?? []);
      const devices = new Set<DeviceId>(this.base?.devices ?? []);
      this.flaps.forEach((fl, i) => { if (this.isDown(key, i)) for (const l of fl.links) links.add(l); });
      f = new RouteFilter(this.t, { links, devices });
      this.filters.set(key, f);
    }
    return f.route(src, dst);
  }

  /**
   * The first route src → dst at or after `ns` that has a stripe, and when: a transfer all of whose
   * stripes cross a link down at its send time waits until one of those links comes up (the end of
   * its down window), and is sent then. Empty, at `ns`, when the static faults cut the pair or the
   * flaps together never leave it a stripe within MAX_FLAP_WAITS windows.
   */
  firstUp(src: NpuId, dst: NpuId, ns: number): { route: Route; sendNs: number } {
    let at = ns;
    for (let i = 0; i < MAX_FLAP_WAITS; i++) {
      const up = this.nextUpNs(at);
      if (up === undefined) break;
      at = up;
      const route = this.route(src, dst, at);
      if (route.stripes.length > 0) return { route, sendNs: at };
    }
    return { route: { stripes: [] }, sendNs: ns };
  }

  /** The first time after `ns` at which a flap down at `ns` comes back up; undefined when none is down. */
  nextUpNs(ns: number): number | undefined {
    let up: number | undefined;
    for (const f of this.flaps) {
      const end = downUntil(f, ns);
      if (end !== undefined && (up === undefined || end < up)) up = end;
    }
    return up;
  }
}

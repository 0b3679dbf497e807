import type { DeviceId, LinkId, NpuId } from "../units/index.js";
import type { Path, Route, Topology } from "./types.js";

/** What routes must avoid: links that are down and switch chips that crashed. */
export interface DeadSet {
  readonly links: ReadonlySet<LinkId>;
  readonly devices: ReadonlySet<DeviceId>;
}

/** True when a stripe's path crosses no dead link and enters no dead device. */
export function pathAvoids(t: Topology, path: Path, dead: DeadSet): boolean {
  for (const lid of path) {
    if (dead.links.has(lid) || dead.devices.has(t.links[lid]!.to)) return false;
  }
  return true;
}

/**
 * The route around the dead set: the topology's stripes that avoid it, in their order (so the stripe
 * indices of every actor that applies the same dead set agree). The same object when nothing is
 * removed; no stripes at all when every one of them is cut.
 */
export function filterRoute(t: Topology, route: Route, dead: DeadSet): Route {
  let keep: Path[] | undefined;
  route.stripes.forEach((p, i) => {
    const ok = pathAvoids(t, p, dead);
    if (!ok && !keep) keep = route.stripes.slice(0, i);
    else if (ok && keep) keep.push(p);
  });
  return keep ? { stripes: keep } : route;
}

/**
 * Routes of a topology around one dead set, memoized per endpoint pair. Every actor (endpoints and
 * switches alike) builds its own from the same dead set, so a sender's stripes and the path checks of
 * every switch and destination on their way agree (services/npu stripe-check).
 */
export class RouteFilter {
  private readonly cache = new Map<number, Route>();
  constructor(private readonly t: Topology, readonly dead: DeadSet) {}

  route(src: NpuId, dst: NpuId): Route {
    const key = src * 1_048_576 + dst;
    let r = this.cache.get(key);
    if (r === undefined) {
      r = filterRoute(this.t, this.t.route(src, dst), this.dead);
      this.cache.set(key, r);
    }
    return r;
  }
}

import type { LinkId } from "../units/index.js";
import { Port } from "./port.js";

/** Egress ports of one device, created on first use. */
export class Ports {
  private readonly ports = new Map<LinkId, Port>();
  get(id: LinkId): Port {
    let p = this.ports.get(id);
    if (!p) { p = new Port(); this.ports.set(id, p); }
    return p;
  }
  entries(): IterableIterator<[LinkId, Port]> { return this.ports.entries(); }
}


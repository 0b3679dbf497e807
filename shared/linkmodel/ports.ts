import type { Topology } from "../topology/index.js";
import type { DeviceId, LinkId } from "../units/index.js";
import { Port, type PortHorizon } from "./port.js";

/** Egress ports of one device, indexed by the topology's dense port numbers, created on first use. */
export class Ports implements PortHorizon {
  private readonly ports: (Port | undefined)[];
  /**
   * The horizon shared by this device's ports (see {@link PortHorizon}), set by the actor per message
   * (sim engine). Kept here rather than in an object of its own: one cache line fewer per message.
   */
  horizonNs = -Infinity;
  constructor(private readonly t: Topology, self: DeviceId) {
    this.ports = new Array<Port | undefined>(t.portCount[self] ?? 0).fill(undefined);
  }
  get(id: LinkId): Port {
    const i = this.t.portIndex[id]!;
    let p = this.ports[i];
    if (!p) { p = new Port(this); this.ports[i] = p; }
    return p;
  }
}

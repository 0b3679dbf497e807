import type { Topology } from "../topology/index.js";
import type { DeviceId, LinkId } from "../units/index.js";
import { Port, PORT_SLOT, type PortHorizon } from "./port.js";

/**
 * Egress ports of one device, indexed by the topology's dense port numbers, all created with it: one
 * after another, so they lie together in memory (created on first use, mid-run, they were scattered
 * among the messages of the day, a cache and TLB miss each on the hot path). Their doubles share one
 * Float64Array, a slot of PORT_SLOT each.
 */
export class Ports implements PortHorizon {
  private readonly ports: Port[];
  /**
   * The horizon shared by this device's ports (see {@link PortHorizon}), set by the actor per message
   * (sim engine). Kept here rather than in an object of its own: one cache line fewer per message.
   */
  horizonNs = -Infinity;
  constructor(private readonly t: Topology, self: DeviceId) {
    const n = t.portCount[self] ?? 0, slots = new Float64Array(PORT_SLOT * n); // the ports' doubles, a slot each
    const first = t.portStart[self]!;
    this.ports = Array.from({ length: n }, (_, k) => new Port(this, slots, PORT_SLOT * k, t.links[t.portLinks[first + k]!]!));
  }
  get(id: LinkId): Port {
    return this.ports[this.t.portIndex[id]!]!;
  }
}

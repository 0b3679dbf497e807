import type { Topology } from "../topology/index.js";
import type { DeviceId, LinkId } from "../units/index.js";
import { Port, type PortHorizon } from "./port.js";

/**
 * Egress ports of one device, indexed by the topology's dense port numbers, all created with it: one
 * after another, so they lie together in memory (created on first use, mid-run, they were scattered
 * among the messages of the day, a cache and TLB miss each on the hot path).
 */
export class Ports implements PortHorizon {
  private readonly ports: Port[];
  /**
   * The horizon shared by this device's ports (see {@link PortHorizon}), set by the actor per message
   * (sim engine). Kept here rather than in an object of its own: one cache line fewer per message.
   */
  horizonNs = -Infinity;
  constructor(private readonly t: Topology, self: DeviceId) {
    this.ports = Array.from({ length: t.portCount[self] ?? 0 }, () => new Port(this));
  }
  get(id: LinkId): Port {
    return this.ports[this.t.portIndex[id]!]!;
  }
}

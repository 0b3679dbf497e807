import { hostname } from "node:os";
import type { Logger as PinoLogger } from "pino";
import { Subjects, type DataMsg, type HaltMode } from "../../shared/protocol/index.js";
import { handleAtNs } from "../../shared/linkmodel/index.js";
import { LocalDelivery, NatsActor, type ActorLimits, type ActorLogic } from "../../shared/runtime/index.js";
import { buildTopology, DeviceKind, topologyHash, type Topology, type TopologySpec } from "../../shared/topology/index.js";
import { npuLogic } from "../npu/index.js";
import { switchLogic } from "../switch/index.js";

export interface HostOptions {
  readonly servers: readonly string[];
  readonly run: string;
  /** The resolved topology section, and the hash the coordinator computed for it (topologyHash). */
  readonly topology: TopologySpec;
  readonly hash: string;
  readonly actors: readonly number[];
  readonly heartbeatMs: number;
  readonly inc: number;
  readonly connectOptions?: Record<string, unknown>;
  readonly limits?: ActorLimits;
  /** Hosted actors hand each other messages directly (deployment.localDelivery). */
  readonly localDelivery?: boolean;
  /** The actors' NATS ping interval (deployment.pingIntervalMs); absent: the client's default. */
  readonly pingIntervalMs?: number;
  /** deployment.timing: exact — actors hold data until the coordinator's windows (NatsActor). */
  readonly exactTiming?: boolean;
}

/**
 * A host process's actors: it rebuilds the topology from the same resolved section (and refuses to
 * run if its hash differs from the coordinator's), then starts one NatsActor per hosted device. It
 * loads no scenario parser: hosts start fast, and there may be hundreds of them.
 */
export class ActorHost implements AsyncDisposable {
  readonly actors: NatsActor[] = [];

  constructor(private readonly o: HostOptions, private readonly log: PinoLogger) {}

  async start(): Promise<void> {
    const hash = topologyHash(this.o.topology);
    if (hash !== this.o.hash) throw new Error(`topology hash ${hash.slice(0, 12)} differs from the coordinator's ${this.o.hash.slice(0, 12)}`);
    const t = buildTopology(this.o.topology);
    const subjects = new Subjects(this.o.run);
    const local = this.o.localDelivery && this.o.actors.length > 1 ? new LocalDelivery() : undefined;
    for (const id of this.o.actors) {
      const d = t.devices[id];
      if (!d) throw new Error(`actor ${id} is not a device of this topology (${t.devices.length} devices)`);
      const logic = (d.kind === DeviceKind.Npu ? npuLogic : switchLogic) as ActorLogic<unknown>;
      const actor = new NatsActor({
        servers: this.o.servers, subjects, self: id, name: d.name, logic, topology: t,
        log: this.log.child({ actor: d.name, id }), inc: this.o.inc, heartbeatMs: this.o.heartbeatMs,
        host: hostname(), pid: process.pid, topologyHash: hash, ...(this.o.connectOptions ? { connectOptions: this.o.connectOptions } : {}),
        ...(this.o.limits ? { limits: this.o.limits } : {}), ...(local ? { local } : {}),
        ...(this.o.pingIntervalMs !== undefined ? { pingIntervalMs: this.o.pingIntervalMs } : {}),
        virtualOrder: d.kind === DeviceKind.Switch, // ports are where arrival order reaches virtual time
        ...(this.o.exactTiming ? { exact: { handleAtNs: (m: DataMsg) => dataHandleAtNs(t, id, m) } } : {}),
        // A halted NPU alone in its process takes the process with it, for real (docs/chaos.md §3).
        ...(this.o.actors.length === 1 ? { onHalt: (mode: HaltMode) => process.kill(process.pid, mode === "crash" ? "SIGKILL" : "SIGSTOP") } : {}),
      });
      this.actors.push(actor);
      local?.add(id, actor);
    }
    await Promise.all(this.actors.map((a) => a.start()));
    this.log.info({ actors: this.actors.length }, "actors running");
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.actors.map((a) => a.stop()));
  }

  async [Symbol.asyncDispose](): Promise<void> { await this.stop(); }
}

/**
 * When `to` handles a data message in virtual time — what the sim engine's queue delivers it at
 * (transmit.ts bundle): a switch at its earliest part's head, an endpoint at its last part's delivery.
 */
export function dataHandleAtNs(t: Topology, to: number, m: DataMsg): number {
  const toSwitch = t.devices[to]!.kind === DeviceKind.Switch;
  let at = toSwitch ? Infinity : -Infinity;
  for (const p of m.parts) {
    const when = handleAtNs(t, to, p.headNs, p.tailNs);
    at = toSwitch ? Math.min(at, when) : Math.max(at, when);
  }
  return at;
}

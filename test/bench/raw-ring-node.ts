// One node of the raw NATS ring baseline (see raw-ring.ts): its own process, its own connection.
// It forwards the bytes it receives, touching only the hop counter, so the figure is NATS + Node alone.
import { pathToFileURL } from "node:url";
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";

/** Subjects of the ring, built here only. */
export const ringSubjects = {
  node: (i: number): string => `bench.ring.${i}`,
  ready: (i: number): string => `bench.ring.ready.${i}`,
  anyReady: "bench.ring.ready.*",
  done: "bench.ring.done",
  stop: "bench.ring.stop",
} as const;

/** Bytes at the start of every ring message holding its hop counter (uint32, big-endian). */
export const HOP_COUNTER_BYTES = 4;

/** What the driver passes to a node, as one JSON argument. */
export interface RingNodeArgs {
  readonly url: string;
  /** This node's position, 0-based. */
  readonly index: number;
  /** Nodes in the ring. */
  readonly processes: number;
  /** Hops each message makes (its injection included) before it is reported done. */
  readonly hopsPerMessage: number;
}

/** Subscribes, forwards until each message has made its hops, and resolves when told to stop. */
export async function runRingNode(args: RingNodeArgs): Promise<void> {
  const nc = await connect({ servers: args.url, maxReconnectAttempts: 0 });
  const next = ringSubjects.node((args.index + 1) % args.processes);
  nc.subscribe(ringSubjects.node(args.index), { callback: (_err, msg) => forward(nc, msg, next, args.hopsPerMessage) });
  const stopped = new Promise<void>((resolve) => nc.subscribe(ringSubjects.stop, { max: 1, callback: () => resolve() }));
  await nc.flush(); // both subscriptions are known to the server before we announce readiness
  nc.publish(ringSubjects.ready(args.index));
  await Promise.race([stopped, nc.closed()]);
  if (!nc.isClosed()) await nc.drain();
}

function forward(nc: NatsConnection, msg: Msg, next: string, hopsPerMessage: number): void {
  const data = msg.data; // a view of a fresh socket chunk: ours to change in place
  const view = new DataView(data.buffer, data.byteOffset, HOP_COUNTER_BYTES);
  const hops = view.getUint32(0);
  if (hops >= hopsPerMessage) {
    nc.publish(ringSubjects.done, data);
    return;
  }
  view.setUint32(0, hops + 1);
  nc.publish(next, data);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = JSON.parse(process.argv[2] ?? "{}") as RingNodeArgs;
  // The driver holds our stdin: when it goes away (even killed), so do we.
  process.stdin.on("end", () => process.exit(0)).resume();
  await runRingNode(args);
  process.exit(0);
}

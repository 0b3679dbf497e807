// Raw NATS ring baseline: N processes pass messages around a ring with no decoding, no actor
// logic. The ceiling any NATS engine of ours can reach on this machine, measured side by side.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startEmbeddedServer } from "../../shared/natsserver/index.js";
import { HOP_COUNTER_BYTES, ringSubjects, type RingNodeArgs } from "./raw-ring-node.js";

/** How long nodes get to exit after `bench.ring.stop` before they are killed. */
export const NODE_EXIT_GRACE_MS = 5_000;
const NODE_SCRIPT = fileURLToPath(new URL("./raw-ring-node.js", import.meta.url));

/** Options of {@link runRawRing}. */
export interface RawRingOptions {
  /** NATS server URL. */
  readonly url: string;
  /** OS processes in the ring, one NATS connection each. */
  readonly processes: number;
  /** Bytes per message, hop counter included (≥ 4). */
  readonly payloadBytes: number;
  /** Publishes to make in total, injections included; rounded up to a multiple of the messages in flight. */
  readonly hops: number;
  /** Messages in flight, injected at evenly spaced nodes; default one per process. */
  readonly inFlight?: number;
  /** Wall-clock limit for start-up plus the run, in ms. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Called as the first message is injected and as the last is done (to sample CPU around the run). */
  readonly onWindow?: (phase: "start" | "end") => void;
}

/** What one ring run measured. `wallMs` runs from the first injection to the last message done. */
export interface RawRingResult {
  readonly wallHopsPerSec: number;
  readonly wallMs: number;
  /** Publishes made around the ring (injections and forwards; not the done reports). */
  readonly hops: number;
}

/** Runs one ring of `processes` node processes, `inFlight` messages in flight (default: one per node). */
export async function runRawRing(opts: RawRingOptions): Promise<RawRingResult> {
  if (!Number.isInteger(opts.processes) || opts.processes < 1) throw new RangeError(`processes must be a positive integer, got ${opts.processes}`);
  if (opts.payloadBytes < HOP_COUNTER_BYTES) throw new RangeError(`payloadBytes must be at least ${HOP_COUNTER_BYTES}`);
  if (!existsSync(NODE_SCRIPT)) throw new Error(`${NODE_SCRIPT} is missing: build first (npx tsc -p .)`);
  const n = opts.processes, k = opts.inFlight ?? n;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`inFlight must be a positive integer, got ${k}`);
  const hopsPerMessage = Math.max(1, Math.ceil(opts.hops / k));
  const deadline = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])]);
  const nc = await connect({ servers: opts.url });
  const nodes: ChildProcess[] = [];
  try {
    const ready = collect(nc, ringSubjects.anyReady, n);
    const done = collect(nc, ringSubjects.done, k);
    await nc.flush(); // listening for ready/done before any node can speak
    for (let index = 0; index < n; index++) nodes.push(spawnNode({ url: opts.url, index, processes: n, hopsPerMessage }));
    const failure = firstEarlyExit(nodes);
    failure.catch(() => undefined); // exits after the stop are normal; only a race in guard() reports one
    await guard(ready, failure, deadline, "ring nodes ready");
    opts.onWindow?.("start");
    const t0 = performance.now();
    for (let i = 0; i < k; i++) nc.publish(ringSubjects.node(Math.floor((i * n) / k) % n), initialPayload(opts.payloadBytes));
    await guard(done, failure, deadline, "ring messages done");
    const wallMs = performance.now() - t0;
    opts.onWindow?.("end");
    const hops = hopsPerMessage * k;
    return { wallHopsPerSec: hops / (wallMs / 1000), wallMs, hops };
  } finally {
    if (!nc.isClosed()) {
      nc.publish(ringSubjects.stop);
      await nc.flush().catch(() => undefined);
    }
    await reap(nodes);
    await nc.close();
  }
}

function spawnNode(args: RingNodeArgs): ChildProcess {
  // stdin stays open as the node's lifeline: it exits when we do.
  return spawn(process.execPath, [NODE_SCRIPT, JSON.stringify(args)], { stdio: ["pipe", "ignore", "inherit"] });
}

function initialPayload(bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  new DataView(data.buffer).setUint32(0, 1); // the injection is the message's first hop
  return data;
}

/** Resolves once `count` messages (from distinct subjects, for wildcards) have arrived. */
function collect(nc: NatsConnection, subject: string, count: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const seen = new Set<string>();
    let total = 0;
    const sub = nc.subscribe(subject, {
      callback: (_err, msg) => {
        if (subject.endsWith("*") && seen.has(msg.subject)) return;
        seen.add(msg.subject);
        if (++total === count) {
          sub.unsubscribe();
          resolve();
        }
      },
    });
  });
}

/** Rejects as soon as any node exits on its own, before it was told to stop. */
function firstEarlyExit(nodes: readonly ChildProcess[]): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    for (const [i, node] of nodes.entries()) {
      node.once("exit", (code, sig) => reject(new Error(`ring node ${i} exited early (code ${code}, signal ${sig})`)));
    }
  });
}

async function guard(work: Promise<void>, failure: Promise<never>, deadline: AbortSignal, what: string): Promise<void> {
  deadline.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new Error(`${what}: gave up (${String(deadline.reason)})`));
    deadline.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([work, failure, aborted]);
  } finally {
    if (onAbort) deadline.removeEventListener("abort", onAbort);
  }
}

/** Waits for every node to exit, killing those still alive after {@link NODE_EXIT_GRACE_MS}. */
async function reap(nodes: readonly ChildProcess[]): Promise<void> {
  const exits = nodes.map((node) =>
    node.exitCode !== null || node.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => node.once("exit", () => r())),
  );
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((r) => (timer = setTimeout(r, NODE_EXIT_GRACE_MS)));
  await Promise.race([Promise.all(exits), grace]);
  clearTimeout(timer);
  for (const node of nodes) if (node.exitCode === null && node.signalCode === null) node.kill("SIGKILL");
  for (const node of nodes) node.stdin?.end();
  await Promise.all(exits);
}

const CLI_RINGS = [16, 64] as const;
const CLI_PAYLOAD_BYTES = 1024;
const CLI_HOPS = 500_000;
const CLI_TIMEOUT_MS = 120_000;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await using server = await startEmbeddedServer();
  for (const processes of CLI_RINGS) {
    const r = await runRawRing({ url: server.url, processes, payloadBytes: CLI_PAYLOAD_BYTES, hops: CLI_HOPS, timeoutMs: CLI_TIMEOUT_MS });
    console.log(`raw ring: ${processes} processes, ${CLI_PAYLOAD_BYTES} B payload: ${Math.round(r.wallHopsPerSec)} hops/s`);
  }
}

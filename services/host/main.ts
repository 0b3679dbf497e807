#!/usr/bin/env node
// Process entry of an actor host: parse flags/env, start the actors, handle signals and parent death.
// Deliberately light (no CLI framework, no scenario parser): a full supernode starts many of these.
import { readFileSync } from "node:fs";
import { pino } from "pino";
import type { TopologySpec } from "../../shared/topology/index.js";
import { ActorHost } from "./host.js";
import { credentialsFromEnv, DEFAULT_LIMITS, type ActorLimits } from "../../shared/runtime/index.js";
import { parseActorList, parseHostArgs } from "./args.js";

const args = parseHostArgs(process.argv.slice(2), process.env);
const log = pino({ level: args.logLevel, base: { svc: "host", pid: process.pid } }, pino.destination(2));
// The coordinator writes the actors' limits and delivery mode beside the topology; a file without them
// gets the default limits and pure NATS (containers' files are written by `supernode compose`).
const { topology, hash, limits, localDelivery, timing, pingIntervalMs } = JSON.parse(readFileSync(args.topologyFile, "utf8")) as
  { topology: TopologySpec; hash: string; limits?: Partial<ActorLimits>; localDelivery?: boolean; timing?: string; pingIntervalMs?: number };
const host = new ActorHost({
  servers: args.nats.split(","), run: args.run, topology, hash, actors: parseActorList(args.actors),
  heartbeatMs: args.heartbeatMs, inc: args.inc, connectOptions: credentialsFromEnv(), limits: { ...DEFAULT_LIMITS, ...limits },
  localDelivery: localDelivery === true, exactTiming: timing === "exact",
  ...(typeof pingIntervalMs === "number" ? { pingIntervalMs } : {}),
}, log);

let stopping = false;
async function shutdown(reason: string, code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ reason }, "stopping");
  const force = setTimeout(() => process.exit(code), 3_000);
  force.unref();
  await host.stop();
  process.exit(code);
}
process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
process.on("SIGINT", () => void shutdown("SIGINT", 0));
if (args.watchStdin) {
  process.stdin.on("end", () => void shutdown("parent gone (stdin closed)", 0));
  process.stdin.on("error", () => void shutdown("parent gone (stdin error)", 0));
  process.stdin.resume();
}
// No top-level await: the bundle is CommonJS, for V8's code cache (scripts/bundle.mjs).
host.start().catch(async (err: unknown) => {
  log.error({ err }, "host failed to start");
  await shutdown("start failed", 1);
});

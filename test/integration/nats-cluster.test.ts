import { performance } from "node:perf_hooks";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { decode, encode } from "../../shared/codec/index.js";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedCluster } from "../../shared/natsserver/index.js";
import { COORDINATOR, PROTOCOL_VERSION, Channel, Subjects, type Message } from "../../shared/protocol/index.js";
import { RunError } from "../../shared/errors/index.js";
import { NatsActor, silentLogger, type ActorLogic } from "../../shared/runtime/index.js";
import { npuLogic } from "../../services/npu/index.js";
import { NatsEngine, runScenario, type Report } from "../../services/coordinator/index.js";
import { runSim, singleSwitch } from "../helpers/run.js";

/**
 * The embedded 3-server cluster (deployment.natsServers: 3) and what the loss of one server does:
 * routes carry messages between servers; a client given every URL reconnects to a survivor and the
 * client library re-sends its subscriptions; a training run on the NATS engine loses one server
 * between steps.
 */

/** Bound on each wait below: far above the ~ms a loopback reconnect takes, far below the test timeout. */
const WAIT_MS = 5_000;
const RETRY_MS = 10;
/**
 * The connect options of the coordinator and the actors: after a disconnect the client redials its
 * servers in turn, the lost one first, and waits before redialling a server it dialled less than
 * reconnectTimeWait plus up to 100 ms of jitter (reconnectJitter) ago. So a connection younger than
 * that waits out the rest before it moves on; the engine's connections are seconds old.
 */
const RECONNECT = { maxReconnectAttempts: -1, reconnectTimeWait: 250 } as const;
const SETTLED_MS = RECONNECT.reconnectTimeWait + 100;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Publishes with `send()` every RETRY_MS until `got()` holds: interest crosses a route asynchronously. */
async function until(got: () => boolean, send: () => void, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!got()) {
    if (Date.now() > deadline) throw new Error(`${what}: nothing within ${WAIT_MS} ms`);
    send();
    await sleep(RETRY_MS);
  }
}

/** Resolves at the connection's next "reconnect" status, with the server it reconnected to. */
async function nextReconnect(nc: NatsConnection): Promise<string> {
  for await (const s of nc.status()) if (s.type === "reconnect") return s.server;
  throw new Error("connection closed before reconnecting");
}

describe("embedded nats-server cluster", () => {
  it("routes a message from server 1 to a subscriber on server 3; after kill(0) a client with all URLs reconnects and still receives", async () => {
    const t0 = performance.now();
    await using cluster = await startEmbeddedCluster(3, { jetstream: true });
    console.log(`3-server cluster with JetStream up in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(cluster.urls).toHaveLength(3);
    expect(new Set(cluster.servers.map((s) => s.port)).size).toBe(3);
    const [first, , third] = await Promise.all(cluster.urls.map((u) => connect({ servers: u })));
    let routed = 0;
    third!.subscribe("probe", { callback: () => routed++ });
    await third!.flush();
    await until(() => routed > 0, () => first!.publish("probe"), "server 1 → subscriber on server 3");

    // noRandomize: the client sits on server 0, the one that is killed.
    const client = await connect({ servers: [...cluster.urls], noRandomize: true, ...RECONNECT });
    expect(client.getServer()).toBe(cluster.urls[0]!.replace("nats://", ""));
    let got = 0;
    client.subscribe("after", { callback: () => got++ });
    await client.flush();
    await until(() => got > 0, () => third!.publish("after"), "subscriber on server 0");
    await sleep(SETTLED_MS); // a connection as old as the engine's: no wait before the first redial

    const reconnected = nextReconnect(client);
    const k0 = performance.now();
    await cluster.kill(0);
    const killedMs = performance.now() - k0;
    const to = await reconnected;
    const reconnectMs = performance.now() - k0;
    got = 0;
    await until(() => got > 0, () => third!.publish("after"), "subscriber after the reconnect");
    const deliveredMs = performance.now() - k0;
    console.log(`kill(0): exited after ${killedMs.toFixed(1)} ms, client reconnected to ${to} after ${reconnectMs.toFixed(1)} ms, first message after ${deliveredMs.toFixed(1)} ms`);
    expect(cluster.servers[0]!.alive).toBe(false);
    expect(to).not.toBe(cluster.urls[0]!.replace("nats://", ""));
    expect(reconnectMs).toBeLessThan(1_000);
    await Promise.all([client, first!, third!].map((c) => c.close()));
    await cluster.stop();
    expect(cluster.servers.every((s) => !s.alive)).toBe(true);
  });

  it("refuses a JetStream cluster without a quorum and a server index it does not have", async () => {
    await expect(startEmbeddedCluster(2, { jetstream: true })).rejects.toThrow("clustered JetStream needs at least 3 servers, got 2");
    await using cluster = await startEmbeddedCluster(2);
    await expect(cluster.kill(2)).rejects.toThrow("no server 2 in a cluster of 2");
    expect(cluster.servers.every((s) => s.alive)).toBe(true);
  });

  const HEARTBEAT_MS = 100;
  it("a NatsActor keeps its subscription across the loss of its server: status-req after kill(0) is answered", async () => {
    await using cluster = await startEmbeddedCluster(3);
    const loaded = loadScenario({ raw: { topology: singleSwitch(2), workload: { kind: "collective", collective: "all-reduce", sizes: ["4KiB"] }, engine: "sim" } });
    const subjects = new Subjects("cluster-test");
    const id = loaded.topology.endpoints[0]!;
    await using actor = new NatsActor({
      servers: cluster.urls, subjects, self: id, name: "npu0", logic: npuLogic as ActorLogic<unknown>, topology: loaded.topology,
      log: silentLogger, inc: 0, heartbeatMs: HEARTBEAT_MS, host: "test", pid: process.pid, topologyHash: "test",
      connectOptions: { noRandomize: true }, // on server 0, the one that is killed
    });
    const coord = await connect({ servers: cluster.urls[2]! });
    const replies = new Set<number>();
    let heartbeats = 0;
    coord.subscribe(subjects.inbox(COORDINATOR), {
      callback: (_e, m) => {
        const msg = decode(m.data) as Message;
        if (msg.type === "status" && msg.from === id) replies.add(msg.op);
        if (msg.type === "heartbeat") heartbeats++;
      },
    });
    await coord.flush();
    await actor.start();
    let op = 0;
    const ask = () => coord.publish(subjects.to(Channel.Control, COORDINATOR, id), encode({ v: PROTOCOL_VERSION, type: "status-req", from: COORDINATOR, epoch: 0, inc: 0, op: ++op }));
    await until(() => replies.size > 0, ask, "status before the kill");
    await until(() => heartbeats * HEARTBEAT_MS > SETTLED_MS, () => {}, "heartbeats before the kill"); // as old as the engine's connections

    const k0 = performance.now();
    await cluster.kill(0);
    const firstAfter = op + 1; // only a status-req sent after the kill can be answered over another server
    await until(() => [...replies].some((o) => o >= firstAfter), ask, "status after the kill");
    console.log(`actor answered again ${(performance.now() - k0).toFixed(1)} ms after kill(0) of its server`);
    const beats = heartbeats;
    await until(() => heartbeats > beats, () => {}, "heartbeats after the kill");
    expect(actor.handled).toBeGreaterThanOrEqual(2);
    await coord.close();
  });
});

describe("NATS engine on the embedded cluster", () => {
  it("DP training (26 processes) loses server 1 after step 1: completed steps' digests equal the sim engine's; the next run on the two survivors is ok", async () => {
    const raw = {
      topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 },
      workload: { kind: "training", model: { base: "llama3-8b", layers: 4 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 1024, steps: 6, zero: 0, overlap: false, algorithms: { dp: "ring" } },
      seed: 5,
    };
    const deployment = { natsServers: 3, placement: "per-actor", watchdogMs: 5_000 };
    const loaded = loadScenario({ raw: { ...raw, engine: "nats", deployment } });
    await using engine = await NatsEngine.start(loaded, silentLogger);
    expect(engine.servers).toBe(3);
    await expect(engine.killServer(3)).rejects.toThrow("the embedded cluster has servers 0..2");
    const coordEvents: string[] = [];
    let k0 = 0;
    void (async () => { for await (const st of engine.connection.status()) coordEvents.push(`${st.type} +${(performance.now() - k0).toFixed(1)} ms`); })();
    let killed: Promise<void> | undefined, coordOn = "";
    // Step 1 (the second) verified: the server is SIGKILLed just before step 2's op-open and op-starts go out.
    const progress = {
      start() {}, stop() {},
      update(done: number, phase: string) {
        if (done !== 2 || !phase.endsWith("verified") || killed) return;
        coordOn = engine.connection.info?.server_name ?? "";
        k0 = performance.now();
        killed = engine.killServer(1);
      },
    };
    const nats: Report = await runScenario(loaded, engine, undefined, progress);
    await killed;
    expect(killed).toBeDefined();
    const sim = await runSim({ ...raw, engine: "sim" });
    const steps = nats.steps ?? [];
    console.log(`coordinator was on ${coordOn}${coordOn === "nats-1" ? " (killed)" : ""}; its connection after the kill: ${coordEvents.join(", ") || "no events"}`);
    console.log(`status ${nats.status}${nats.stall ? `; stall: ${nats.stall}` : ""}`);
    steps.forEach((s, i) => console.log(`step ${i}: verified ${s.verified}, ${s.wallMs} ms wall, nats ${s.virtualTimeNs} ns, sim ${sim.steps![i]!.virtualTimeNs} ns${s.verifyError ? `, ${s.verifyError}` : ""}`));
    const completed = steps.filter((s) => s.verified);
    expect(completed.length).toBeGreaterThanOrEqual(2); // the two steps before the kill
    expect(completed.map((s) => s.paramDigest)).toEqual(sim.steps!.slice(0, completed.length).map((s) => s.paramDigest));
    if (nats.status === "ok") expect(steps).toHaveLength(6);
    else expect(nats.status).toBe("stalled");

    // Every connection has moved to a survivor: a new run on the same engine (op ids and virtual time go on) is ok.
    const again = loadScenario({ raw: { ...raw, workload: { ...raw.workload, steps: 2 }, engine: "nats", deployment } });
    const after = await runScenario(again, engine);
    expect(after.status, after.stall).toBe("ok");
    expect(after.steps!.map((s) => s.paramDigest)).toEqual(sim.steps!.slice(0, 2).map((s) => s.paramDigest));
  });
});

describe("killServer refuses without an embedded cluster", () => {
  it("one embedded server: nothing to fail over to", async () => {
    const loaded = loadScenario({ raw: { topology: singleSwitch(2), workload: { kind: "collective", collective: "all-reduce", sizes: ["4KiB"] }, engine: "nats" } });
    await using engine = await NatsEngine.start(loaded, silentLogger);
    expect(engine.servers).toBe(1);
    await expect(engine.killServer(0)).rejects.toThrow(RunError);
    await expect(engine.killServer(0)).rejects.toThrow("deployment.natsServers: 3");
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errors, type NatsConnection } from "@nats-io/transport-node";
import { Channel, COORDINATOR, Subjects } from "../../shared/protocol/index.js";
import { connectAs, makeDeployment, startNatsCluster, type NatsCluster, type TestDeployment } from "./fixtures.js";

/**
 * The generated NATS users and permissions, enforced by a real 3-server cluster in containers: no
 * anonymous or wrong-password client gets in; an NPU can speak only as itself; only the coordinator
 * (and chaos) send control; an observer can publish nothing; an operator only calls the control API.
 * Each refusal is checked both ways: the client is told (PermissionViolationError) and a watcher with
 * rights to everything never sees it, while the same watcher does see the allowed messages around it.
 */
const SMALL_CM384 = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" };
const RUN = "sec";
let d: TestDeployment;
let cluster: NatsCluster;
const subjects = new Subjects(RUN);

beforeAll(async () => {
  d = makeDeployment({
    topology: SMALL_CM384, workload: { kind: "collective", collective: "all-reduce", sizes: ["4KiB"] }, deployment: { run: RUN },
  }, "per-actor");
  cluster = await startNatsCluster(d);
});
afterAll(async () => { await cluster?.[Symbol.asyncDispose](); });

/** How long a refusal may take to come back from the server (it answers within a round trip). */
const VIOLATION_WAIT_MS = 5_000;

/** The next permission violation the server reports on this connection; rejects if none comes. */
async function nextViolation(nc: NatsConnection): Promise<errors.PermissionViolationError> {
  const iter = nc.status()[Symbol.asyncIterator]();
  const deadline = Date.now() + VIOLATION_WAIT_MS;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no permission violation within ${VIOLATION_WAIT_MS} ms: the server allowed it`)), Math.max(0, deadline - Date.now()));
    });
    try {
      const next = await Promise.race([iter.next(), timeout]);
      if (next.done) throw new Error("connection closed without a permission violation");
      if (next.value.type === "error" && next.value.error instanceof errors.PermissionViolationError) return next.value.error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Collects every subject the observer sees on sn.<run>.> from now on. */
async function watch(): Promise<{ seen: string[]; nc: NatsConnection }> {
  const nc = await connectAs(cluster, d, "observer");
  const seen: string[] = [];
  nc.subscribe(`sn.${RUN}.>`, { callback: (_e, m) => seen.push(m.subject) });
  await nc.flush();
  return { seen, nc };
}

/** Publishes a marker as the coordinator and waits until the observer has it: everything sent before has been routed. */
async function barrier(w: { seen: string[] }, marker: string): Promise<void> {
  const coord = await connectAs(cluster, d, "coordinator");
  coord.publish(marker, new Uint8Array([1]));
  await coord.flush();
  const deadline = Date.now() + 5_000;
  while (!w.seen.includes(marker)) {
    if (Date.now() > deadline) throw new Error(`observer never saw ${marker}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await coord.close();
}

describe("NATS cluster security (3 servers in containers, generated users)", () => {
  it("every server runs JetStream and has routes to the two others", async () => {
    for (let i = 0; i < 3; i++) {
      expect((await cluster.monitor(i, "/healthz?js-enabled-only=true")).status).toBe(200);
      expect((await cluster.monitor(i, "/routez")).body.num_routes).toBe(2);
      expect((await cluster.monitor(i, "/jsz")).body.config?.store_dir).toMatch(/^\/data\/jetstream/);
    }
  });

  it("refuses a client without credentials and one with a wrong password; accepts the right one", async () => {
    await expect(connectAs(cluster, d, undefined)).rejects.toBeInstanceOf(errors.AuthorizationError);
    await expect(connectAs(cluster, d, "coordinator", { pass: "not-the-password" })).rejects.toBeInstanceOf(errors.AuthorizationError);
    await expect(connectAs(cluster, d, "npu-n0-3", { user: "coordinator" })).rejects.toBeInstanceOf(errors.AuthorizationError);
    const nc = await connectAs(cluster, d, "coordinator");
    expect(nc.isClosed()).toBe(false);
    await nc.close();
  });

  it("an NPU cannot send control as the coordinator; the coordinator can", async () => {
    const w = await watch();
    const npu = await connectAs(cluster, d, "npu-n0-3");
    const forged = subjects.to(Channel.Control, COORDINATOR, 3); // sn.sec.c.coord.3
    const violation = nextViolation(npu);
    npu.publish(forged, new Uint8Array([0xde, 0xad]));
    const v = await violation;
    expect(v.operation).toBe("publish");
    expect(v.subject).toBe(forged);
    await barrier(w, subjects.to(Channel.Control, COORDINATOR, 4));
    expect(w.seen).not.toContain(forged);
    expect(w.seen).toContain(subjects.to(Channel.Control, COORDINATOR, 4));
    expect(npu.isClosed()).toBe(false); // a violation is refused, not a disconnect
    await Promise.all([npu.close(), w.nc.close()]);
  });

  it("an NPU publishes only as itself and reads only its own inbox", async () => {
    const w = await watch();
    const npu = await connectAs(cluster, d, "npu-n0-3");
    const own = subjects.to(Channel.Data, 3, 8);
    const spoofed = subjects.to(Channel.Data, 4, 8);
    let violation = nextViolation(npu);
    npu.publish(spoofed, new Uint8Array([1]));
    expect((await violation).subject).toBe(spoofed);
    npu.publish(own, new Uint8Array([1]));
    await npu.flush();
    await barrier(w, subjects.to(Channel.Control, COORDINATOR, 5));
    expect(w.seen).toContain(own);
    expect(w.seen).not.toContain(spoofed);

    violation = nextViolation(npu);
    npu.subscribe(subjects.inbox(4));
    const sv = await violation;
    expect(sv.operation).toBe("subscription");
    expect(sv.subject).toBe(subjects.inbox(4));
    await Promise.all([npu.close(), w.nc.close()]);
  });

  it("an observer cannot publish anything; chaos may send control but not data", async () => {
    const w = await watch();
    const observer = await connectAs(cluster, d, "observer");
    let violation = nextViolation(observer);
    observer.publish(subjects.to(Channel.Control, COORDINATOR, 3), new Uint8Array([1]));
    expect((await violation).operation).toBe("publish");

    const chaos = await connectAs(cluster, d, "chaos");
    violation = nextViolation(chaos);
    chaos.publish(subjects.to(Channel.Data, 3, 8), new Uint8Array([1]));
    expect((await violation).subject).toBe(subjects.to(Channel.Data, 3, 8));
    chaos.publish(subjects.to(Channel.Control, COORDINATOR, 6), new Uint8Array([1]));
    await chaos.flush();
    await barrier(w, subjects.to(Channel.Control, COORDINATOR, 7));
    expect(w.seen).toContain(subjects.to(Channel.Control, COORDINATOR, 6));
    expect(w.seen).not.toContain(subjects.to(Channel.Data, 3, 8));
    expect(w.seen.filter((s) => s === subjects.to(Channel.Control, COORDINATOR, 3))).toEqual([]);
    await Promise.all([observer.close(), chaos.close(), w.nc.close()]);
  });

  it("an operator may call the control API but not send control", async () => {
    const w = await watch();
    const operator = await connectAs(cluster, d, "operator");
    const violation = nextViolation(operator);
    operator.publish(subjects.to(Channel.Control, COORDINATOR, 3), new Uint8Array([1]));
    expect((await violation).subject).toBe(subjects.to(Channel.Control, COORDINATOR, 3));
    operator.publish(`sn.${RUN}.api.status`, new Uint8Array());
    await operator.flush();
    await barrier(w, subjects.to(Channel.Control, COORDINATOR, 2));
    expect(w.seen).toContain(`sn.${RUN}.api.status`);
    expect(w.seen).not.toContain(subjects.to(Channel.Control, COORDINATOR, 3));
    await Promise.all([operator.close(), w.nc.close()]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errors, type NatsConnection } from "@nats-io/transport-node";
import { Channel, COORDINATOR, Subjects } from "../../shared/protocol/index.js";
import { natsAuthConf, operatorInboxPrefix, passwordsFor, type Principal } from "../../services/cli/compose/index.js";
import { connectAs, makeDeployment, startNatsCluster, type NatsCluster, type TestDeployment } from "./fixtures.js";

/**
 * The generated NATS users and permissions, enforced by a real 3-server cluster in containers: no
 * anonymous or wrong-password client gets in; an NPU can speak only as itself; only the coordinator
 * (and chaos) send control; an observer can publish nothing; an operator only calls the control API.
 * Each refusal is checked both ways: the client is told (PermissionViolationError) and a watcher with
 * rights to everything never sees it, while the same watcher does see the allowed messages around it.
 *
 * The cluster serves two runs, each with its own generated users (run B's renamed `b-…`, since both
 * deployments name their users alike): every credential of run A is refused on run B's subjects, for
 * publish and subscribe, and run B's own observer sees none of run A's attempts.
 */
const SMALL_CM384 = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "aggregated" };
const RUN = "sec";
const RUN_B = "other";
let d: TestDeployment;
let cluster: NatsCluster;
const subjects = new Subjects(RUN);
const subjectsB = new Subjects(RUN_B);

function deploymentOfRun(run: string): TestDeployment {
  return makeDeployment({
    topology: SMALL_CM384, workload: { kind: "collective", collective: "all-reduce", sizes: ["4KiB"] }, deployment: { run },
  }, "per-actor");
}

/** The `{ user: … }` lines of a generated auth file. */
const userLines = (conf: string) => conf.split("\n").filter((l) => /^\s*\{ user: /.test(l));

/**
 * Run A's deployment whose servers also hold run B's generated users, renamed `b-<user>` (as an
 * operator sharing one cluster between two generated deployments would have to).
 */
function twoRuns(): TestDeployment {
  const a = deploymentOfRun(RUN);
  const b = deploymentOfRun(RUN_B);
  const renamed: Principal[] = b.principals.map((p) => ({ ...p, user: `b-${p.user}`, passwordVar: p.passwordVar.replace(/^SN_PASS_/, "SN_PASS_B_") }));
  const authConf = a.authConf.replace(/^(\s*\{ user: [^\n]*\n)(?!\s*\{ user: )/m, (last) => last + userLines(natsAuthConf(renamed, RUN_B)).join("\n") + "\n");
  const principals = [...a.principals, ...renamed];
  expect(userLines(authConf)).toHaveLength(principals.length);
  return { ...a, principals, authConf, passwords: passwordsFor(principals) };
}

beforeAll(async () => {
  d = twoRuns();
  cluster = await startNatsCluster(d);
});
afterAll(async () => { await cluster?.[Symbol.asyncDispose](); });

/** How long a refusal may take to come back from the server (it answers within a round trip). */
const VIOLATION_WAIT_MS = 5_000;

/** The next `n` permission violations the server reports on this connection; rejects if they do not come. */
async function violations(nc: NatsConnection, n: number): Promise<errors.PermissionViolationError[]> {
  const iter = nc.status()[Symbol.asyncIterator]();
  const deadline = Date.now() + VIOLATION_WAIT_MS;
  const out: errors.PermissionViolationError[] = [];
  while (out.length < n) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${out.length} of ${n} permission violations within ${VIOLATION_WAIT_MS} ms (${out.map((v) => v.subject).join(", ")}): the server allowed the others`)), Math.max(0, deadline - Date.now()));
    });
    try {
      const next = await Promise.race([iter.next(), timeout]);
      if (next.done) throw new Error("connection closed without a permission violation");
      if (next.value.type === "error" && next.value.error instanceof errors.PermissionViolationError) out.push(next.value.error);
    } finally {
      clearTimeout(timer);
    }
  }
  return out;
}

/** The next permission violation the server reports on this connection; rejects if none comes. */
async function nextViolation(nc: NatsConnection): Promise<errors.PermissionViolationError> {
  return (await violations(nc, 1))[0]!;
}

/** Collects every subject a watcher (run A's observer unless told) sees on sn.<run>.> from now on. */
async function watch(user = "observer", run = RUN): Promise<{ seen: string[]; nc: NatsConnection }> {
  const nc = await connectAs(cluster, d, user);
  const seen: string[] = [];
  nc.subscribe(`sn.${run}.>`, { callback: (_e, m) => seen.push(m.subject) });
  await nc.flush();
  return { seen, nc };
}

/** Publishes a marker as a coordinator and waits until the watcher has it: everything sent before has been routed. */
async function barrier(w: { seen: string[] }, marker: string, as = "coordinator"): Promise<void> {
  const coord = await connectAs(cluster, d, as);
  coord.publish(marker, new Uint8Array([1]));
  await coord.flush();
  const deadline = Date.now() + 5_000;
  while (!w.seen.includes(marker)) {
    if (Date.now() > deadline) throw new Error(`watcher never saw ${marker}`);
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

describe("one set of credentials per run (run A's users on a cluster that also serves run B)", () => {
  it("the generated permissions name run A only (and $SRV discovery, global by the micro protocol)", () => {
    const a = userLines(d.authConf).filter((l) => !l.includes('user: "b-'));
    expect(a).toHaveLength(30);
    for (const line of a) {
      const patterns = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]!).slice(1); // after the user name
      for (const p of patterns) expect(p, line).toMatch(new RegExp(`^(sn\\.${RUN}\\.|\\$SRV\\.>$|_INBOX\\.${RUN}\\.>$|_INBOX\\.${RUN}\\.chaos\\.>$|>$)`));
    }
  });

  it("run A's actors, coordinator, chaos and operator cannot publish on run B; run B's observer sees none of it", async () => {
    const wB = await watch("b-observer", RUN_B);
    const attempts: [string, string[]][] = [
      // Each principal's own allowed subjects, in run B.
      ["npu-n0-3", [subjectsB.to(Channel.Data, 3, 8), subjectsB.to(Channel.Report, 3, COORDINATOR), subjectsB.to(Channel.Heartbeat, 3, COORDINATOR)]],
      ["l1-n0", [subjectsB.to(Channel.Data, 8, 3)]],
      ["coordinator", [subjectsB.to(Channel.Control, COORDINATOR, 3)]],
      ["chaos", [subjectsB.to(Channel.Control, COORDINATOR, 5)]],
      ["operator", [`sn.${RUN_B}.api.status`, `sn.${RUN_B}.api.stop`]],
    ];
    for (const [user, forged] of attempts) {
      const nc = await connectAs(cluster, d, user);
      const refused = violations(nc, forged.length);
      for (const s of forged) nc.publish(s, new Uint8Array([0xde, 0xad]));
      const v = await refused;
      expect(v.map((x) => [x.operation, x.subject]), user).toEqual(forged.map((s) => ["publish", s]));
      expect(nc.isClosed()).toBe(false);
      await nc.close();
    }
    // Run B's own NPU is delivered (the watcher works), then a marker from B's coordinator: all routed.
    const npuB = await connectAs(cluster, d, "b-npu-n0-3");
    npuB.publish(subjectsB.to(Channel.Data, 3, 8), new Uint8Array([1]));
    await npuB.flush();
    const marker = subjectsB.to(Channel.Control, COORDINATOR, 4);
    await barrier(wB, marker, "b-coordinator");
    expect(wB.seen).toEqual([subjectsB.to(Channel.Data, 3, 8), marker]);
    await Promise.all([npuB.close(), wB.nc.close()]);
  });

  it("run A's users cannot subscribe to run B: not its inboxes, not all of it, not sn.>", async () => {
    const attempts: [string, string[]][] = [
      ["npu-n0-3", [subjectsB.inbox(3), `sn.${RUN_B}.>`]],
      ["coordinator", [subjectsB.inbox(COORDINATOR), `sn.${RUN_B}.api.>`]],
      ["chaos", [`sn.${RUN_B}.>`, "sn.>"]],
      ["observer", [`sn.${RUN_B}.>`, `sn.${RUN_B}.*.*.3`, "sn.>", ">"]],
      ["operator", ["_INBOX.>", `_INBOX.${RUN_B}.>`]],
    ];
    const got: string[] = [];
    const closedWith: string[] = [];
    const held: NatsConnection[] = [];
    for (const [user, refusedSubs] of attempts) {
      const nc = await connectAs(cluster, d, user);
      held.push(nc);
      const refused = violations(nc, refusedSubs.length);
      for (const s of refusedSubs) {
        nc.subscribe(s, {
          // The refused subscription ends with the violation as its error; a message here would be a leak.
          callback: (err, m) => err ? closedWith.push(`${user} ${s} ${err.name}`) : got.push(`${user} ${m.subject}`),
        });
      }
      const v = await refused;
      expect(v.map((x) => [x.operation, x.subject]).sort(), user).toEqual(refusedSubs.map((s) => ["subscription", s]).sort());
    }
    // Traffic of run B to NPU 3 and to the coordinator reaches run B's own users, and no one of run A.
    const inboxB = await connectAs(cluster, d, "b-npu-n0-3");
    const seenB: string[] = [];
    inboxB.subscribe(subjectsB.inbox(3), { callback: (_e, m) => seenB.push(m.subject) });
    await inboxB.flush();
    const wB = await watch("b-observer", RUN_B);
    const coordB = await connectAs(cluster, d, "b-coordinator");
    coordB.publish(subjectsB.to(Channel.Control, COORDINATOR, 3), new Uint8Array([1]));
    inboxB.publish(subjectsB.to(Channel.Report, 3, COORDINATOR), new Uint8Array([1]));
    await Promise.all([coordB.flush(), inboxB.flush()]);
    await barrier(wB, subjectsB.to(Channel.Control, COORDINATOR, 4), "b-coordinator");
    expect(seenB).toEqual([subjectsB.to(Channel.Control, COORDINATOR, 3)]);
    expect(wB.seen).toContain(subjectsB.to(Channel.Report, 3, COORDINATOR));
    expect(got).toEqual([]);
    expect(closedWith.sort()).toEqual(attempts.flatMap(([user, subs]) => subs.map((s) => `${user} ${s} PermissionViolationError`)).sort());
    await Promise.all([...held, inboxB, coordB, wB.nc].map((nc) => nc.close()));
  });

  it("an operator reads replies only under its run's inbox prefix", async () => {
    const coord = await connectAs(cluster, d, "coordinator");
    coord.subscribe(`sn.${RUN}.api.status`, { callback: (_e, m) => m.respond(JSON.stringify({ run: RUN })) });
    await coord.flush();
    const operator = await connectAs(cluster, d, "operator", { inboxPrefix: operatorInboxPrefix(RUN) });
    expect(operatorInboxPrefix(RUN)).toBe("_INBOX.sec");
    const reply = await operator.request(`sn.${RUN}.api.status`, new Uint8Array(), { timeout: 5_000 });
    expect(reply.json()).toEqual({ run: RUN });
    // With the default prefix (_INBOX.>) its reply subscription is refused.
    const plain = await connectAs(cluster, d, "operator");
    const v = nextViolation(plain);
    plain.subscribe(`_INBOX.${"x".repeat(8)}`);
    expect((await v).operation).toBe("subscription");
    await Promise.all([coord.close(), operator.close(), plain.close()]);
  });
});

import { isDeepStrictEqual } from "node:util";
import { crc32 as zlibCrc32 } from "node:zlib";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decode as projectDecode } from "../../shared/codec/index.js";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario, type Report } from "../../services/coordinator/index.js";
import { withControlService } from "../../services/cli/serve.js";
import { CRC32_CHECK, crc32Bytes } from "./client/crc32.js";
import { connectClient, nextMessage, Spy } from "./client/spy.js";
import { decodeApiBody, encodeMessage, WIRE_TYPES, type OpAbort, type WireMessage } from "./client/wire.js";
import { hostPidOf, natsScenario, ringAllReduce, sleep } from "./harness.js";

/**
 * The independent decoder (test/adversarial/client, written from docs/wire-format.md) against a whole
 * default run: a spy on `sn.<run>.>` decodes every message, checks every stripe's CRC with its own
 * CRC-32 and every subject against the body's sender, and must fail on none. As a check that the
 * document maps positions to the right names, each decoded message must equal the project's own
 * decoding, field for field, and each data message must re-encode to the very same bytes. op-abort is
 * sent only when an op stalls, so a second run is made to stall (one host SIGKILLed).
 */
let server: EmbeddedServer;
let nc: NatsConnection;
beforeAll(async () => { server = await startEmbeddedServer(); nc = await connectClient(server.url, "spy"); });
afterAll(async () => { await nc?.close(); await server?.stop(); });

/** A spy that also holds every decoding to the project's, and data to byte-identical re-encoding. */
function checkedSpy(): { spy: Spy; mismatches: string[]; reencoded: { same: number; differ: string[] }; aborts: OpAbort[] } {
  const mismatches: string[] = [], reencoded = { same: 0, differ: [] as string[] }, aborts: OpAbort[] = [];
  const spy = new Spy((subject: string, bytes: Uint8Array, m: WireMessage) => {
    if (!isDeepStrictEqual(m, projectDecode(bytes))) mismatches.push(`${subject} ${m.type}`);
    if (m.type === "op-abort") aborts.push(m);
    if (m.type !== "data") return;
    // Data travels in the binary layout (wire-format §5.2), which leaves a writer no choices: the same bytes.
    if (Buffer.from(encodeMessage(m)).equals(Buffer.from(bytes))) reencoded.same++;
    else reencoded.differ.push(subject);
  });
  return { spy, mismatches, reencoded, aborts };
}

async function waitUntil(cond: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end;) await sleep(20);
}

describe("the independent client decodes every message of a run", () => {
  it("its CRC-32 is the IEEE one (check value, and zlib on a payload's bytes)", () => {
    expect(crc32Bytes(new TextEncoder().encode("123456789"))).toBe(CRC32_CHECK);
    const bytes = new Uint8Array(new Float64Array([1.5, -2, 3e300, 0]).buffer);
    expect(crc32Bytes(bytes)).toBe(zlibCrc32(bytes));
    expect(crc32Bytes(new Uint8Array(0))).toBe(0);
  });

  it("a full default run (ring all-reduce 4KiB…1GiB, 26 actor processes): every message and API reply", async () => {
    const run = "adv-decode";
    const loaded = loadScenario({ sets: ["engine=nats", `deployment.nats=${server.url}`, `deployment.run=${run}`] });
    const { spy, mismatches, reencoded } = checkedSpy();
    await spy.start(nc, `sn.${run}.>`);
    const api: Record<string, unknown> = {};
    // The run is under way (and its control service up) once a rank reports.
    const underWay = nextMessage(nc, `sn.${run}.u.*.coord`, (m) => m.type === "op-done", 120_000);
    await nc.flush();
    let report: Report;
    {
      await using engine = await NatsEngine.start(loaded, silentLogger);
      const ac = new AbortController();
      [report] = await Promise.all([
        withControlService(engine, (why) => ac.abort(why), () => runScenario(loaded, engine, ac.signal)),
        (async () => {
          await underWay;
          api.status = decodeApiBody((await nc.request(`sn.${run}.api.status`, "", { timeout: 10_000 })).data);
          const refused = await nc.request(`sn.${run}.api.run`, "", { timeout: 10_000 });
          api.run = { code: refused.headers?.get("Nats-Service-Error-Code"), error: refused.headers?.get("Nats-Service-Error"), body: decodeApiBody(refused.data) };
          api.info = decodeApiBody((await nc.request("$SRV.INFO.supernode-coordinator", "", { timeout: 10_000 })).data);
        })(),
      ]);
      // Every actor answers each status-req, maybe after the coordinator stopped waiting.
      await waitUntil(() => spy.counts.status >= spy.counts["status-req"], 3_000);
    }
    spy.stop();
    const ops = report.results.length, ranks = 8, switches = 18, actors = 26;
    console.log(`decoder: ${spy.total} messages (${(spy.bytes / 2 ** 20).toFixed(1)} MiB), by type`, JSON.stringify(spy.counts), `${spy.crcChecked} stripe CRCs, ${reencoded.same} data messages re-encoded byte for byte`);
    console.log("decoder: api", JSON.stringify(api));
    expect(report.status).toBe("ok");
    expect(ops).toBe(4);
    expect(report.topology.actorCount).toBe(actors);
    expect(spy.failures).toEqual([]);
    expect(spy.senderProblems).toEqual([]);
    expect(spy.crcBad).toEqual([]);
    expect(mismatches).toEqual([]);
    expect(reencoded.differ).toEqual([]);
    // It saw every message: the counts the coordinator's protocol implies, and every data hop the actors counted.
    expect(spy.counts).toMatchObject({
      "op-start": ops * ranks, "op-open": ops * switches, "op-close": ops * switches, "op-done": ops * ranks,
      "status-req": ops * actors, status: ops * actors, "op-abort": 0,
    });
    expect(spy.counts.heartbeat).toBeGreaterThanOrEqual(actors);
    expect(spy.counts.data).toBe(report.results.reduce((n, r) => n + r.messages, 0));
    expect(spy.crcChecked).toBeGreaterThanOrEqual(spy.counts.data);
    expect(reencoded.same).toBeGreaterThan(0);
    // op-abort only when a run stalls (below); fault only when a scenario declares faults (test/unit/fault-wire.test.ts decodes one);
    // halted only when a mid-op crash or hang strikes (test/integration/nats-mid-op.test.ts); window and
    // window-report only with deployment.timing: exact (test/integration/nats-exact-timing.test.ts).
    const rare = new Set<string>(["op-abort", "fault", "halted", "window", "window-report"]);
    for (const t of WIRE_TYPES.filter((x) => !rare.has(x))) expect(spy.counts[t], t).toBeGreaterThan(0);
    // The control API: JSON status while running, 409 for `run` (this coordinator runs one workload), $SRV discovery.
    expect(spy.apiRequests.get("status")).toBe(1);
    expect(api.status).toMatchObject({ phase: "running", run, engine: "nats", processes: actors, actors, registered: actors, dead: [] });
    expect(api.run).toMatchObject({ code: "409", body: undefined });
    expect(api.info).toMatchObject({ type: "io.nats.micro.v1.info_response", name: "supernode-coordinator", version: "0.1.0", metadata: { run } });
    expect((api.info as { endpoints: { subject: string }[] }).endpoints.map((e) => e.subject).sort()).toEqual([`sn.${run}.api.chaos`, `sn.${run}.api.run`, `sn.${run}.api.status`, `sn.${run}.api.stop`]);
  });

  it("a run that stalls (one host SIGKILLed mid-run): op-abort is seen and decoded", async () => {
    const run = "adv-stall";
    const loaded = natsScenario(ringAllReduce(...Array<string>(200).fill("64MiB")), server.url, run, { heartbeatMs: 200, heartbeatTimeoutMs: 1500, watchdogMs: 5000 });
    const { spy, mismatches, aborts } = checkedSpy();
    await spy.start(nc, `sn.${run}.>`);
    const op3Reported = nextMessage(nc, `sn.${run}.u.*.coord`, (m) => m.type === "op-done" && m.op === 3, 120_000);
    await nc.flush();
    let report: Report;
    {
      await using engine = await NatsEngine.start(loaded, silentLogger);
      const victim = hostPidOf(engine, loaded, 4); // node 1's host: npu.n1.0…3 and l1.n1
      [report] = await Promise.all([
        runScenario(loaded, engine),
        (async () => {
          await op3Reported;
          process.kill(victim, "SIGKILL");
        })(),
      ]);
      await waitUntil(() => aborts.length >= 8, 3_000);
    }
    spy.stop();
    console.log(`stall: ${spy.total} messages by type`, JSON.stringify(spy.counts), "status", report.status);
    expect(report.status).toBe("stalled");
    expect(report.results.length).toBeLessThan(200);
    expect(spy.failures).toEqual([]);
    expect(spy.crcBad).toEqual([]);
    expect(mismatches).toEqual([]);
    // The coordinator aborts the stalled op at every rank of its group, the dead ones too.
    expect(aborts).toHaveLength(8);
    expect(new Set(aborts.map((a) => a.op)).size).toBe(1);
    for (const a of aborts) expect(a).toMatchObject({ from: -1, reason: "stalled", epoch: 1 });
  });
});

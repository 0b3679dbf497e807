import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import type { Report } from "../../services/coordinator/index.js";
import { runSim } from "../helpers/run.js";
import { payloadCrc } from "./client/crc32.js";
import { connectClient, nextMessage } from "./client/spy.js";
import { encodeMessage, subjectOf, type DataMessage } from "./client/wire.js";
import { natsScenario, ringAllReduce, runNats, SMALL_CM384, virtualTimes } from "./harness.js";

/**
 * Forged senders. Between op 1 and op 2 of a run (the moment a client sees op 1's op-close), it
 * publishes three data messages of op 2 that are well formed, carry a valid CRC, and lie about who
 * sends them:
 *   A  on sn.<run>.d.0.8 (npu.n0.0 → l1.n0), body from = 9: the body's sender is not the subject's
 *      → refused at l1.n0's edge (authenticate.ts), forged;
 *   B  on the same subject, body from = 0 (true), src = 6 (npu.n1.2), on npu.n0.0's own path to
 *      npu.n0.1: a spoofed source → that path is not the route of 6 → 1, refused by l1.n0, forged;
 *   C  on sn.<run>.d.9.1 (l1.n1 → npu.n0.1), from = 9, src = 6, on the true route 6 → 1 at its last
 *      hop: that hop comes from l1.n0, not l1.n1 → refused by npu.n0.1, forged.
 * A switch holds B until op-open 2 if it comes early, npu.n0.1 holds C until op-start 2: the refusal
 * is the same. So the report counts forged = 3 (l1.n0: 2, npu.n0.1: 1) and nothing else, and every
 * result is the clean one (the sim engine's, bit for bit) and verified.
 */
let server: EmbeddedServer;
beforeAll(async () => { server = await startEmbeddedServer(); });
afterAll(async () => { await server?.stop(); });

const WORKLOAD = ringAllReduce("4KiB", "1MiB", "64MiB");
const [NPU0, NPU1, SRC6, L1N0, L1N1] = [0, 1, 6, 8, 9];

describe("forged senders are refused and counted, results unchanged", () => {
  it("body from ≠ subject sender, spoofed src, a switch speaking for a hop it is not on", async () => {
    const run = "adv-forge";
    const loaded = natsScenario(WORKLOAD, server.url, run);
    const route = (s: number, d: number) => loaded.topology.route(s as never, d as never).stripes as readonly (readonly number[])[];
    const payload = new Float64Array([1, 2, 3, 4]);
    const forged = (from: number, src: number, path: readonly number[], hop: number): DataMessage => ({
      v: 1, type: "data", from, epoch: 1, inc: 0, op: 2, src, dst: NPU1, tag: 0, stripes: route(src, NPU1).length, totalBytes: 512, sentNs: 0,
      parts: [{ stripe: 0, bytes: 256, headNs: 0, tailNs: 0, path: [...path], hop, payload, crc: payloadCrc(payload) }],
    });
    const nc = await connectClient(server.url, "forger");
    // Listening before the run starts: op 1 (4 KiB) may be over within milliseconds.
    const op1Closed = nextMessage(nc, `sn.${run}.c.coord.${L1N0}`, (m) => m.type === "op-close" && m.op === 1, 120_000);
    await nc.flush();
    let report: Report;
    try {
      report = await runNats(loaded, async () => {
        await op1Closed;
        nc.publish(subjectOf(run, "d", NPU0, L1N0), encodeMessage(forged(L1N1, SRC6, route(SRC6, NPU1)[0]!, 0))); // A
        nc.publish(subjectOf(run, "d", NPU0, L1N0), encodeMessage(forged(NPU0, SRC6, route(NPU0, NPU1)[0]!, 0))); // B
        const r61 = route(SRC6, NPU1)[0]!;
        nc.publish(subjectOf(run, "d", L1N1, NPU1), encodeMessage(forged(L1N1, SRC6, r61, r61.length - 1))); // C
        await nc.flush();
      });
    } finally {
      await nc.close();
    }
    const sim = await runSim({ topology: SMALL_CM384, workload: WORKLOAD, seed: 1, engine: "sim" });
    console.log("forged: rejected", JSON.stringify(report.rejected));
    expect(report.topology.actors[L1N0]).toBe("l1.n0");
    expect(report.topology.actors[NPU1]).toBe("npu.n0.1");
    expect(report.status).toBe("ok");
    expect(report.results).toHaveLength(3);
    // Not one forged stripe went anywhere: every time and verification is the clean run's.
    const noCount = (x: Report) => virtualTimes(x).results.map(({ messages: _, ...t }) => t);
    expect(noCount(report)).toEqual(noCount(sim));
    // `messages` counts data messages each actor handled: B and C reached the logic (and were refused
    // there), A did not pass the edge. So the run shows 2 more than the sim, all else equal.
    const sum = (x: Report) => x.results.reduce((n, t) => n + t.messages, 0);
    expect(sum(report)).toBe(sum(sim) + 2);
    const r = report.rejected;
    expect({ forged: r.forged, total: r.total }).toEqual({ forged: 3, total: 3 });
    expect(r.byActor["l1.n0"]).toMatchObject({ forged: 2, total: 2 });
    expect(r.byActor["npu.n0.1"]).toMatchObject({ forged: 1, total: 1 });
    expect(Object.keys(r.byActor).sort()).toEqual(["l1.n0", "npu.n0.1"]);
  });
});

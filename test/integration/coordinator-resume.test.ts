import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { checkRun, STATE_BUCKET, type Report } from "../../services/coordinator/index.js";
import { runSim } from "../helpers/run.js";
import { descendantsOf, isAlive, waitFor } from "../helpers/procs.js";

/**
 * A killed coordinator, restarted, resumes from JetStream (issue 12, docs/chaos.md §7): `supernode run`
 * of a named run on a NATS server with JetStream writes its committed state to KV after every step;
 * it is SIGKILLed mid-run (its actor hosts see their stdin close and exit); the same command again
 * finds the state, goes on from the next step, and ends with the parameters of a run never killed.
 */
const CLI = fileURLToPath(new URL("../../dist/services/cli/main.js", import.meta.url));
let server: EmbeddedServer, nc: NatsConnection;
beforeAll(async () => { server = await startEmbeddedServer({ jetstream: true }); nc = await connect({ servers: server.url }); });
afterAll(async () => { await nc?.close(); await server?.stop(); });

const raw = {
  name: "resume test",
  topology: { preset: "custom", custom: { devices: [{ name: "sw", kind: "switch" }, { name: "npu", kind: "npu", count: 4 }], links: [{ from: "npu*", to: "sw", bandwidthGBps: 100, latencyNs: 100 }] } },
  workload: { kind: "training", model: { base: "llama3-8b", layers: 2 }, parallel: { dp: 4 }, globalBatch: 4, seqLen: 512, steps: 120, zero: 0, overlap: false, algorithms: { dp: "ring" } },
  seed: 3,
};

function cli(file: string, out: string) {
  const child = spawn(process.execPath, [CLI, "run", file, "--engine", "nats", "--nats", server.url, "--set", "deployment.run=resume1", "--quiet", "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.on("data", (d) => { stdout += String(d); });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, exited, stdout: () => stdout };
}

describe("coordinator killed and restarted", () => {
  it("SIGKILL after some committed steps → the same command resumes from JetStream and ends with the never-killed run's parameters", async () => {
    const dir = mkdtempSync(join(tmpdir(), "supernode-resume-"));
    const file = join(dir, "s.json");
    writeFileSync(file, JSON.stringify(raw));
    const kv = await new Kvm(nc).create(STATE_BUCKET, { history: 1 });
    const first = cli(file, join(dir, "o1"));
    // Wait until the first coordinator has committed a few steps to KV, then kill it outright.
    for (const deadline = Date.now() + 60_000; (await kv.get("run.resume1"))?.operation !== "PUT";) {
      if (Date.now() > deadline) throw new Error("no committed step in JetStream within 60 s");
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    const tree = descendantsOf(first.child.pid!);
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe(null); // killed, no report written
    await waitFor(() => tree.every((pid) => !isAlive(pid)), 10_000, "the killed coordinator's actor hosts to exit");
    const second = cli(file, join(dir, "o2"));
    expect(await second.exited).toBe(0);
    const rep = JSON.parse(readFileSync(join(dir, "o2", "report.json"), "utf8")) as Report;
    expect(rep.status).toBe("ok");
    expect(rep.resumedFrom!.step).toBeGreaterThanOrEqual(0);
    expect(rep.resumedFrom!.step).toBeLessThan(119); // it was killed before the end
    expect(second.stdout()).toMatch(/resumed from JetStream: steps 0 … \d+ were committed by an earlier coordinator/);
    const clean = await runSim({ ...raw, engine: "sim" });
    expect(rep.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(rep.steps!.map((s) => s.virtualTimeNs)).toEqual(clean.steps!.map((s) => s.virtualTimeNs));
    expect(checkRun(rep, clean).filter((f) => !f.ok)).toEqual([]);
    expect(rep.history!.filter((e) => e.type === "resume")).toHaveLength(1);
    // The run is over: its state is gone, so the same command now starts afresh.
    expect((await kv.get("run.resume1"))?.operation ?? "DEL").not.toBe("PUT");
    console.log(`resumed after step ${rep.resumedFrom!.step} (${rep.resumedFrom!.wallMs} ms before the kill); final digest ${rep.steps![119]!.paramDigest}`);
  }, 180_000);
});

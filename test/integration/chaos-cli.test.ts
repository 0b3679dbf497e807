import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { checkRun, controlSubject, type Report } from "../../services/coordinator/index.js";
import { runSim } from "../helpers/run.js";

/**
 * `supernode chaos` at run time (issue 12, docs/chaos.md §6): a training run on the NATS engine (26
 * processes) is running; another process injects an npu-crash (the coordinator SIGKILLs the NPU's host
 * at the next step, detects it, restarts it and retries the step) and a straggler over the control
 * API. The report shows both, the run ends `recovered`, and the parameters are the fault-free run's.
 */
const CLI = fileURLToPath(new URL("../../dist/services/cli/main.js", import.meta.url));
let server: EmbeddedServer, nc: NatsConnection;
beforeAll(async () => { server = await startEmbeddedServer(); nc = await connect({ servers: server.url }); });
afterAll(async () => { await nc?.close(); await server?.stop(); });

const RUN = "chaoscli";
const raw = {
  name: "chaos at run time",
  topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 },
  workload: { kind: "training", model: { base: "llama3-8b", layers: 2 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 512, steps: 30, zero: 0, overlap: false, algorithms: { dp: "ring" } },
  recovery: { policy: "restart" },
  deployment: { heartbeatMs: 200, heartbeatTimeoutMs: 1500 },
  seed: 3,
};

function cli(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => { out += String(d); });
  child.stderr.on("data", (d) => { out += String(d); });
  return { child, exited: new Promise<number | null>((r) => child.on("exit", (code) => r(code))), out: () => out };
}

describe("supernode chaos", () => {
  it("injects an npu-crash and a straggler into a running NATS training run: recovered, both in faults[], same parameters as the fault-free run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "supernode-chaos-"));
    const file = join(dir, "s.json");
    writeFileSync(file, JSON.stringify(raw));
    const run = cli(["run", file, "--engine", "nats", "--nats", server.url, "--set", `deployment.run=${RUN}`, "--quiet", "--out", join(dir, "out")]);
    // The control API answers once the actors are up and the run has begun.
    for (const deadline = Date.now() + 60_000; ;) {
      const ok = await nc.request(controlSubject(RUN, "status"), "", { timeout: 500 }).then(() => true, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`the run's control API did not answer within 60 s: ${run.out()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const crash = cli(["chaos", "npu-crash", "npu.n1.0", "--run", RUN, "--nats", server.url]);
    expect(await crash.exited, crash.out()).toBe(0);
    expect(crash.out()).toMatch(/^# injected: \{"fault":0,"kind":"npu-crash","target":"npu\.n1\.0","fromOpIndex":\d+\}/);
    const slow = cli(["chaos", "straggler", "npu.n0.3", "--factor", "3", "--duration", "2", "--run", RUN, "--nats", server.url]);
    expect(await slow.exited, slow.out()).toBe(0);
    const bad = cli(["chaos", "npu-crash", "npu.n7.7", "--run", RUN, "--nats", server.url]);
    expect(await bad.exited).toBe(2);
    expect(bad.out()).toMatch(/chaos refused: target: no actor "npu\.n7\.7" in this topology/);
    expect(await run.exited, run.out()).toBe(0);
    const rep = JSON.parse(readFileSync(join(dir, "out", "report.json"), "utf8")) as Report;
    expect(rep.status).toBe("recovered");
    const [f0, f1] = rep.faults!;
    expect(f0).toMatchObject({ kind: "npu-crash", target: "npu.n1.0", lostVirtualNs: 30e9 });
    expect(f0!.recovery).toMatch(/^restart: npu\.n1\.0 restarted as incarnation 1/);
    expect(f1).toMatchObject({ kind: "straggler", target: "npu.n0.3", params: { factor: 3 } });
    expect(f1!.lostVirtualNs).toBeGreaterThan(0);
    const clean = await runSim({ ...raw, engine: "sim" });
    expect(rep.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    expect(checkRun(rep, clean).filter((f) => !f.ok)).toEqual([]);
    console.log(`runtime chaos: crash injected at op index ${f0!.ops?.from}, recovered in ${f0!.lostWallMs} ms wall; straggler lost ${f1!.lostVirtualNs} ns virtual`);
  }, 180_000);
});

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { AUTH_CONF_FILE, CREDENTIALS_DIR, ensureCredentials, generateDeployment, parseAuthUsers } from "../../services/cli/compose/index.js";

/**
 * `supernode chaos --docker` into a `docker compose up` supernode (issue 12): 3 NATS servers, the
 * coordinator and 26 actor containers run a DP training; from the host, `supernode chaos npu-crash
 * npu.n0.2 --docker` tells the coordinator (control API, as the `chaos` principal) and `docker kill`s
 * the NPU's container, then starts it again 3 s later, as an orchestrator would. The coordinator sees
 * the NPU stop heartbeating, aborts the step, waits for it to come back, retries the step at a new
 * epoch, and its report (the table it prints) shows the fault, its recovery and `status recovered`.
 */
const exec = promisify(execFile);
const CLI = fileURLToPath(new URL("../../dist/services/cli/main.js", import.meta.url));
const PROJECT = "supernode-chaos-ctest";
const dir = mkdtempSync(join(tmpdir(), "supernode-chaos-compose-"));
const composeFile = join(dir, "docker-compose.yml");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => { const port = (s.address() as { port: number }).port; s.close(() => resolve(port)); });
    s.on("error", reject);
  });
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(cmd, args, { cwd: dir, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(err) };
  }
}
const compose = (args: string[], env: Record<string, string> = {}) => run("docker-compose", ["-p", PROJECT, "-f", composeFile, ...args], env);

afterAll(async () => {
  await compose(["down", "--remove-orphans", "-t", "1"]);
  rmSync(dir, { recursive: true, force: true });
});

describe("supernode chaos into a compose supernode", () => {
  it("docker kill, docker pause and a network partition of containers mid-training: the coordinator's report shows each fault, its recovery and status recovered", async () => {
    const scenario = join(dir, "scenario.yaml");
    writeFileSync(scenario, [
      "name: chaos on a compose supernode",
      "topology: { preset: cloudmatrix384, nodes: 2, npusPerNode: 4 }",
      "workload: { kind: training, model: { base: llama3-8b, layers: 2 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 512, steps: 150, zero: 0, overlap: false, algorithms: { dp: ring } }",
      "recovery: { policy: restart }",
      "deployment: { heartbeatMs: 200, heartbeatTimeoutMs: 1500, pingIntervalMs: 2000 }",
      "seed: 3",
    ].join("\n") + "\n");
    const loaded = loadScenario({ file: scenario, engine: "nats" });
    generateDeployment({ loaded, placement: "per-actor", outDir: join(dir, "deploy"), composeFile, commandLine: "chaos-compose.test.ts" });
    ensureCredentials(join(dir, "deploy"), parseAuthUsers(readFileSync(join(dir, "deploy", "nats", AUTH_CONF_FILE), "utf8")));
    const port = await freePort();
    expect((await compose(["up", "-d", "--no-color"], { SUPERNODE_NATS_PORT: String(port) })).code).toBe(0);
    const chaosEnv = Object.fromEntries(readFileSync(join(dir, "deploy", CREDENTIALS_DIR, "chaos.env"), "utf8").trim().split("\n").map((l) => l.split("=", 2) as [string, string]));
    // Retry until the coordinator's control API answers (its actors register first).
    let injected: { code: number; stdout: string; stderr: string } | undefined;
    for (const deadline = Date.now() + 120_000; ;) {
      injected = await run(process.execPath, [CLI, "chaos", "npu-crash", "npu.n0.2", "--docker", "--project", PROJECT, "--run", "compose", "--nats", `nats://127.0.0.1:${port}`, "--down-ms", "3000"], chaosEnv);
      if (injected.code === 0 || !/no coordinator of run compose answered/.test(injected.stderr)) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(injected!.code, injected!.stderr).toBe(0);
    expect(injected!.stdout).toMatch(/# injected: \{"fault":0,"kind":"npu-crash","target":"npu\.n0\.2"/);
    expect(injected!.stdout).toMatch(/# killed container [0-9a-f]{12} \(npu\.n0\.2\); back in 3000 ms\n# started container/);
    const chaos = (args: string[]) => run(process.execPath, [CLI, "chaos", ...args, "--docker", "--project", PROJECT, "--run", "compose", "--nats", `nats://127.0.0.1:${port}`, "--down-ms", "2500"], chaosEnv);
    await new Promise((r) => setTimeout(r, 6_000)); // the kill's recovery: heartbeat timeout, the container back, the retry
    const paused = await chaos(["npu-hang", "npu.n1.1"]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(/# paused container [0-9a-f]{12} \(npu\.n1\.1\); back in 2500 ms\n# unpaused container/);
    await new Promise((r) => setTimeout(r, 6_000));
    // Node 1's L1 switch and NPUs off the network: cut from the NATS cluster, so from everyone.
    const cut = await chaos(["partition", "npu.n1.*,l1.n1"]);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stdout).toMatch(/# disconnected 5 containers [0-9a-f, ]+ \(npu\.n1\.\*,l1\.n1\); back in 2500 ms\n# reconnected 5 containers/);
    const { stdout: cid } = await run("docker", ["ps", "-aq", "--filter", `label=com.docker.compose.project=${PROJECT}`, "--filter", "label=com.docker.compose.service=coordinator"]);
    const waited = await run("docker", ["wait", cid.trim()]);
    const logs = await run("docker", ["logs", cid.trim()]);
    const table = logs.stdout;
    writeFileSync(join(tmpdir(), "supernode-chaos-compose-coordinator.log"), table + logs.stderr);
    expect(waited.stdout.trim(), table.split("\n").filter((l) => l.startsWith("#")).join("\n")).toBe("0");
    expect(table).toMatch(/# fault 0: npu-crash npu\.n0\.2 at op \d+ · injected at .* · restart: npu\.n0\.2 restarted as incarnation 1; retried at epoch 2/);
    expect(table).toMatch(/# fault 1: npu-hang npu\.n1\.1 at op \d+ · injected at .* · restart: npu\.n1\.1 restarted as incarnation 2; retried at epoch 3/);
    expect(table).toMatch(/# fault 2: partition npu\.n1\.\*,l1\.n1 at op \d+ · injected at .* · restart: (npu\.n1\.\d|l1\.n1)(, (npu\.n1\.\d|l1\.n1)){4} restarted as incarnation 3; retried at epoch 4/);
    // At least one aborted attempt per fault: a retry may stall once more while reconnected clients
    // resubscribe (core NATS drops what is published during a reconnect), and is retried again.
    const aborted = Number(/# recovery \(restart\): (\d+) attempt\(s\) aborted, 3 fault\(s\) recovered/.exec(table)?.[1] ?? 0);
    expect(aborted).toBeGreaterThanOrEqual(3);
    expect(table).toMatch(/# status recovered · 0 process\(es\)|# status recovered/);
    process.stdout.write(table.split("\n").filter((l) => /^# (fault|recovery|status)/.test(l)).join("\n") + "\n");
  }, 300_000);
});

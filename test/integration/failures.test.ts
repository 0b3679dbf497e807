import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { NatsEngine, runScenario } from "../../services/coordinator/index.js";
import { scenario } from "../helpers/run.js";
import { descendantsOf, isAlive, waitFor } from "../helpers/procs.js";

const CLI = fileURLToPath(new URL("../../dist/services/cli/main.js", import.meta.url));
let server: EmbeddedServer;
beforeAll(async () => { server = await startEmbeddedServer(); });
afterAll(async () => { await server?.stop(); });

describe("a killed actor process ends the run, named, within the watchdog bound", () => {
  it("SIGKILL of one NPU's process mid-run → status stalled, the dead NPU named, no hang", async () => {
    const HEARTBEAT_TIMEOUT_MS = 1_500, WATCHDOG_MS = 5_000;
    const loaded = loadScenario({ raw: scenario(
      { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 },
      { collective: "all-reduce", algorithm: "ring", sizes: Array.from({ length: 400 }, () => "64MiB") },
      { engine: "nats", deployment: { nats: server.url, placement: "per-actor", heartbeatMs: 200, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, watchdogMs: WATCHDOG_MS } },
    ) });
    await using engine = await NatsEngine.start(loaded, silentLogger);
    const victim = loaded.topology.endpoints[3]!; // npu.n0.3: per-actor placement, host i hosts device i
    const victimPid = engine.hostPids[victim]!;
    const running = runScenario(loaded, engine);
    await new Promise((r) => setTimeout(r, 800)); // well into the 400-op sweep
    const killedAt = Date.now();
    process.kill(victimPid, "SIGKILL");
    const report = await running;
    const tookMs = Date.now() - killedAt;
    expect(report.status).toBe("stalled");
    expect(report.stall).toMatch(/npu\.n0\.3/);
    expect(report.results.length).toBeLessThan(400);
    // Bound: the host's exit is seen at once; the wait-for diagnosis takes at most STATUS_WAIT_MS (1 s).
    expect(tookMs).toBeLessThan(WATCHDOG_MS);
  });
});

describe("a stopped (SIGSTOP) actor process is dead by its heartbeat timeout; a busy one never is by silence", () => {
  it("SIGSTOP of one NPU's process mid-run → status stalled within heartbeat timeout + diagnosis, the NPU named", async () => {
    const HEARTBEAT_TIMEOUT_MS = 1_500, WATCHDOG_MS = 20_000;
    const loaded = loadScenario({ raw: scenario(
      { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 },
      { collective: "all-reduce", algorithm: "ring", sizes: Array.from({ length: 400 }, () => "64MiB") },
      { engine: "nats", deployment: { nats: server.url, placement: "per-actor", heartbeatMs: 200, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, watchdogMs: WATCHDOG_MS } },
    ) });
    await using engine = await NatsEngine.start(loaded, silentLogger);
    const victimPid = engine.hostPids[loaded.topology.endpoints[5]!]!; // npu.n1.1
    const running = runScenario(loaded, engine);
    await new Promise((r) => setTimeout(r, 800));
    const stoppedAt = Date.now();
    process.kill(victimPid, "SIGSTOP");
    try {
      const report = await running;
      const tookMs = Date.now() - stoppedAt;
      expect(report.status).toBe("stalled");
      expect(report.stall).toMatch(/stopped heartbeating.*npu\.n1\.1/);
      // Bound: the timeout (1.5 s) + a watchdog tick + the wait-for diagnosis (≤ 1 s), far below the
      // 20 s progress watchdog — so it was the heartbeat rule that caught it, not "no progress".
      expect(tookMs).toBeLessThan(HEARTBEAT_TIMEOUT_MS + 4_000);
    } finally {
      process.kill(victimPid, "SIGCONT"); // let it be stopped and reaped with the engine
    }
  });
});

describe("Ctrl-C leaves no orphans", () => {
  it("SIGINT to `supernode run --engine nats` stops every actor process and the embedded nats-server", async () => {
    const child = spawn(process.execPath, [CLI, "run", "--engine", "nats", "--set", `workload.sizes=[${Array(300).fill("64MiB").join(",")}]`, "--out", "/tmp/supernode-sigint"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => { stderr += String(d); });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    // 26 actor hosts + 1 nats-server, all below the CLI process.
    await waitFor(() => descendantsOf(child.pid!).length >= 27, 60_000, "26 hosts and the nats-server to start");
    await new Promise((r) => setTimeout(r, 500));
    const tree = descendantsOf(child.pid!);
    expect(tree.length).toBeGreaterThanOrEqual(27);
    child.kill("SIGINT");
    const code = await exited;
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted by SIGINT/);
    await waitFor(() => tree.every((pid) => !isAlive(pid)), 5_000, "every descendant to exit");
    expect(tree.filter(isAlive)).toEqual([]);
  });
});

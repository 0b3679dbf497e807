import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import type { HistoryEvent, Report } from "../../services/coordinator/index.js";
import {
  AUTH_CONF_FILE, chaosInboxPrefix, CREDENTIALS_DIR, DEFAULT_NATS_SERVERS, ensureCredentials, generateDeployment, NATS_MONITOR_PORT, parseAuthUsers,
} from "../../services/cli/compose/index.js";

/**
 * `supernode chaos --docker` into a `docker compose up` supernode (issue 12): 3 NATS servers, the
 * coordinator and 26 actor containers run a DP training; from the host, `supernode chaos npu-crash
 * npu.n0.2 --docker` tells the coordinator (control API, as the `chaos` principal) and `docker kill`s
 * the NPU's container, then starts it again 3 s later, as an orchestrator would. The coordinator sees
 * the NPU stop heartbeating, aborts the step, waits for it to come back, retries the step at a new
 * epoch, and its report (the table it prints) shows the fault, its recovery and `status recovered`.
 * Then, in the same run: a `docker pause` of an NPU, a network partition of node 1, and the loss of a
 * NATS server in the middle of a step (`nats-server-loss --docker`: `docker kill` of the server the
 * coordinator is connected to, started again 3 s later). report.json (copied out of the coordinator's
 * container) lists every fault, and `supernode check report.json` holds: the parameters equal the
 * fault-free run's.
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
/** How long the killed server's clients get to show up on a server again. */
const RECONNECT_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The container of a compose service of the project. */
async function containerOf(service: string): Promise<string> {
  const { stdout } = await run("docker", ["ps", "-aq", "--filter", `label=com.docker.compose.project=${PROJECT}`, "--filter", `label=com.docker.compose.service=${service}`]);
  return stdout.trim();
}

/**
 * The NATS servers nats-0 … nats-2 (compose services nats-1 … nats-3): container and address on the
 * compose network, whose monitoring port this machine reaches directly (it is not published).
 */
async function natsServers(): Promise<{ target: string; service: string; id: string; ip: string }[]> {
  return Promise.all(DEFAULT_NATS_SERVERS.map(async (service, i) => {
    const id = await containerOf(service);
    return { target: `nats-${i}`, service, id, ip: await ipOf(id) };
  }));
}

/** A container's address on the compose network (empty while it is stopped; `docker start` may give it another). */
async function ipOf(id: string): Promise<string> {
  return (await run("docker", ["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", id])).stdout.trim();
}

/** GET a monitoring endpoint of a server (`/connz`, `/routez`); undefined when it does not answer. */
async function monitor(ip: string, path: string): Promise<any> {
  try {
    const res = await fetch(`http://${ip}:${NATS_MONITOR_PORT}${path}`, { signal: AbortSignal.timeout(1_000) });
    return await res.json();
  } catch {
    return undefined;
  }
}

/** The names of the clients connected to a server (actors are `<run>:<name>`, the coordinator `supernode-coordinator`). */
async function clientsOn(ip: string): Promise<string[] | undefined> {
  const body = await monitor(ip, "/connz?limit=1000");
  return body ? (body.connections ?? []).map((c: { name?: string }) => c.name ?? "") : undefined;
}

afterAll(async () => {
  await compose(["down", "--remove-orphans", "-t", "1"]);
  rmSync(dir, { recursive: true, force: true });
});

describe("supernode chaos into a compose supernode", () => {
  it("docker kill, docker pause, a network partition of containers and the loss of a NATS server mid-training: report.json shows each fault and its recovery, status recovered, and every check of the checker holds", async () => {
    const scenario = join(dir, "scenario.yaml");
    writeFileSync(scenario, [
      "name: chaos on a compose supernode",
      "topology: { preset: cloudmatrix384, nodes: 2, npusPerNode: 4 }",
      "workload: { kind: training, model: { base: llama3-8b, layers: 2 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 512, steps: 300, zero: 0, overlap: false, algorithms: { dp: ring } }",
      "recovery: { policy: restart }",
      "deployment: { heartbeatMs: 200, heartbeatTimeoutMs: 1500, pingIntervalMs: 2000, watchdogMs: 5000 }",
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

    // NATS-server loss in the middle of a step: once the run is stepping again after the partition
    // (ranks report op-done to the coordinator), kill the server the coordinator is connected to.
    await sleep(6_000);
    const watch = await connect({ servers: `nats://127.0.0.1:${port}`, name: "test:chaos-watch", inboxPrefix: chaosInboxPrefix("compose"), user: chaosEnv.SUPERNODE_NATS_USER, pass: chaosEnv.SUPERNODE_NATS_PASS });
    const reports: number[] = [];
    watch.subscribe("sn.compose.u.*.coord", { callback: () => { reports.push(Date.now()); } });
    await watch.flush();
    const stepping = () => reports.filter((t) => t > Date.now() - 1_500).length >= 16 && Date.now() - reports.at(-1)! < 300; // two steps' op-dones in 1.5 s, the last just now
    for (const deadline = Date.now() + 30_000; !stepping(); await sleep(20)) {
      if (Date.now() > deadline) throw new Error(`the run did not step again within 30 s after the partition (${reports.length} reports)`);
    }
    const servers = await natsServers();
    const before = new Map(await Promise.all(servers.map(async (sv) => [sv.target, await clientsOn(sv.ip)] as const)));
    const victim = servers.find((sv) => before.get(sv.target)?.includes("supernode-coordinator"));
    expect(victim, `no server lists the coordinator's connection: ${JSON.stringify([...before])}`).toBeDefined();
    const moving = before.get(victim!.target)!.filter((n) => n === "supernode-coordinator" || n.startsWith("compose:"));
    expect(moving.filter((n) => n.startsWith("compose:")).length, `actors on ${victim!.target}`).toBeGreaterThan(0);
    await watch.close().catch(() => undefined);
    const loss = spawn(process.execPath, [CLI, "chaos", "nats-server-loss", victim!.target, "--docker", "--project", PROJECT, "--run", "compose", "--nats", `nats://127.0.0.1:${port}`, "--down-ms", "3000"],
      { env: { ...process.env, ...chaosEnv }, stdio: ["ignore", "pipe", "pipe"] });
    let lossOut = "", lossErr = "";
    let killedAt: number | undefined;
    loss.stdout.on("data", (b) => { lossOut += String(b); if (killedAt === undefined && /# killed container/.test(lossOut)) killedAt = Date.now(); });
    loss.stderr.on("data", (b) => { lossErr += String(b); });
    const lossExit = new Promise<number | null>((r) => loss.on("exit", (code) => r(code)));
    // Its clients reconnect: each is listed again on a server — on one of the two others, or (a client
    // still redialling when the server is started again) back on it.
    for (const deadline = Date.now() + 20_000; killedAt === undefined; await sleep(20)) {
      if (Date.now() > deadline) throw new Error(`nats-server-loss did not kill within 20 s: ${lossOut}${lossErr}`);
    }
    const back = new Map<string, { on: string; ms: number }>();
    const killed = killedAt;
    const reconnecting = Promise.all(servers.map(async (sv) => { // each server polled on its own: the killed one does not answer until it is started again
      for (const deadline = killed + RECONNECT_MS; back.size < moving.length && Date.now() < deadline; await sleep(50)) {
        const ip = sv === victim ? await ipOf(sv.id) : sv.ip;
        const names = ip ? await clientsOn(ip) : undefined; // the killed server, started again: only new connections
        for (const n of names ?? []) if (moving.includes(n) && !back.has(n)) back.set(n, { on: sv.target, ms: Date.now() - killed });
      }
    }));
    expect(await lossExit, lossOut + lossErr).toBe(0);
    expect(lossOut).toMatch(new RegExp(`^# injected: \\{"fault":3,"kind":"nats-server-loss","target":"${victim!.target}","fromOpIndex":\\d+\\}\n# killed container [0-9a-f]{12} \\(${victim!.target}: compose service ${victim!.service}\\); back in 3000 ms\n# started container [0-9a-f]{12}\n$`));
    // Started again, the server rejoins the cluster: routes to both others.
    for (const deadline = Date.now() + 20_000; (await monitor(await ipOf(victim!.id), "/routez"))?.num_routes !== 2; await sleep(100)) {
      if (Date.now() > deadline) throw new Error(`${victim!.target} (${victim!.service}) did not rejoin the cluster within 20 s`);
    }

    const cid = await containerOf("coordinator");
    const waited = await run("docker", ["wait", cid]);
    const logs = await run("docker", ["logs", cid]);
    const table = logs.stdout;
    writeFileSync(join(tmpdir(), "supernode-chaos-compose-coordinator.log"), table + logs.stderr);
    await reconnecting;
    const toOthers = [...back.values()].filter((b) => b.on !== victim!.target);
    const reconnected = `${back.size} of ${moving.length} clients of ${victim!.target} reconnected (${toOthers.length} to the other servers, the last after ${Math.max(0, ...toOthers.map((b) => b.ms))} ms; ${back.size - toOthers.length} back to ${victim!.target} once started again): ${[...back].map(([n, b]) => `${n.replace(/^compose:/, "")}→${b.on} ${b.ms} ms`).join(", ")}`;
    process.stdout.write(`nats-server-loss ${victim!.target} (${victim!.service}): ${reconnected}\n`);
    expect(waited.stdout.trim(), table.split("\n").filter((l) => l.startsWith("#")).join("\n")).toBe("0");
    expect(table).toMatch(/# fault 0: npu-crash npu\.n0\.2 at op \d+ · injected at .* · restart: npu\.n0\.2 restarted as incarnation 1; retried at epoch 2/);
    expect(table).toMatch(/# fault 1: npu-hang npu\.n1\.1 at op \d+ · injected at .* · restart: npu\.n1\.1 restarted as incarnation 2; retried at epoch 3/);
    expect(table).toMatch(/# fault 2: partition npu\.n1\.\*,l1\.n1 at op \d+ · injected at .* · restart: (npu\.n1\.\d|l1\.n1)(, (npu\.n1\.\d|l1\.n1)){4} restarted as incarnation 3; retried at epoch 4/);
    // At least one aborted attempt per fault: a retry may stall once more while reconnected clients
    // resubscribe (core NATS drops what is published during a reconnect), and is retried again.
    const aborted = Number(/# recovery \(restart\): (\d+) attempt\(s\) aborted, [34] fault\(s\) recovered/.exec(table)?.[1] ?? 0);
    expect(aborted).toBeGreaterThanOrEqual(3);
    expect(table).toMatch(/# status recovered/);
    expect([...back.keys()].sort(), reconnected).toEqual([...moving].sort());

    // report.json: the server loss as the coordinator recorded it, and the checker against the fault-free run.
    expect((await run("docker", ["cp", `${cid}:/app/out/report.json`, join(dir, "report.json")])).code).toBe(0);
    const rep = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as Report;
    expect(rep.status).toBe("recovered");
    const f = rep.faults![3]!;
    expect(f).toMatchObject({ index: 3, kind: "nats-server-loss", target: victim!.target, actors: 1 });
    expect(f.injectedAt).not.toBeNull();
    expect(table).toContain(`# fault 3: nats-server-loss ${victim!.target} at op `);
    expect(table).toContain(` · ${f.recovery}`);
    const history = rep.history as readonly HistoryEvent[];
    const noted = history.find((e) => e.type === "fault" && e.fault === 3) as Extract<HistoryEvent, { type: "fault" }> | undefined;
    expect(noted, "the fault in history[]").toBeDefined();
    let charged = "no op failed after it";
    if (f.detectedAt) {
      // An attempt in progress at the kill (or after it) stalled and was retried. The coordinator restarts
      // no server; it waits for the actors it found silent (a client that redialled for longer than
      // heartbeatTimeoutMs: "restarted" as for a container) — often none: "nothing to restart".
      const m = /^restart: (?:nothing to restart|(.+) restarted as incarnation (\d+)); retried at epoch (\d+) as op (\d+)$/.exec(f.recovery);
      expect(m, f.recovery).not.toBeNull();
      const abort = history.find((e) => e.type === "abort" && e.seq > noted!.seq) as Extract<HistoryEvent, { type: "abort" }>;
      const epochAfter = history.find((e) => e.type === "epoch" && e.seq > abort.seq) as Extract<HistoryEvent, { type: "epoch" }>;
      const restart = history.find((e) => e.type === "restart" && e.seq > abort.seq && e.seq < epochAfter.seq) as Extract<HistoryEvent, { type: "restart" }> | undefined;
      expect(Number(m![3])).toBe(epochAfter.to);
      expect(Number(m![4])).toBe(abort.op + 1);
      if (m![1] === undefined) expect(restart, "no restart event for nothing to restart").toBeUndefined();
      else expect({ actors: restart?.actors.join(", "), inc: restart?.inc }).toEqual({ actors: m![1], inc: Number(m![2]) });
      expect(f.recoveredAt).not.toBeNull();
      expect(f.lostVirtualNs).toBeGreaterThanOrEqual(30e9); // detect + restart (5 s + 25 s), from the op it was charged to
      charged = `noted at op index ${noted!.index}, charged to op index ${abort.index} (op ${abort.op}), aborted after ${(abort.wallMs - noted!.wallMs).toFixed(0)} ms: ${abort.reason.split("\n")[0]}`;
    } else {
      // No attempt failed after it: the op in progress completed across the loss.
      expect(f.recovery).toBe("none: no op failed after it (nothing noticed it)");
      expect(f.recoveredAt).toBeNull();
    }
    const check = await run(process.execPath, [CLI, "check", join(dir, "report.json")]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^ok +parameters equal the fault-free run's, bit for bit +\d+ step digests equal/m);
    expect(check.stdout).toMatch(/# all \d+ checks hold\n$/);
    process.stdout.write(table.split("\n").filter((l) => /^# (fault|recovery|status)/.test(l)).join("\n") + "\n");
    process.stdout.write(`nats-server-loss: ${charged}\nfault row ${JSON.stringify(f)}\n${check.stdout}`);
  }, 300_000);
});

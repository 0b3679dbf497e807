import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ServiceError, Svcm, type NamedEndpointStats } from "@nats-io/services";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { startEmbeddedServer, type EmbeddedServer } from "../../shared/natsserver/index.js";
import { silentLogger } from "../../shared/runtime/index.js";
import { CONTROL_SERVICE_NAME, controlSubject, NatsEngine, type Report } from "../../services/coordinator/index.js";
import { serve } from "../../services/cli/serve.js";
import { scenario, singleSwitch } from "../helpers/run.js";

/**
 * The serving coordinator's control API on a real nats-server with real actor processes: request
 * bodies are held to the CLI's `--set` rules (400 naming the field), a second run while one runs is
 * 409, `api.status` tells idle / running / stopping, and `$SRV.STATS` counts every error reply and
 * times every request until its reply, runs included.
 */
const CLI = fileURLToPath(new URL("../../dist/services/cli/main.js", import.meta.url));
const REQUEST_TIMEOUT_MS = 30_000;
const CLI_START_TIMEOUT_MS = 60_000;
const EXIT_INTERRUPTED = 130;
const NS_PER_MS = 1_000_000;
/** `report.wallMs` is rounded to 0.1 ms. */
const WALL_ROUNDING_MS = 0.05;
const KiB = 1024;

/** Two NPUs on one switch (3 actor processes): the cheapest fabric that runs collectives. */
const TOPOLOGY = singleSwitch(2);
/** Nine all-reduce ops (4 KiB … 1 MiB): long enough that requests sent right after it find it running. */
const LONG_SIZES = "{from: 4KiB, to: 1MiB, factor: 2}";

let server: EmbeddedServer;
let engine: NatsEngine;
let nc: NatsConnection;

const natsOpts = () => ({ engine: "nats", deployment: { nats: server.url } });
const LIST_SCENARIO = () => ({
  ...(scenario(TOPOLOGY, { collective: "all-reduce", sizes: ["4KiB"] }, natsOpts()) as object),
  workload: [
    { kind: "collective", collective: "all-reduce", sizes: ["4KiB"] },
    { kind: "collective", collective: "all-gather", sizes: ["8KiB"] },
  ],
});
const ONE_SCENARIO = () => scenario(TOPOLOGY, { collective: "all-gather", sizes: ["8KiB", "16KiB"] }, natsOpts());

beforeAll(async () => {
  server = await startEmbeddedServer();
  // One set of actors for every serve below: both scenarios share the topology.
  engine = await NatsEngine.start(loadScenario({ raw: ONE_SCENARIO() }), silentLogger);
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await engine?.[Symbol.asyncDispose]();
  await server?.stop();
});

interface Reply { readonly code: number; readonly message: string; readonly body: unknown; readonly wallMs: number }

/** One request; `code` 0 for a success, else the service error's code and message. */
async function request(verb: "status" | "run" | "stop", body = ""): Promise<Reply> {
  const t0 = performance.now();
  const m = await nc.request(controlSubject(engine.run, verb), body, { timeout: REQUEST_TIMEOUT_MS });
  const wallMs = performance.now() - t0;
  const se = ServiceError.toServiceError(m);
  return se ? { code: se.code, message: se.message, body: undefined, wallMs } : { code: 0, message: "", body: m.json(), wallMs };
}

const runWith = (...sets: string[]) => request("run", JSON.stringify({ set: sets }));
const phase = async () => ((await request("status")).body as { phase: string }).phase;

/** The `endpoint` stats of the one control service that answers `$SRV.STATS`. */
async function endpointStats(verb: "status" | "run" | "stop"): Promise<NamedEndpointStats> {
  const all = [];
  for await (const s of await new Svcm(nc).client().stats(CONTROL_SERVICE_NAME)) all.push(s);
  expect(all).toHaveLength(1);
  const ep = all[0]!.endpoints?.find((e) => e.subject === controlSubject(engine.run, verb));
  expect(ep).toBeDefined();
  return ep!;
}

/** The line the CLI prints for `--set` over `raw` (after its prefix): what the API must answer too. */
function cliMessage(raw: unknown, set: string): string {
  try {
    loadScenario({ raw, sets: [set] });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${set} loads without an error`);
}

/**
 * Serves `raw` on the shared engine until disposed (serve rejects with the stop's reason). Stop
 * requests are only recorded, so a test can look at the coordinator between a stop and its end.
 */
async function serving(raw: unknown): Promise<AsyncDisposable & { stops: string[] }> {
  const loaded = loadScenario({ raw });
  const ac = new AbortController();
  const stops: string[] = [];
  let ready!: () => void;
  const announced = new Promise<void>((r) => { ready = r; });
  const served = serve(loaded, engine, ac.signal, (why) => stops.push(why), () => ready());
  await Promise.race([announced, served]);
  const reason = new Error("test done");
  return {
    stops,
    async [Symbol.asyncDispose]() {
      ac.abort(reason);
      await expect(served).rejects.toBe(reason);
    },
  };
}

describe("api.run on a list-workload scenario", () => {
  it("refuses each bad body with 400 naming the field, and STATS counts every error", async () => {
    await using _s = await serving(LIST_SCENARIO());
    const cases: [body: string, code: number, message: string | RegExp][] = [
      ['{"set": [', 400, /^invalid JSON: /],
      ['{"set": "workload.sizes=[4KiB]"}', 400, 'set: expected an array of "key=value" strings, got "workload.sizes=[4KiB]"'],
      ['{"set": ["workload[0].sizes=[4KiB]", 7]}', 400, 'set[1]: expected an array of "key=value" strings, got 7'],
      ['{"set": [], "sizes": ["4KiB"]}', 400, 'sizes: unknown key (a run request takes only "set")'],
      ['["workload.sizes=[4KiB]"]', 400, /^expected a JSON object/],
      [JSON.stringify({ set: ["topology.nodes=4"] }), 400, /^topology\.nodes: a serving coordinator's topology and deployment are fixed .*only workload… and seed may be set$/],
      [JSON.stringify({ set: ["deployment.watchdogMs=500"] }), 400, /^deployment\.watchdogMs: a serving coordinator's topology and deployment are fixed/],
      [JSON.stringify({ set: ["workload.bogus=1"] }), 400, cliMessage(LIST_SCENARIO(), "workload.bogus=1")],
      [JSON.stringify({ set: ["workload.sizes=[-5]"] }), 400, cliMessage(LIST_SCENARIO(), "workload.sizes=[-5]")],
      [JSON.stringify({ set: ["workload[0].sizes=[-5]"] }), 400, cliMessage(LIST_SCENARIO(), "workload[0].sizes=[-5]")],
    ];
    // The CLI's words, spelled out once so a change to them shows here too.
    expect(cases[7]![2]).toBe("workload.bogus: workload is a list of 2 workloads: set workload[0].bogus or workload[1].bogus");
    expect(cases[8]![2]).toBe("workload.sizes: workload is a list of 2 workloads: set workload[0].sizes or workload[1].sizes");
    expect(cases[9]![2]).toMatch(/^workload\[0\]\.sizes\[0\]: /);
    for (const [body, code, message] of cases) {
      const r = await request("run", body);
      expect([body, r.code]).toEqual([body, code]);
      if (typeof message === "string") expect(r.message).toBe(message);
      else expect(r.message).toMatch(message);
    }
    expect(await phase()).toBe("idle");
    const run = await endpointStats("run");
    expect(run.num_requests).toBe(cases.length);
    expect(run.num_errors).toBe(cases.length);
    expect(run.last_error).toBe(cases[9]![2]);
    const status = await endpointStats("status");
    expect(status.num_errors).toBe(0);
    expect(status.num_requests).toBe(1); // the phase above
  });

  it("workload[1].sizes applies to the second workload only", async () => {
    await using _s = await serving(LIST_SCENARIO());
    const r = await runWith("workload[1].sizes=[16KiB]");
    expect(r.code).toBe(0);
    const report = r.body as Report;
    expect(report.status).toBe("ok");
    expect(report.results.map((x) => [x.collective, x.sizeBytes, x.verified])).toEqual([
      ["all-reduce", 4 * KiB, true],
      ["all-gather", 16 * KiB, true],
    ]);
  });
});

describe("api.run on a one-workload scenario", () => {
  it("an index on the one workload is 400 naming the field; workload={…} replaces it", async () => {
    await using _s = await serving(ONE_SCENARIO());
    const indexed = await runWith("workload[0].sizes=[4KiB]");
    expect(indexed.code).toBe(400);
    expect(indexed.message).toBe("workload[0].sizes: workload is one workload, not a list: set workload.sizes");
    const r = await runWith("workload={kind: collective, collective: all-reduce, sizes: [4KiB]}");
    expect(r.code).toBe(0);
    const report = r.body as Report;
    expect(report.status).toBe("ok");
    expect(report.results.map((x) => [x.collective, x.sizeBytes, x.verified])).toEqual([["all-reduce", 4 * KiB, true]]);
    // An empty body runs the scenario as served.
    const plain = await request("run");
    expect((plain.body as Report).results.map((x) => [x.collective, x.sizeBytes])).toEqual([["all-gather", 8 * KiB], ["all-gather", 16 * KiB]]);
  });

  it("phase idle → running → idle → stopping; 409 while busy and when stopping; STATS times the run", async () => {
    await using s = await serving(ONE_SCENARIO());
    expect(await phase()).toBe("idle");
    const long = runWith(`workload.sizes=${LONG_SIZES}`);
    const [during, busy] = await Promise.all([request("status"), runWith()]);
    expect((during.body as { phase: string }).phase).toBe("running");
    expect([busy.code, busy.message]).toEqual([409, "busy: a run is in progress"]);
    const done = await long;
    expect(done.code).toBe(0);
    const report = done.body as Report;
    expect(report.results).toHaveLength(9);
    expect(report.results.every((x) => x.verified)).toBe(true);
    expect(await phase()).toBe("idle");

    // The run endpoint's time covers the run (its report's wall time) and no more than the
    // requests took as seen from here (the same process, so the same clock).
    const run = await endpointStats("run");
    expect(run.num_requests).toBe(2);
    expect(run.num_errors).toBe(1);
    expect(run.last_error).toBe("busy: a run is in progress");
    expect(run.processing_time).toBeGreaterThanOrEqual((report.wallMs - WALL_ROUNDING_MS) * NS_PER_MS);
    expect(run.processing_time).toBeLessThanOrEqual((done.wallMs + busy.wallMs) * NS_PER_MS);
    expect(run.average_processing_time).toBe(Math.round(run.processing_time / 2));

    const stop = await request("stop");
    expect(stop.body).toEqual({ stopping: true });
    expect(s.stops).toEqual(["stop request"]);
    expect(await phase()).toBe("stopping");
    const late = await runWith();
    expect([late.code, late.message]).toEqual([409, "stopping: the coordinator is shutting down"]);
  });
});

describe("supernode coordinator: the stop line names only what it started", () => {
  let dir = "";
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "supernode-control-api-")); });
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  /** Starts `supernode coordinator`, stops it through the API, and returns its exit code and stderr. */
  async function serveAndStop(args: string[]): Promise<{ code: number | null; stderr: string }> {
    const file = join(dir, "scenario.yaml");
    writeFileSync(file, stringify(scenario(TOPOLOGY, { collective: "all-reduce", sizes: ["4KiB"] }, { engine: "nats" })));
    const child = spawn(process.execPath, [CLI, "coordinator", file, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => { stdout += String(d); });
    child.stderr.on("data", (d) => { stderr += String(d); });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const deadline = Date.now() + CLI_START_TIMEOUT_MS;
      let m: RegExpMatchArray | null = null;
      while (!(m = /serving run (\S+) on (\S+):/.exec(stdout))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`coordinator did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const client = await connect({ servers: m[2]! });
      await client.request(controlSubject(m[1]!, "stop"), "", { timeout: REQUEST_TIMEOUT_MS });
      await client.close();
      return { code: await exited, stderr };
    } finally {
      // A failed step must not leave the coordinator (and its actor hosts, which watch its pipes) behind.
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }

  it("with --nats: its 3 actor processes, not the server", async () => {
    const r = await serveAndStop(["--nats", server.url]);
    expect(r.code).toBe(EXIT_INTERRUPTED);
    expect(r.stderr).toBe("supernode: interrupted by stop request; 3 actor processes stopped\n");
  });

  it("with its own server: the actor processes and the embedded nats-server", async () => {
    const r = await serveAndStop([]);
    expect(r.code).toBe(EXIT_INTERRUPTED);
    expect(r.stderr).toBe("supernode: interrupted by stop request; 3 actor processes and the embedded nats-server stopped\n");
  });
});

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPOSE_DEFAULT_SCENARIO, loadScenario } from "../../shared/config/index.js";
import { AUTH_CONF_FILE, CREDENTIALS_DIR, ensureCredentials, generateDeployment, parseAuthUsers } from "../../services/cli/compose/index.js";

/**
 * The root docker-compose.yml, as a user runs it: it is exactly what `supernode compose` generates for
 * the small CloudMatrix384; compose v1 accepts it; `up --abort-on-container-exit --exit-code-from
 * coordinator` brings up 3 NATS servers, the coordinator and 26 actor containers, runs an all-reduce
 * sweep and an MoE layer, prints the verified report and exits 0; `down` leaves no container or network behind.
 */
const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");
const DEPLOY = join(ROOT, "deploy");
const PROJECT = "supernode-ctest";
const ROOT_COMMAND = "supernode compose --out deploy --compose-file docker-compose.yml";
let madeCredentials = false;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function compose(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec("docker-compose", ["-p", PROJECT, "-f", join(ROOT, "docker-compose.yml"), ...args], {
      cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(err) };
  }
}

async function leftovers(): Promise<string> {
  const filter = `label=com.docker.compose.project=${PROJECT}`;
  const c = await exec("docker", ["ps", "-aq", "--filter", filter]);
  const n = await exec("docker", ["network", "ls", "-q", "--filter", filter]);
  return (c.stdout + n.stdout).trim();
}

beforeAll(() => {
  // compose v1 fails on a missing env_file: make the passwords (kept out of git) as deploy/up.sh does.
  madeCredentials = !existsSync(join(DEPLOY, CREDENTIALS_DIR));
  ensureCredentials(DEPLOY, parseAuthUsers(readFileSync(join(DEPLOY, "nats", AUTH_CONF_FILE), "utf8")));
});
afterAll(async () => {
  await compose(["down", "--remove-orphans"]);
  if (madeCredentials) rmSync(join(DEPLOY, CREDENTIALS_DIR), { recursive: true, force: true });
});

describe("root docker-compose.yml", () => {
  it("is exactly what `supernode compose` generates for the small CloudMatrix384", () => {
    const tmp = mkdtempSync(join(tmpdir(), "supernode-compose-"));
    try {
      const g = generateDeployment({
        loaded: loadScenario({ raw: COMPOSE_DEFAULT_SCENARIO, engine: "nats" }), placement: "per-actor",
        outDir: join(tmp, "deploy"), composeFile: join(tmp, "docker-compose.yml"), commandLine: ROOT_COMMAND,
      });
      for (const f of g.files) {
        const rel = f.slice(tmp.length + 1);
        expect(readFileSync(join(ROOT, rel), "utf8"), `${rel} is stale: run ${ROOT_COMMAND}`).toBe(readFileSync(f, "utf8"));
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("compose up runs the collective and the MoE layer across 30 containers and exits 0 with a verified report; down leaves nothing", async () => {
    expect((await compose(["config", "-q"])).code).toBe(0);
    const t0 = performance.now();
    const up = await compose(["up", "--no-color", "--abort-on-container-exit", "--exit-code-from", "coordinator"], { SUPERNODE_NATS_PORT: String(await freePort()) });
    const upSeconds = (performance.now() - t0) / 1000;
    const report = up.stdout.split("\n").filter((l) => l.startsWith("coordinator")).map((l) => l.replace(/^coordinator_1\s+\|\s?/, ""));
    expect(up.code, up.stderr.slice(-2000)).toBe(0);
    expect(report.filter((l) => /^\s+all-reduce\s+ring\s+8\s/.test(l)).map((l) => l.trim().split(/\s+/).at(-1))).toEqual(["yes", "yes", "yes", "yes"]);
    // The MoE layer row (EP 8, 128 tokens per rank, zipf(0.8)): verified, with dropped copies counted.
    const moe = report.filter((l) => /^\s+8\s+128\s+zipf\(0\.8\)\s/.test(l)).map((l) => l.trim().split(/\s+/));
    expect(moe).toHaveLength(1);
    expect(moe[0]!.at(-1)).toBe("yes");
    expect(Number(moe[0]!.at(-3))).toBeGreaterThan(0); // dropped: capacity 1.25 under Zipf skew
    expect(report.some((l) => l.startsWith("# status ok"))).toBe(true);
    const { stdout: containers } = await exec("docker", ["ps", "-a", "--filter", `label=com.docker.compose.project=${PROJECT}`, "--format", "{{.Label \"com.docker.compose.service\"}}"]);
    expect(containers.trim().split("\n").length).toBe(3 + 1 + 26); // NATS servers, coordinator, one per NPU and switch
    process.stdout.write(`# compose up → report and exit: ${upSeconds.toFixed(1)} s\n`);

    expect((await compose(["down", "--remove-orphans"])).code).toBe(0);
    expect(await leftovers()).toBe("");
  });
});

import { execFileSync } from "node:child_process";
import { connect } from "@nats-io/transport-node";
import type { Command } from "commander";
import { RunError, toWireError } from "../../shared/errors/index.js";
import { credentialsFromEnv } from "../../shared/runtime/index.js";
import { controlSubject } from "../coordinator/index.js";
import { chaosInboxPrefix, DEFAULT_COMPOSE_RUN, DEFAULT_NATS_SERVERS, serviceName } from "./compose/index.js";

interface ChaosFlags {
  run: string; nats?: string; duration?: string; factor?: string; bandwidthFactor?: string; latencyNs?: string;
  pct?: string; periodNs?: string; duty?: string; lossPct?: string; corruptPct?: string;
  docker?: boolean; project: string; downMs: string;
}

const num = (x: string | undefined) => (x === undefined ? undefined : Number(x));

/** The fault as the control API's `chaos` takes it: the keys of a `faults:` entry, without `at`. */
function faultOf(kind: string, target: string, f: ChaosFlags): Record<string, unknown> {
  const params: Record<string, number | undefined> = {
    factor: num(f.factor), bandwidthFactor: num(f.bandwidthFactor), latencyNs: num(f.latencyNs), pct: num(f.pct),
    periodNs: num(f.periodNs), duty: num(f.duty), lossPct: num(f.lossPct), corruptPct: num(f.corruptPct),
  };
  const set = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
  return { kind, target, ...set, ...(f.duration ? { duration: { ops: Number(f.duration) } } : {}), ...(f.docker ? { external: true } : {}) };
}

/**
 * The containers of actors of a compose supernode (compose v1 labels: project and service): a name, or
 * several comma-separated, each may end in `*` (a prefix of actor names: `npu.n1.*`).
 */
function containersOf(project: string, target: string): string[] {
  const rows = execFileSync("docker", ["ps", "-a", "--filter", `label=com.docker.compose.project=${project}`, "--format", "{{.ID}} {{.Label \"com.docker.compose.service\"}}"], { encoding: "utf8" })
    .trim().split("\n").filter(Boolean).map((l) => l.split(" ") as [string, string]);
  const ids = target.split(",").map((x) => x.trim()).filter(Boolean).flatMap((part) => {
    const prefix = part.endsWith("*") ? serviceName(part.slice(0, -1)) : undefined;
    const hit = rows.filter(([, svc]) => (prefix !== undefined ? svc.startsWith(prefix) : svc === serviceName(part))).map(([id]) => id);
    if (hit.length === 0) throw new RunError(`no container of ${part} in compose project ${project} (docker ps)`);
    return hit;
  });
  return [...new Set(ids)];
}

/**
 * The compose service of a NATS server: the fault's target names the server as the coordinator does
 * (`nats-0` … `nats-2`, as on the embedded cluster); the compose services are `nats-1` … `nats-3`
 * (services/cli/compose/generate.ts DEFAULT_NATS_SERVERS), in that order.
 */
function natsServiceOf(target: string): string {
  const m = /^nats-(\d+)$/.exec(target.trim());
  const service = m ? DEFAULT_NATS_SERVERS[Number(m[1])] : undefined;
  if (!service) throw new RunError(`nats-server-loss --docker takes ${DEFAULT_NATS_SERVERS.map((svc, i) => `nats-${i} (compose service ${svc})`).join(", ")}; got "${target}"`);
  return service;
}

/** The container of a NATS server of a compose supernode (compose v1 labels: project and service). */
function natsContainerOf(project: string, target: string): string[] {
  const service = natsServiceOf(target);
  const ids = execFileSync("docker", ["ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`, "--filter", `label=com.docker.compose.service=${service}`], { encoding: "utf8" })
    .trim().split("\n").filter(Boolean);
  if (ids.length === 0) throw new RunError(`no container of ${target} (compose service ${service}) in compose project ${project} (docker ps)`);
  return ids;
}

/** The compose network a container is on (the project's default network). */
function networkOf(container: string): string {
  const nets = execFileSync("docker", ["inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", container], { encoding: "utf8" }).trim().split(" ").filter(Boolean);
  if (nets.length === 0) throw new RunError(`container ${container.slice(0, 12)} is on no network`);
  return nets[0]!;
}

/** What --docker does to the containers, and how it undoes it. */
function dockerAction(kind: string, net: (c: string) => string): { down: (c: string) => string[]; up: (c: string) => string[]; did: string; undid: string } {
  switch (kind) {
    case "npu-crash":
    case "nats-server-loss": return { down: (c) => ["kill", c], up: (c) => ["start", c], did: "killed", undid: "started" };
    case "npu-hang": return { down: (c) => ["pause", c], up: (c) => ["unpause", c], did: "paused", undid: "unpaused" };
    case "partition": return { down: (c) => ["network", "disconnect", net(c), c], up: (c) => ["network", "connect", net(c), c], did: "disconnected", undid: "reconnected" };
    default: throw new RunError("--docker does npu-crash (docker kill), npu-hang (docker pause), partition (docker network disconnect) and nats-server-loss (docker kill of a NATS server) only");
  }
}

/**
 * `supernode chaos <kind> <target>`: injects a fault into a running run over the coordinator's control
 * API (docs/chaos.md §10). With `--docker` (a `docker compose up` supernode, whose actors the coordinator
 * did not start), an npu-crash is `docker kill` of the NPU's container, an npu-hang `docker pause`, a
 * partition `docker network disconnect` of the side's containers and a nats-server-loss `docker kill`
 * of that NATS server's container; after `--down-ms` the container is started (unpaused, reconnected)
 * again, as an orchestrator would: the coordinator detects the failure, waits for the NPU to come back,
 * and retries the step (a NATS server is not waited for: its clients moved to the other two, and it
 * rejoins the cluster when started).
 */
export function registerChaosCommand(program: Command, exit: (code: number) => void): void {
  program.command("chaos")
    .description("inject a fault into a running supernode (its next op; with --docker: its containers now)")
    .argument("<kind>", "npu-crash, npu-hang, straggler, link-degrade, link-down, link-flap, switch-crash, message-duplicate, message-reorder, partition, nats-server-loss")
    .argument("<target>", "an actor name (npu.n0.1, l1.n0) or a link from->to, as report.json topology.actors lists them; partition: actors of one side (npu.n1.*,l1.n1); nats-server-loss: nats-0, nats-1 or nats-2")
    .option("--run <name>", "the run id (deployment.run; a compose supernode's is 'compose')", DEFAULT_COMPOSE_RUN)
    .option("--nats <urls>", "NATS server(s), comma-separated (default: $SUPERNODE_NATS or nats://127.0.0.1:4222)")
    .option("--duration <ops>", "ops (training steps) the fault lasts; default: to the end of the run")
    .option("--factor <k>", "straggler: compute × k").option("--bandwidth-factor <x>", "link-degrade: bandwidth × x").option("--latency-ns <n>", "link-degrade: + n ns")
    .option("--loss-pct <p>", "link-degrade: % of stripes lost (link-level retry)").option("--corrupt-pct <p>", "link-degrade: % of stripes corrupted")
    .option("--pct <p>", "message-duplicate, message-reorder: % of data messages").option("--period-ns <n>", "link-flap period").option("--duty <d>", "link-flap: fraction of each period down")
    .option("--docker", "npu-crash / npu-hang / partition: kill / pause / network-disconnect the containers (docker compose up); nats-server-loss nats-<i>: kill that NATS server's container (compose service nats-<i+1>); then undo it after --down-ms")
    .option("--project <name>", "compose project of --docker", "supernode")
    .option("--down-ms <ms>", "--docker: how long the container stays down", "3000")
    .action(async (kind: string, target: string, f: ChaosFlags) => {
      // What --docker will do is settled (and refused, naming what it takes) before anything is sent.
      const fault = faultOf(kind, target, f);
      const nets = new Map<string, string>();
      const action = f.docker ? dockerAction(kind, (c) => nets.get(c)!) : undefined;
      const containers = !f.docker ? [] : kind === "nats-server-loss" ? natsContainerOf(f.project, target) : containersOf(f.project, target);
      if (f.docker && kind === "partition") for (const c of containers) nets.set(c, networkOf(c));
      const servers = (f.nats ?? process.env.SUPERNODE_NATS ?? "nats://127.0.0.1:4222").split(",");
      const nc = await connect({ servers, name: "supernode-chaos", inboxPrefix: chaosInboxPrefix(f.run), ...credentialsFromEnv() })
        .catch((err: unknown) => { throw new RunError(`cannot connect to NATS at ${servers.join(",")}: ${toWireError(err).message}`); });
      try {
        const reply = await nc.request(controlSubject(f.run, "chaos"), JSON.stringify(fault), { timeout: 10_000 }).catch((err: unknown) => {
          throw new RunError(`no coordinator of run ${f.run} answered on ${controlSubject(f.run, "chaos")} (${toWireError(err).message}): is the run in progress, and is --run its deployment.run?`);
        });
        const err = reply.headers?.get("Nats-Service-Error");
        if (err) { process.stderr.write(`supernode: chaos refused: ${err}\n`); exit(2); return; }
        process.stdout.write(`# injected: ${reply.string()}\n`);
        if (action) {
          for (const c of containers) docker(action.down(c));
          const what = kind === "nats-server-loss" ? `${target}: compose service ${natsServiceOf(target)}` : target;
          process.stdout.write(`# ${action.did} ${containers.length === 1 ? "container" : `${containers.length} containers`} ${containers.map((c) => c.slice(0, 12)).join(", ")} (${what}); back in ${f.downMs} ms\n`);
          await new Promise((r) => setTimeout(r, Number(f.downMs)));
          for (const c of containers) docker(action.up(c));
          process.stdout.write(`# ${action.undid} ${containers.length === 1 ? "container" : `${containers.length} containers`} ${containers.map((c) => c.slice(0, 12)).join(", ")}\n`);
        }
        exit(0);
      } finally {
        await nc.close();
      }
    });
}

/** Attempts of a `docker pause` that the kernel's freezer refused ("unable to freeze": a busy cgroup). */
const PAUSE_ATTEMPTS = 5;

function docker(args: string[]): void {
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync("docker", args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
      return;
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? "").trim();
      // runc's cgroup v1 freezer gives up when the container's threads do not all stop in time (seen on a
      // loaded 2-core machine): try again, as an orchestrator would.
      if (args[0] === "pause" && /unable to freeze/.test(stderr) && attempt < PAUSE_ATTEMPTS) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
        continue;
      }
      throw new RunError(`docker ${args.join(" ")} failed${attempt > 1 ? ` (${attempt} attempts)` : ""}: ${stderr || toWireError(err).message}`);
    }
  }
}

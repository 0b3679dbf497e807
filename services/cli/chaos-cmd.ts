import { execFileSync } from "node:child_process";
import { connect } from "@nats-io/transport-node";
import type { Command } from "commander";
import { RunError, toWireError } from "../../shared/errors/index.js";
import { credentialsFromEnv } from "../../shared/runtime/index.js";
import { controlSubject } from "../coordinator/index.js";
import { chaosInboxPrefix, DEFAULT_COMPOSE_RUN, serviceName } from "./compose/index.js";

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

/** The container of an actor of a compose supernode (compose v1 labels: project and service). */
function containerOf(project: string, actor: string): string {
  const service = serviceName(actor);
  const id = execFileSync("docker", ["ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`, "--filter", `label=com.docker.compose.service=${service}`], { encoding: "utf8" }).trim().split("\n")[0];
  if (!id) throw new RunError(`no container of service ${service} in compose project ${project} (docker ps)`);
  return id;
}

/**
 * `supernode chaos <kind> <target>`: injects a fault into a running run over the coordinator's control
 * API (docs/chaos.md §6). With `--docker` (a `docker compose up` supernode, whose actors the coordinator
 * did not start), an npu-crash is `docker kill` of the NPU's container and an npu-hang `docker pause`;
 * after `--down-ms` the container is started (unpaused) again, as an orchestrator would: the coordinator
 * detects the failure, waits for the NPU to come back, and retries the step.
 */
export function registerChaosCommand(program: Command, exit: (code: number) => void): void {
  program.command("chaos")
    .description("inject a fault into a running supernode (its next op; with --docker: the NPU's container now)")
    .argument("<kind>", "npu-crash, npu-hang, straggler, link-degrade, link-down, link-flap, switch-crash, message-duplicate, message-reorder")
    .argument("<target>", "an actor name (npu.n0.1, l1.n0) or a link from->to, as report.json topology.actors lists them")
    .option("--run <name>", "the run id (deployment.run; a compose supernode's is 'compose')", DEFAULT_COMPOSE_RUN)
    .option("--nats <urls>", "NATS server(s), comma-separated (default: $SUPERNODE_NATS or nats://127.0.0.1:4222)")
    .option("--duration <ops>", "ops (training steps) the fault lasts; default: to the end of the run")
    .option("--factor <k>", "straggler: compute × k").option("--bandwidth-factor <x>", "link-degrade: bandwidth × x").option("--latency-ns <n>", "link-degrade: + n ns")
    .option("--loss-pct <p>", "link-degrade: % of stripes lost (link-level retry)").option("--corrupt-pct <p>", "link-degrade: % of stripes corrupted")
    .option("--pct <p>", "message-duplicate, message-reorder: % of data messages").option("--period-ns <n>", "link-flap period").option("--duty <d>", "link-flap: fraction of each period down")
    .option("--docker", "npu-crash / npu-hang: kill / pause the NPU's container (docker compose up), then start / unpause it after --down-ms")
    .option("--project <name>", "compose project of --docker", "supernode")
    .option("--down-ms <ms>", "--docker: how long the container stays down", "3000")
    .action(async (kind: string, target: string, f: ChaosFlags) => {
      const servers = (f.nats ?? process.env.SUPERNODE_NATS ?? "nats://127.0.0.1:4222").split(",");
      const nc = await connect({ servers, name: "supernode-chaos", inboxPrefix: chaosInboxPrefix(f.run), ...credentialsFromEnv() })
        .catch((err: unknown) => { throw new RunError(`cannot connect to NATS at ${servers.join(",")}: ${toWireError(err).message}`); });
      try {
        const fault = faultOf(kind, target, f);
        if (f.docker && kind !== "npu-crash" && kind !== "npu-hang") throw new RunError("--docker does npu-crash (docker kill) and npu-hang (docker pause) only");
        const container = f.docker ? containerOf(f.project, target) : undefined;
        const reply = await nc.request(controlSubject(f.run, "chaos"), JSON.stringify(fault), { timeout: 10_000 }).catch((err: unknown) => {
          throw new RunError(`no coordinator of run ${f.run} answered on ${controlSubject(f.run, "chaos")} (${toWireError(err).message}): is the run in progress, and is --run its deployment.run?`);
        });
        const err = reply.headers?.get("Nats-Service-Error");
        if (err) { process.stderr.write(`supernode: chaos refused: ${err}\n`); exit(2); return; }
        process.stdout.write(`# injected: ${reply.string()}\n`);
        if (container) {
          docker(kind === "npu-crash" ? ["kill", container] : ["pause", container]);
          process.stdout.write(`# ${kind === "npu-crash" ? "killed" : "paused"} container ${container.slice(0, 12)} (${target}); back in ${f.downMs} ms\n`);
          await new Promise((r) => setTimeout(r, Number(f.downMs)));
          docker(kind === "npu-crash" ? ["start", container] : ["unpause", container]);
          process.stdout.write(`# ${kind === "npu-crash" ? "started" : "unpaused"} container ${container.slice(0, 12)}\n`);
        }
        exit(0);
      } finally {
        await nc.close();
      }
    });
}

function docker(args: string[]): void {
  execFileSync("docker", args, { stdio: ["ignore", "ignore", "inherit"] });
}

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Command } from "commander";
import { COMPOSE_DEFAULT_SCENARIO, loadScenario } from "../../shared/config/index.js";
import { ScenarioError, SupernodeError } from "../../shared/errors/index.js";
import { MAX_PER_ACTOR_PROCESSES } from "../coordinator/index.js";
import { AUTH_CONF_FILE, CREDENTIALS_DIR, DEFAULT_COMPOSE_RUN, ensureCredentials, generateDeployment, parseAuthUsers } from "./compose/index.js";

/** Where `supernode compose` writes unless told. */
export const DEFAULT_COMPOSE_DIR = "supernode-compose";

interface ComposeFlags {
  preset?: string;
  set: string[];
  out: string;
  composeFile?: string;
  placement?: string;
  run?: string;
  credentials: boolean;
  credentialsOnly?: boolean;
}

/** Makes the missing passwords of an already generated deployment folder (its nats/nats-auth.conf). */
function credentialsOnly(dir: string): string {
  const auth = join(dir, "nats", AUTH_CONF_FILE);
  if (!existsSync(auth)) throw new SupernodeError(`${auth} not found: generate the deployment first (supernode compose --out ${dir})`);
  const made = ensureCredentials(dir, parseAuthUsers(readFileSync(auth, "utf8")));
  return `# credentials: ${made} new password(s) in ${join(dir, CREDENTIALS_DIR)}/\n`;
}

function compose(file: string | undefined, flags: ComposeFlags, argv: readonly string[]): string {
  if (flags.credentialsOnly) return credentialsOnly(flags.out);
  // `--run ID` is `--set deployment.run=ID` (quoted, so an all-digit id stays a string), applied last.
  const sets = [...flags.set, ...(flags.run === undefined ? [] : [`deployment.run=${JSON.stringify(flags.run)}`])];
  const loaded = loadScenario({ file, ...(file ? {} : { raw: COMPOSE_DEFAULT_SCENARIO }), sets, preset: flags.preset, engine: "nats" });
  const actors = loaded.topology.devices.length;
  const placement = flags.placement ?? (actors <= MAX_PER_ACTOR_PROCESSES ? "per-actor" : "grouped");
  if (placement !== "per-actor" && placement !== "grouped") throw new ScenarioError("--placement", `per-actor or grouped, got "${placement}"`);
  const g = generateDeployment({
    loaded, placement, outDir: flags.out,
    ...(flags.composeFile ? { composeFile: flags.composeFile } : {}),
    // The header names what shapes the files (not whether passwords were made).
    commandLine: ["supernode", "compose", ...argv.filter((a) => a !== "--no-credentials")].join(" "),
  });
  const ignore = join(flags.out, ".gitignore");
  if (!existsSync(ignore)) writeFileSync(ignore, `${CREDENTIALS_DIR}/\n`);
  let out = g.files.map((f) => `# wrote ${relative(process.cwd(), f) || f}\n`).join("");
  if (flags.credentials) out += credentialsOnly(flags.out);
  const containers = g.principals.filter((p) => p.actors.length).length;
  out += `# ${actors} actors in ${containers} containers (${placement}), 3 NATS servers, run id ${g.run}, topology ${g.topologyHash.slice(0, 12)}\n`;
  out += `# up:   docker-compose -f ${relative(process.cwd(), g.composeFile)} up --abort-on-container-exit --exit-code-from coordinator\n`;
  out += `# down: docker-compose -f ${relative(process.cwd(), g.composeFile)} down\n`;
  return out;
}

/** `supernode compose`: writes a docker-compose deployment of a scenario's supernode (see docs/containers.md). */
export function registerComposeCommand(program: Command): void {
  program.command("compose")
    .description("write a docker-compose deployment of a supernode: NATS cluster with per-role users, coordinator, actor containers")
    .argument("[scenario]", "scenario YAML file (default: the small CloudMatrix384 of `supernode run`, with an MoE layer after the all-reduce)")
    .option("--preset <name>", "use this preset at full size")
    .option("--set <key=value>", "override a scenario field (repeatable)", (v: string, acc: string[]) => [...acc, v], [])
    .option("--out <dir>", "deployment folder: topology.json, scenario.yaml, nats/, credentials/", DEFAULT_COMPOSE_DIR)
    .option("--compose-file <file>", "where the compose file goes (default: <out>/docker-compose.yml)")
    .option("--placement <mode>", `per-actor (a container per NPU and switch) | grouped (one per node, spine switches 16 per container); default per-actor up to ${MAX_PER_ACTOR_PROCESSES} actors`)
    .option("--run <id>", `run id (subject namespace sn.<id>.…; credentials are valid for this run only); default: the scenario's deployment.run, else ${DEFAULT_COMPOSE_RUN}`)
    .option("--no-credentials", "do not make credentials/ (passwords stay as they are)")
    .option("--credentials-only", "only make the missing passwords of the deployment in --out")
    .action((file: string | undefined, flags: ComposeFlags, cmd: Command) => {
      process.stdout.write(compose(file, flags, cmd.parent ? process.argv.slice(3) : []));
    });
}

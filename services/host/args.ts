/** Flags of an actor host; each has an environment variable for containers. */
export interface HostArgs {
  readonly nats: string;
  readonly run: string;
  readonly topologyFile: string;
  readonly actors: string;
  readonly heartbeatMs: number;
  readonly inc: number;
  readonly logLevel: string;
  readonly watchStdin: boolean;
}

const FLAGS: Readonly<Record<string, [keyof HostArgs, string]>> = {
  "--nats": ["nats", "SUPERNODE_NATS"],
  "--run": ["run", "SUPERNODE_RUN"],
  "--topology": ["topologyFile", "SUPERNODE_TOPOLOGY"],
  "--actors": ["actors", "SUPERNODE_ACTORS"],
  "--heartbeat-ms": ["heartbeatMs", "SUPERNODE_HEARTBEAT_MS"],
  "--inc": ["inc", "SUPERNODE_INC"],
  "--log-level": ["logLevel", "SUPERNODE_LOG_LEVEL"],
};

/** `--flag value` pairs and `--watch-stdin`, over environment defaults; throws on anything unknown. */
export function parseHostArgs(argv: readonly string[], env: NodeJS.ProcessEnv): HostArgs {
  const v: Record<string, string> = {};
  for (const [key, envName] of Object.values(FLAGS)) {
    const e = env[envName];
    if (e !== undefined) v[key] = e;
  }
  let watchStdin = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--watch-stdin") { watchStdin = true; continue; }
    const spec = FLAGS[a];
    const val = argv[i + 1];
    if (!spec || val === undefined) throw new Error(`supernode-host: unknown flag or missing value: ${a} (flags: ${Object.keys(FLAGS).join(" ")} --watch-stdin)`);
    v[spec[0]] = val;
    i++;
  }
  for (const need of ["topologyFile", "actors"]) {
    if (!v[need]) throw new Error(`supernode-host: --${need === "topologyFile" ? "topology" : need} is required`);
  }
  return {
    nats: v.nats ?? "nats://127.0.0.1:4222",
    run: v.run ?? "default",
    topologyFile: v.topologyFile!,
    actors: v.actors!,
    heartbeatMs: Number(v.heartbeatMs ?? 500),
    inc: Number(v.inc ?? 0),
    logLevel: v.logLevel ?? "warn",
    watchStdin,
  };
}

/** `3,5,7-9` → [3,5,7,8,9]. */
export function parseActorList(s: string): number[] {
  return s.split(",").filter(Boolean).flatMap((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad actor list "${s}" (e.g. 0,3,5-9)`);
    const a = Number(m[1]), b = Number(m[2] ?? m[1]);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

// Credentials come from the environment (or files mounted into it), never from images or code.
/** NATS credentials for this process's connections: SUPERNODE_NATS_USER/PASS, or SUPERNODE_NATS_TOKEN. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env.SUPERNODE_NATS_USER) return { user: env.SUPERNODE_NATS_USER, pass: env.SUPERNODE_NATS_PASS ?? "" };
  if (env.SUPERNODE_NATS_TOKEN) return { token: env.SUPERNODE_NATS_TOKEN };
  return {};
}

import { EmbeddedServerError } from "./server-process.js";

/** How often a cluster start asks the servers' monitors whether the mesh is complete. */
export const CLUSTER_POLL_MS = 20;

interface Routez { server_id: string; routes?: { remote_id: string }[] }
interface Jsz { meta_cluster?: { leader?: string } }

/** What the readiness wait watches: each server's monitor port, and a way to tell it died. */
export interface ReadyProbe {
  readonly monitorPorts: readonly number[];
  readonly host: string;
  readonly jetstream: boolean;
  /** Throws when a server has exited (the wait then ends with that error). */
  readonly checkAlive: () => void;
  readonly deadline: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Resolves once every server has a route to every other (its `/routez` names each other server's id
 * as a remote) and, with JetStream, every server knows the meta leader (`/jsz`). Rejects at the
 * deadline with what was still missing.
 */
export async function waitClusterReady(p: ReadyProbe): Promise<void> {
  let missing = "no monitor answered yet";
  for (;;) {
    p.signal?.throwIfAborted();
    p.checkAlive();
    const found = await lookOnce(p).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
    if (found === undefined) return;
    missing = found;
    if (Date.now() > p.deadline) throw new EmbeddedServerError(`nats-server cluster not formed in time: ${missing}`);
    await new Promise((r) => setTimeout(r, CLUSTER_POLL_MS));
  }
}

/** undefined when the cluster is complete, else what is missing. */
async function lookOnce(p: ReadyProbe): Promise<string | undefined> {
  const get = async <T>(port: number, path: string): Promise<T> => {
    const res = await fetch(`http://${p.host}:${port}${path}`, { signal: AbortSignal.timeout(1_000) });
    return (await res.json()) as T;
  };
  const routez = await Promise.all(p.monitorPorts.map((port) => get<Routez>(port, "/routez")));
  const ids = routez.map((r) => r.server_id);
  for (const [i, r] of routez.entries()) {
    const remotes = new Set((r.routes ?? []).map((x) => x.remote_id));
    const lacking = ids.filter((id, j) => j !== i && !remotes.has(id)).length;
    if (lacking > 0) return `server ${i} lacks routes to ${lacking} of the others`;
  }
  if (!p.jetstream) return undefined;
  const jsz = await Promise.all(p.monitorPorts.map((port) => get<Jsz>(port, "/jsz")));
  const without = jsz.findIndex((j) => !j.meta_cluster?.leader);
  return without < 0 ? undefined : `server ${without} knows no JetStream meta leader`;
}

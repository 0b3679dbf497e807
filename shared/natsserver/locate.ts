import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { SupernodeError } from "../errors/index.js";

/** Environment variable that names the `nats-server` binary explicitly, bypassing the search. */
export const NATS_SERVER_BIN_ENV = "NATS_SERVER_BIN";

/** Directories searched after `PATH`: where Debian (`/usr/sbin`) and manual installs put it. */
export const NATS_SERVER_FALLBACK_DIRS: readonly string[] = ["/usr/sbin", "/usr/local/bin", "/usr/bin"];

const BINARY_NAME = "nats-server";
const INSTALL_HINT = "nats-server not found: install it (Debian: apt-get install nats-server) or set NATS_SERVER_BIN";

/**
 * No usable `nats-server` binary. The message is one line telling the user how to fix it; the
 * paths that were tried are in `searched`. Not retryable: nothing changes until someone installs it.
 */
export class NatsServerNotFound extends SupernodeError {
  /** Every path that was checked, in order. */
  readonly searched: readonly string[];
  constructor(searched: readonly string[], opts: { cause?: unknown } = {}) {
    super(INSTALL_HINT, { ...opts, retryable: false });
    this.searched = searched;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds the `nats-server` binary: `$NATS_SERVER_BIN` if set (it must exist and be executable —
 * a set-but-wrong variable is an error, not a reason to silently pick another binary), else the
 * first hit on `PATH`, then in {@link NATS_SERVER_FALLBACK_DIRS}.
 * @throws {NatsServerNotFound} when nothing usable is found.
 */
export function locateNatsServer(): string {
  const explicit = process.env[NATS_SERVER_BIN_ENV];
  if (explicit !== undefined && explicit !== "") {
    if (isExecutableFile(explicit)) return explicit;
    throw new NatsServerNotFound([explicit]);
  }
  const pathDirs = (process.env["PATH"] ?? "").split(delimiter).filter((d) => d !== "");
  const candidates = [...new Set([...pathDirs, ...NATS_SERVER_FALLBACK_DIRS])].map((d) => join(d, BINARY_NAME));
  const found = candidates.find(isExecutableFile);
  if (found === undefined) throw new NatsServerNotFound(candidates);
  return found;
}

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EXTRA_CA_CERTS_ENV, hostEnv, HOST_MALLOC_MMAP_THRESHOLD } from "../../services/coordinator/launcher.js";

describe("hostEnv", () => {
  const env = { PATH: "/bin", [EXTRA_CA_CERTS_ENV]: "/etc/ssl/certs/ca-certificates.crt" };

  it("drops NODE_EXTRA_CA_CERTS only for hosts of the embedded server, and pins the mmap threshold unless set", () => {
    expect(hostEnv(env, true)).toEqual({ PATH: "/bin", MALLOC_MMAP_THRESHOLD_: HOST_MALLOC_MMAP_THRESHOLD });
    expect(hostEnv(env)).toEqual({ ...env, MALLOC_MMAP_THRESHOLD_: HOST_MALLOC_MMAP_THRESHOLD });
    expect(hostEnv({ MALLOC_MMAP_THRESHOLD_: "65536" }).MALLOC_MMAP_THRESHOLD_).toBe("65536");
    expect(env[EXTRA_CA_CERTS_ENV]).toBeDefined(); // the caller's environment is left alone
  });
});

describe("scripts/cached-entry.cjs", () => {
  let dir: string | undefined;
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it("runs <name>.bundle.cjs as that file with the caller's arguments, writes a code cache, and reuses it", () => {
    dir = mkdtempSync(join(tmpdir(), "supernode-cached-entry-"));
    const entry = join(dir, "app.cjs");
    copyFileSync("scripts/cached-entry.cjs", entry);
    writeFileSync(join(dir, "app.bundle.cjs"), "#!/usr/bin/env node\nconsole.log(JSON.stringify([process.argv.slice(1), __filename, typeof require('node:path').join]));\n");
    const run = () => JSON.parse(execFileSync(process.execPath, [entry, "--flag", "v"], { encoding: "utf8" })) as unknown;
    const bundle = join(dir, "app.bundle.cjs");
    expect(run()).toEqual([[bundle, "--flag", "v"], bundle, "function"]);
    const cache = `${bundle}.v8cache`;
    const first = statSync(cache).mtimeMs; // written at exit: there was none
    expect(run()).toEqual([[bundle, "--flag", "v"], bundle, "function"]);
    expect(statSync(cache).mtimeMs).toBe(first); // accepted by V8, so not written again
  });
});

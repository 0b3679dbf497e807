// A process entry that runs its bundle with V8's code cache. scripts/bundle.mjs copies this file to
// dist/bundle/<name>.cjs beside the bundle <name>.bundle.cjs. Node 20 has no compile cache of its own,
// and parsing and compiling a bundle is a fifth of an actor host's start (dozens start at once).
// The cache (<name>.bundle.cjs.v8cache) is written at exit by a process that ran without a usable one
// (none yet, or V8 rejected it: another Node or V8 flags); it holds every function that process
// compiled, so the next ones neither parse nor compile them. V8 checks a cache against its source's
// length only: the bundler deletes the caches, and a process whose bundle was rebuilt while it ran
// writes none. A cache that cannot be read or written (read-only install) only costs the speed-up.
"use strict";
const { readFileSync, renameSync, statSync, writeFileSync } = require("node:fs");
const { dirname } = require("node:path");
const { Script } = require("node:vm");
const { createRequire, wrap } = require("node:module");

const bundle = __filename.replace(/\.cjs$/, ".bundle.cjs");
const cacheFile = `${bundle}.v8cache`;
const stamp = (s) => `${s.size}:${s.mtimeMs}`;
const read = stamp(statSync(bundle));
let cachedData;
try { cachedData = readFileSync(cacheFile); } catch { cachedData = undefined; }
// "#!" → "//": the shebang stays a comment inside the wrapper, and lines and columns stay where they were.
const source = readFileSync(bundle, "utf8").replace(/^#!/, "//");
const script = new Script(wrap(source), { filename: bundle, cachedData });
if (cachedData === undefined || script.cachedDataRejected) {
  process.once("exit", () => {
    try {
      if (stamp(statSync(bundle)) !== read) return; // rebuilt meanwhile: this code is not the file's
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile); // atomic: processes that exit together each replace it whole
    } catch {
      // no cache: the next process compiles, as without one
    }
  });
}
process.argv[1] = bundle;
const mod = { exports: {}, filename: bundle, id: bundle };
script.runInThisContext()(mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));

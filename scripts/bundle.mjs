// Bundles the process entries (actor host, CLI) into one file each under dist/bundle/, so that a
// process loads one module instead of hundreds: a supernode starts dozens of actor hosts at once, and
// each one's start-up is mostly module loading. Each bundle is CommonJS (<name>.bundle.cjs) and starts
// from <name>.cjs (scripts/cached-entry.cjs), which runs it with V8's code cache: Node 20 caches no
// compiled code of its own, and an ES module cannot be given a cache. Called by scripts/setup.sh after
// tsc (which type-checks; esbuild only strips types). The unbundled dist/services/… stay: tests, the
// Docker image and the launcher's fallback use them.
//   node scripts/bundle.mjs
import { build } from "esbuild";
import { copyFileSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const OUT_DIR = "dist/bundle";

/** Entry name (dist/bundle/<name>.cjs) → source. */
const ENTRIES = { host: "services/host/main.ts", cli: "services/cli/main.ts" };
const CACHED_ENTRY = "scripts/cached-entry.cjs";

// The sources are ES modules: in CommonJS, `import.meta.url` (the launcher finds the host bundle by it)
// is the bundle's own URL.
const BANNER = 'const __snImportMetaUrl = require("node:url").pathToFileURL(__filename).href;';

const EXTRACTOR = "msgpackr-extract";

/**
 * msgpackr's optional native string extractor is a prebuilt addon that `msgpackr-extract` finds at
 * run time by probing directories and the C library (~15 ms of every process's start, a third of a
 * bundled host's module loading). The bundle asks for the file found here, now, relative to the
 * bundle, and falls back to that same search when the file does not load (another Node ABI, a moved
 * node_modules); msgpackr itself treats a missing extractor as optional.
 */
function prebuiltExtractor() {
  const req = createRequire(join(root, "package.json"));
  let addon;
  try {
    addon = req("node-gyp-build-optional-packages").path(dirname(req.resolve(`${EXTRACTOR}/package.json`)));
  } catch {
    addon = undefined; // not installed here: the plain require below, as msgpackr itself would do
  }
  const fromBundle = addon && `./${relative(join(root, OUT_DIR), addon)}`;
  const contents = fromBundle
    ? `try { module.exports = require(${JSON.stringify(fromBundle)}); } catch { module.exports = require("${EXTRACTOR}"); }`
    : `module.exports = require("${EXTRACTOR}");`;
  return {
    name: "prebuilt-extractor",
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${EXTRACTOR}$`) }, (args) =>
        args.namespace === "prebuilt" ? { path: EXTRACTOR, external: true } : { path: EXTRACTOR, namespace: "prebuilt" });
      b.onResolve({ filter: /\.node$/, namespace: "prebuilt" }, (args) => ({ path: args.path, external: true }));
      b.onLoad({ filter: /.*/, namespace: "prebuilt" }, () => ({ contents, loader: "js", resolveDir: root }));
    },
  };
}

await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, src]) => [`${name}.bundle`, src])),
  outdir: OUT_DIR,
  outExtension: { ".js": ".cjs" },
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  plugins: [prebuiltExtractor()],
  banner: { js: BANNER },
  define: { "import.meta.url": "__snImportMetaUrl" },
  // Error and class names show in logs and reports: keep them.
  keepNames: true,
  sourcemap: "linked",
  logLevel: "warning",
});

// Caches of the bundles just replaced would pass V8's check (source length) if a length stayed the
// same: remove them, and the ES-module bundles of earlier builds.
const stale = (f) => f.endsWith(".v8cache") || /\.v8cache\.\d+$/.test(f) || /\.mjs(\.map)?$/.test(f);
for (const f of readdirSync(join(root, OUT_DIR)).filter(stale)) rmSync(join(root, OUT_DIR, f), { force: true });
for (const name of Object.keys(ENTRIES)) copyFileSync(join(root, CACHED_ENTRY), join(root, OUT_DIR, `${name}.cjs`));

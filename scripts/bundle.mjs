// Bundles the process entries (actor host, CLI) into one file each under dist/bundle/, so that a
// process loads one module instead of hundreds: a supernode starts dozens of actor hosts at once, and
// each one's start-up is mostly module loading. Called by scripts/setup.sh after tsc (which
// type-checks; esbuild only strips types). The unbundled dist/services/… stay: tests, the Docker
// image and the launcher's fallback use them.
//   node scripts/bundle.mjs
import { build } from "esbuild";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const OUT_DIR = "dist/bundle";

/** Entry name (dist/bundle/<name>.mjs) → source. */
const ENTRIES = { host: "services/host/main.ts", cli: "services/cli/main.ts" };

// Bundled CommonJS packages (pino, nats, commander…) require() node builtins and native addons; an
// ES module has no `require`, so each bundle makes one for itself.
const BANNER = 'import { createRequire as __snCreateRequire } from "node:module"; const require = __snCreateRequire(import.meta.url);';

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
  entryPoints: ENTRIES,
  outdir: OUT_DIR,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  plugins: [prebuiltExtractor()],
  banner: { js: BANNER },
  // Error and class names show in logs and reports: keep them.
  keepNames: true,
  sourcemap: "linked",
  logLevel: "warning",
});

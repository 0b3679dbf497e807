// A built checkout of another revision in a temporary git worktree, for `npm run bench -- --baseline`.
// It lives under /tmp and is removed on dispose, also when building it failed.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Root of the current tree (this file is dist/test/bench/baseline-tree.js). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BUILD_TIMEOUT_MS = 10 * 60_000;
/** Worktrees are /tmp/supernode-baseline-<sha12>-<pid>: one per run, so concurrent runs never share one. */
const TMP = "/tmp";
const TREE_NAME = /^supernode-baseline-[0-9a-f]{12}-(\d+)$/;

type Log = (line: string) => void;

/** Runs a build step without blocking the event loop, so a signal can stop it (the signal kills the child). */
function step(cmd: string, args: readonly string[], cwd: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { cwd, timeout: BUILD_TIMEOUT_MS, signal, maxBuffer: 64 << 20 },
      (err) => (err ? reject(signal.aborted ? signal.reason : new Error(`${cmd} ${args.join(" ")} in ${cwd} failed: ${err.message}`, { cause: err })) : resolve()));
    child.stdout?.pipe(process.stderr);
    child.stderr?.pipe(process.stderr);
  });
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === "EPERM"; }
}

function git(args: readonly string[]): string {
  return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** The commit `rev` names, or a clear error. */
export function resolveCommit(rev: string): string {
  try {
    return git(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
  } catch {
    throw new Error(`--baseline ${rev}: not a commit of ${REPO_ROOT}`);
  }
}

interface LockEntry { version?: string; optional?: boolean; link?: boolean }

/**
 * Why this tree's node_modules cannot serve the baseline, or undefined if it can: every package the
 * baseline's package-lock.json installs (direct and transitive, at its path) must be installed here at
 * the same version. Extra packages here are harmless: the baseline never imports them.
 */
export function nodeModulesMismatch(baselineLockJson: string, nodeModulesParent: string): string | undefined {
  const lock = JSON.parse(baselineLockJson) as { packages?: Record<string, LockEntry> };
  if (!lock.packages) return "the baseline's package-lock.json has no `packages` (lockfile v1)";
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith("node_modules/") || entry.link) continue;
    const manifest = join(nodeModulesParent, path, "package.json");
    if (!existsSync(manifest)) {
      if (entry.optional) continue; // platform-specific optional packages are often absent
      return `${path} is not installed here`;
    }
    const have = (JSON.parse(readFileSync(manifest, "utf8")) as { version?: string }).version;
    if (have !== entry.version) return `${path}: baseline wants ${entry.version}, installed ${have}`;
  }
  return undefined;
}

/** A built worktree of one commit. */
export class BaselineTree implements Disposable {
  private removed = false;

  private constructor(readonly sha: string, readonly dir: string, private readonly log: Log) {}

  /** Adds the worktree, gives it node_modules (a symlink to ours when compatible, else `npm ci`) and builds it. */
  static async open(rev: string, signal: AbortSignal, log: Log): Promise<BaselineTree> {
    const sha = resolveCommit(rev);
    BaselineTree.removeLeftovers(log);
    const dir = join(TMP, `supernode-baseline-${sha.slice(0, 12)}-${process.pid}`);
    git(["worktree", "add", "--detach", dir, sha]);
    const tree = new BaselineTree(sha, dir, log);
    try {
      await tree.install(signal);
      await tree.build(signal);
    } catch (err) {
      tree[Symbol.dispose]();
      throw err;
    }
    return tree;
  }

  /** Worktrees of runs that were killed outright (SIGKILL: no chance to clean up); only our name pattern, only dead pids. */
  private static removeLeftovers(log: Log): void {
    for (const name of readdirSync(TMP)) {
      const pid = TREE_NAME.exec(name)?.[1];
      if (pid !== undefined && !alive(Number(pid))) BaselineTree.remove(join(TMP, name), log);
    }
  }

  /** The baseline's bench case script. */
  get caseScript(): string {
    return join(this.dir, "dist/test/bench/case.js");
  }

  private async install(signal: AbortSignal): Promise<void> {
    const lock = join(this.dir, "package-lock.json");
    const why = existsSync(lock) ? nodeModulesMismatch(readFileSync(lock, "utf8"), REPO_ROOT) : "the baseline has no package-lock.json";
    if (why === undefined) {
      symlinkSync(join(REPO_ROOT, "node_modules"), join(this.dir, "node_modules"), "dir");
      this.log(`baseline ${this.sha.slice(0, 12)}: node_modules symlinked to ${REPO_ROOT}node_modules (same package versions)`);
      return;
    }
    this.log(`baseline ${this.sha.slice(0, 12)}: npm ci (${why})`);
    await step("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], this.dir, signal);
  }

  private async build(signal: AbortSignal): Promise<void> {
    this.log(`baseline ${this.sha.slice(0, 12)}: building in ${this.dir}`);
    // `npx tsc`, minus the npx process in between: a signal then stops the compiler itself.
    await step(process.execPath, [join(this.dir, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], this.dir, signal);
    if (!existsSync(this.caseScript)) throw new Error(`baseline ${this.sha.slice(0, 12)} has no test/bench/case.ts: it cannot run bench cases`);
  }

  /** Removes the worktree (idempotent). */
  [Symbol.dispose](): void {
    if (this.removed) return;
    this.removed = true;
    BaselineTree.remove(this.dir, this.log);
  }

  private static remove(dir: string, log: Log): void {
    const nm = join(dir, "node_modules");
    // Unlink our symlink first, so that nothing below can ever descend into the real node_modules.
    try { if (lstatSync(nm).isSymbolicLink()) unlinkSync(nm); } catch { /* no node_modules link */ }
    try {
      git(["worktree", "remove", "--force", dir]);
      log(`baseline: removed worktree ${dir}`);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      log(`baseline: removed ${dir} by hand (git worktree remove: ${(err as Error).message.split("\n")[0]}); \`git worktree prune\` drops its record`);
    }
  }
}

import { readdirSync, readFileSync } from "node:fs";

/** Parent pid of a process, from /proc (undefined if it is gone). */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** All descendants of a process (children, grandchildren, …), read from /proc. */
export function descendantsOf(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const ppid = parentOf(Number(e));
    if (ppid === undefined) continue;
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid)!.push(Number(e));
  }
  const out: number[] = [];
  const walk = (p: number) => { for (const c of kids.get(p) ?? []) { out.push(c); walk(c); } };
  walk(root);
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    return state !== "Z";
  } catch {
    return false;
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

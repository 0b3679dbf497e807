import { readFileSync } from "node:fs";

/**
 * The scheduler state of a local process from /proc/<pid>/stat (the letter after the command's
 * closing parenthesis): R running, S sleeping, D in I/O, T stopped (SIGSTOP), Z zombie, …; undefined
 * when the process is gone or /proc cannot say.
 */
export function procState(pid: number | undefined): string | undefined {
  if (pid === undefined || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) || undefined;
  } catch {
    return undefined;
  }
}

/** Running, sleeping or in I/O: alive and able to run (a stopped, traced or zombie process is not). */
export const isRunnable = (state: string | undefined): boolean => state === "R" || state === "S" || state === "D";

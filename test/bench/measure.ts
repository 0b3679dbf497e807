// `node measure.js <case.js> <json>`: runs a bench case script of any revision in this process and,
// when the process exits, prints one more JSON line: {"measure":{"cpuMs","maxRssMB"}}.
//
// Why in-process: Node gives a parent no rusage of its children (child_process reports exit status
// and output only, and /proc/<pid>/stat is gone once the child is reaped), and old case.js files do
// not time their CPU themselves. So the case runs as this process's program, and at exit we read
// process.resourceUsage(): user + system CPU of the whole process from Node's start, all threads
// (GC and compiler threads included), and its peak RSS. Start-up and module loading are inside the
// figure, the same few tens of ms for any revision, so it compares like with like as long as both
// sides are measured this way. Nothing is imported from the script's tree but the script itself.
import { writeSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [script, ...args] = process.argv.slice(2);
if (script === undefined) {
  process.stderr.write("usage: node measure.js <case.js> [args…]\n");
  process.exit(2);
}
// The script sees the argv it would have had as `node <case.js> <json>`.
process.argv.splice(1, process.argv.length - 1, resolve(script), ...args);
process.on("exit", () => {
  const u = process.resourceUsage(); // CPU times in µs, maxRSS in KiB
  writeSync(1, JSON.stringify({ measure: { cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssMB: u.maxRSS / 1024 } }) + "\n");
});
await import(pathToFileURL(resolve(script)).href);

// One benchmark case in its own process, so its peak RSS is its own. Prints one JSON line.
// wallMs and cpuMs (user + system of this process, all threads) cover the same span: from scenario
// load to the report, not Node's start-up or module loading.
import { performance } from "node:perf_hooks";
import { loadScenario } from "../../shared/config/index.js";
import { SimEngine, type ActorLogic } from "../../shared/runtime/index.js";
import { npuLogic } from "../../services/npu/index.js";
import { switchLogic } from "../../services/switch/index.js";
import { runScenario } from "../../services/coordinator/index.js";

const raw = JSON.parse(process.argv[2] ?? "{}") as unknown;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const loaded = loadScenario({ raw });
const engine = new SimEngine({ topology: loaded.topology, npu: npuLogic as ActorLogic<never>, switch: switchLogic as ActorLogic<never> });
const report = await runScenario(loaded, engine);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const messages = [...report.results, ...report.moe].reduce((s, r) => s + r.messages, 0);
process.stdout.write(JSON.stringify({
  status: report.status,
  actors: report.topology.actorCount,
  wallMs,
  cpuMs: (cpu.user + cpu.system) / 1000,
  messages,
  maxRssMB: process.resourceUsage().maxRSS / 1024,
  results: report.results.map((r) => ({ size: r.sizeBytes, virtualUs: r.virtualTimeNs / 1000, errorPct: r.errorPct, verified: r.verified })),
  moe: report.moe.map((r) => ({ ep: r.ep, dispatchUs: r.dispatchNs / 1000, combineUs: r.combineNs / 1000, layerUs: r.layerNs / 1000, errorPct: r.dispatchErrorPct, verified: r.verified })),
}) + "\n");

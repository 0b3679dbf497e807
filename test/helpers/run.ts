import { loadScenario, type Loaded } from "../../shared/config/index.js";
import { SimEngine, type ActorLogic } from "../../shared/runtime/index.js";
import { npuLogic } from "../../services/npu/index.js";
import { switchLogic } from "../../services/switch/index.js";
import { runScenario, type Report } from "../../services/coordinator/index.js";

/** A scenario object with the defaults tests do not care about. */
export function scenario(topology: Record<string, unknown>, workload: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { topology, workload: { kind: "collective", ranks: "all", ...workload }, engine: "sim", seed: 7, ...extra };
}

export function simEngine(loaded: Loaded): SimEngine {
  return new SimEngine({ topology: loaded.topology, npu: npuLogic as ActorLogic<never>, switch: switchLogic as ActorLogic<never> });
}

/** Loads and runs a scenario on the sim engine, in this process. */
export async function runSim(raw: unknown): Promise<Report> {
  const loaded = loadScenario({ raw });
  await using engine = simEngine(loaded);
  return await runScenario(loaded, engine); // await inside the `using` scope, or the engine is disposed first
}

/** A custom fabric: N endpoints on one switch, every link `bw` GB/s and `lat` ns each way. */
export function singleSwitch(n: number, bw = 100, lat = 100, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    preset: "custom",
    custom: {
      devices: [{ name: "sw", kind: "switch" }, { name: "npu", kind: "npu", count: n }],
      links: [{ from: "npu*", to: "sw", bandwidthGBps: bw, latencyNs: lat }],
    },
    ...extra,
  };
}

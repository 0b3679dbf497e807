import type { Loaded } from "../../shared/config/index.js";
import { SimEngine, type ActorLogic, type Engine, type Logger } from "../../shared/runtime/index.js";
import type { TraceRecorder } from "../../shared/trace/index.js";
import { NatsEngine } from "../coordinator/index.js";
import { npuLogic } from "../npu/index.js";
import { switchLogic } from "../switch/index.js";

/** Builds the engine a scenario asks for (the NATS one starts its server and hosts first); `trace`: the sim engine's actors record into it. */
export async function makeEngine(loaded: Loaded, log: Logger, signal?: AbortSignal, trace?: TraceRecorder): Promise<Engine> {
  switch (loaded.scenario.engine) {
    case "sim":
      return new SimEngine({
        topology: loaded.topology,
        npu: npuLogic as ActorLogic<never>,
        switch: switchLogic as ActorLogic<never>,
        log,
        trace,
      });
    case "nats":
      return NatsEngine.start(loaded, log, signal);
  }
}

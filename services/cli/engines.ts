import type { Loaded } from "../../shared/config/index.js";
import { SimEngine, type ActorLogic, type Engine, type Logger } from "../../shared/runtime/index.js";
import { NatsEngine } from "../coordinator/index.js";
import { npuLogic } from "../npu/index.js";
import { switchLogic } from "../switch/index.js";

/** Builds the engine a scenario asks for (the NATS one starts its server and hosts first). */
export async function makeEngine(loaded: Loaded, log: Logger, signal?: AbortSignal): Promise<Engine> {
  switch (loaded.scenario.engine) {
    case "sim":
      return new SimEngine({
        topology: loaded.topology,
        npu: npuLogic as ActorLogic<never>,
        switch: switchLogic as ActorLogic<never>,
        log,
      });
    case "nats":
      return NatsEngine.start(loaded, log, signal);
  }
}

import type { Loaded } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";
import { SimEngine, type ActorLogic, type Engine, type Logger } from "../../shared/runtime/index.js";
import { npuLogic } from "../npu/index.js";
import { switchLogic } from "../switch/index.js";

/** Builds the engine a scenario asks for. */
export function makeEngine(loaded: Loaded, log: Logger): Engine {
  switch (loaded.scenario.engine) {
    case "sim":
      return new SimEngine({
        topology: loaded.topology,
        npu: npuLogic as ActorLogic<never>,
        switch: switchLogic as ActorLogic<never>,
        log,
      });
    case "nats":
      throw new ScenarioError("engine", "the nats engine is not built yet (issue #3); use --engine sim");
  }
}

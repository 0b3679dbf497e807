import { ScenarioError } from "../../shared/errors/index.js";
import type { FaultInjector } from "./faults.js";

/**
 * Where the control API's `chaos` requests reach the run in progress (docs/chaos.md §6): the run
 * attaches its fault injector while it runs; a request between runs, or to a run that declares
 * neither faults nor recovery, is refused.
 */
export class ChaosPort {
  private injector: FaultInjector | undefined;

  attach(i: FaultInjector | undefined): void { this.injector = i; }
  detach(): void { this.injector = undefined; }

  /** Injects a fault into the run in progress from its next op; returns what was queued. */
  inject(raw: unknown): { fault: number; kind: unknown; target: unknown; fromOpIndex: number } {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ScenarioError("", `expected a fault as a JSON object {"kind": …, "target": …}, got ${JSON.stringify(raw)}`);
    if (!this.injector) throw new ScenarioError("", "no run that takes faults is in progress: runs take faults at run time when their scenario declares recovery: (or faults:)");
    const fromOpIndex = this.injector.nextIndex;
    const fault = this.injector.inject(raw as Record<string, unknown>);
    return { fault, kind: (raw as Record<string, unknown>).kind, target: (raw as Record<string, unknown>).target, fromOpIndex };
  }
}

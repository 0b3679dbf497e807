import type { NatsConnection } from "@nats-io/transport-node";
import { Svcm, type Service, type ServiceMsg } from "@nats-io/services";
import { toWireError } from "../../shared/errors/index.js";
import { SUBJECT_ROOT } from "../../shared/protocol/index.js";

export const CONTROL_SERVICE_NAME = "supernode-coordinator";
export const CONTROL_SERVICE_VERSION = "0.1.0";

/** What the coordinator does when another program asks. */
export interface ControlHandlers {
  status(): unknown;
  /** Runs the scenario's workload (optionally with workload overrides); resolves with the report. */
  run(request: unknown): Promise<unknown>;
  stop(): void;
}

/** Subject of a control endpoint of a run: `sn.<run>.api.<verb>`. */
export function controlSubject(run: string, verb: "status" | "run" | "stop"): string {
  return `${SUBJECT_ROOT}.${run}.api.${verb}`;
}

/**
 * The coordinator's control API as a NATS micro service (discoverable with `$SRV.INFO`): request/reply
 * on `sn.<run>.api.status`, `.run` and `.stop`, JSON in and out. Errors are service errors (code 409
 * when busy, 500 otherwise), never a crash of the coordinator.
 */
export async function startControlService(nc: NatsConnection, run: string, h: ControlHandlers): Promise<Service> {
  const svc = await new Svcm(nc).add({ name: CONTROL_SERVICE_NAME, version: CONTROL_SERVICE_VERSION, metadata: { run } });
  const group = svc.addGroup(`${SUBJECT_ROOT}.${run}.api`);
  const json = (m: ServiceMsg, x: unknown) => m.respond(JSON.stringify(x));
  group.addEndpoint("status", { handler: (err, m) => { if (!err) json(m, h.status()); } });
  group.addEndpoint("stop", { handler: (err, m) => { if (!err) { json(m, { stopping: true }); h.stop(); } } });
  let busy = false;
  group.addEndpoint("run", {
    handler: (err, m) => {
      if (err) return;
      if (busy) { m.respondError(409, "busy: a run is in progress"); return; }
      busy = true;
      let body: unknown = {};
      try { body = m.data.length ? JSON.parse(new TextDecoder().decode(m.data)) : {}; } catch { /* empty body */ }
      h.run(body).then((r) => json(m, r), (e) => m.respondError(500, toWireError(e).message)).finally(() => { busy = false; });
    },
  });
  return svc;
}

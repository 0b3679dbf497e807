import { performance } from "node:perf_hooks";
import type { NatsConnection } from "@nats-io/transport-node";
import { ServiceError, Svcm, type Endpoint, type NamedEndpointStats, type Service, type ServiceMsg } from "@nats-io/services";
import { ScenarioError, toWireError } from "../../shared/errors/index.js";
import { SUBJECT_ROOT } from "../../shared/protocol/index.js";

export const CONTROL_SERVICE_NAME = "supernode-coordinator";
export const CONTROL_SERVICE_VERSION = "0.1.0";

/** Service error codes, HTTP-like as NATS micro services use them. */
const BAD_REQUEST = 400;
const CONFLICT = 409;
const INTERNAL_ERROR = 500;
const NS_PER_MS = 1_000_000;
const BUSY = "busy: a run is in progress";
const ONE_WORKLOAD = "busy: this coordinator runs one workload (use `supernode coordinator` to serve runs)";
const SET_EXPECTED = 'expected an array of "key=value" strings';

/** A checked `api.run` body: the `key=value` overrides to apply, in order. */
export interface RunRequest {
  readonly sets: readonly string[];
}

/** What the coordinator does when another program asks. */
export interface ControlHandlers {
  status(): unknown;
  /**
   * Checks a run request and returns the run to start, which resolves with the report. A ScenarioError
   * (thrown here or by the run) is the caller's mistake. Absent: this coordinator runs one workload
   * of its own and refuses run requests.
   */
  prepareRun?(request: RunRequest): () => Promise<unknown>;
  /** Why no run may start now (e.g. the coordinator is stopping), or undefined. */
  refusal?(): string | undefined;
  stop(): void;
  /** Injects a fault into the run in progress (`supernode chaos`); absent: refused (409). */
  chaos?(body: unknown): unknown;
}

/** Subject of a control endpoint of a run: `sn.<run>.api.<verb>`. */
export function controlSubject(run: string, verb: "status" | "run" | "stop" | "chaos"): string {
  return `${SUBJECT_ROOT}.${run}.api.${verb}`;
}

type MeterStats = Pick<NamedEndpointStats, "num_requests" | "num_errors" | "processing_time" | "average_processing_time" | "last_error">;

/** One endpoint's requests, errors and processing time (ns), each counted when its reply is sent. */
class EndpointMeter {
  private requests = 0;
  private errors = 0;
  private ns = 0;
  private lastError: string | undefined;

  answered(startedMs: number, error?: string): void {
    this.requests++;
    this.ns += Math.round((performance.now() - startedMs) * NS_PER_MS);
    if (error !== undefined) { this.errors++; this.lastError = error; }
  }

  stats(): MeterStats {
    const average = this.requests ? Math.round(this.ns / this.requests) : 0;
    return { num_requests: this.requests, num_errors: this.errors, processing_time: this.ns, average_processing_time: average, last_error: this.lastError };
  }
}

/**
 * The library times a callback handler only until it returns and counts an error only when it throws
 * synchronously (`respondError` is not counted); an iterator endpoint keeps only its last message's time,
 * never counts errors, and would serialize requests (no 409 while a run is in progress). Our replies go
 * out asynchronously, so each endpoint's meter is the truth: STATS writes it over the library's record,
 * or (a library whose record looks otherwise) sends it as the endpoint's `data`.
 */
function statsFrom(meters: ReadonlyMap<string, EndpointMeter>): (ep: Endpoint) => Promise<unknown> {
  return async (ep) => {
    const stats = meters.get(ep.subject)?.stats();
    if (!stats) return undefined;
    const record = (ep as { stats?: Partial<Record<keyof MeterStats, unknown>> }).stats;
    if (typeof record?.num_errors !== "number" || typeof record.processing_time !== "number") return stats;
    Object.assign(record, stats);
    return undefined;
  };
}

/** Decodes an `api.run` body: empty, or `{"set": ["key=value", …]}`; anything else is the caller's mistake. */
function parseRunBody(data: Uint8Array): RunRequest {
  let body: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(data).trim();
    if (!text) return { sets: [] };
    body = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError("", `invalid JSON: ${toWireError(err).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ScenarioError("", `expected a JSON object {"set": [...]}, got ${JSON.stringify(body)}`);
  const extra = Object.keys(body).find((k) => k !== "set");
  if (extra !== undefined) throw new ScenarioError(extra, 'unknown key (a run request takes only "set")');
  const sets = (body as { set?: unknown }).set;
  if (sets === undefined) return { sets: [] };
  if (!Array.isArray(sets)) throw new ScenarioError("set", `${SET_EXPECTED}, got ${JSON.stringify(sets)}`);
  const bad = sets.findIndex((s) => typeof s !== "string");
  if (bad >= 0) throw new ScenarioError(`set[${bad}]`, `${SET_EXPECTED}, got ${JSON.stringify(sets[bad])}`);
  return { sets: sets as string[] };
}

/** A JSON request body; not JSON is the caller's mistake (400). */
function parseJsonBody(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch (err) {
    throw new ScenarioError("", `invalid JSON: ${toWireError(err).message}`);
  }
}

/** The caller's mistakes are 400, a state that forbids the request 409, anything else our fault (500). */
function serviceErrorOf(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  return new ServiceError(err instanceof ScenarioError ? BAD_REQUEST : INTERNAL_ERROR, toWireError(err).message);
}

/** Answers one request with `work`'s JSON or a service error, and meters it when the reply is sent. */
async function answer(m: ServiceMsg, meter: EndpointMeter, work: () => unknown): Promise<void> {
  const t0 = performance.now();
  try {
    m.respond(JSON.stringify(await work()));
    meter.answered(t0);
  } catch (err) {
    const se = serviceErrorOf(err);
    // The description travels in a header: one line.
    const message = se.message.replace(/\s*[\r\n]+\s*/g, " ");
    meter.answered(t0, message);
    try {
      m.respondError(se.code, message);
    } catch {
      // The connection closed under us (shutdown): nobody is left to tell, and the coordinator lives on.
    }
  }
}

/** The `run` endpoint's work: 400 for a bad request (even while busy), then 409 unless a run may start. */
function runner(h: ControlHandlers): (m: ServiceMsg) => Promise<unknown> {
  let busy = false;
  return async (m) => {
    const request = parseRunBody(m.data);
    if (!h.prepareRun) throw new ServiceError(CONFLICT, ONE_WORKLOAD);
    const start = h.prepareRun(request);
    // Stopping wins over busy: waiting for the run in progress would not help.
    const refused = h.refusal?.() ?? (busy ? BUSY : undefined);
    if (refused) throw new ServiceError(CONFLICT, refused);
    busy = true;
    try {
      return await start();
    } catch (err) {
      // A run cut short by a stop is not our fault: say why, as the refusal a later request would get.
      const stopping = err instanceof ScenarioError ? undefined : h.refusal?.();
      throw stopping ? new ServiceError(CONFLICT, `${stopping}: the run was interrupted`) : err;
    } finally {
      busy = false;
    }
  };
}

/**
 * The coordinator's control API as a NATS micro service (discoverable with `$SRV.INFO`): request/reply
 * on `sn.<run>.api.status`, `.run` and `.stop`, JSON in and out. Errors are service errors (400 for a
 * bad request, 409 when busy or stopping, 500 for our own faults), never a crash of the coordinator;
 * `$SRV.STATS` counts every error reply and times every request until its reply, runs included.
 */
export async function startControlService(nc: NatsConnection, run: string, h: ControlHandlers): Promise<Service> {
  const meters = new Map<string, EndpointMeter>();
  const svc = await new Svcm(nc).add({ name: CONTROL_SERVICE_NAME, version: CONTROL_SERVICE_VERSION, metadata: { run }, statsHandler: statsFrom(meters) });
  const group = svc.addGroup(`${SUBJECT_ROOT}.${run}.api`);
  const endpoint = (verb: "status" | "run" | "stop" | "chaos", work: (m: ServiceMsg) => unknown) => {
    const meter = new EndpointMeter();
    meters.set(controlSubject(run, verb), meter);
    group.addEndpoint(verb, { handler: (err, m) => { if (!err) void answer(m, meter, () => work(m)); } });
  };
  endpoint("status", () => h.status());
  endpoint("stop", () => { h.stop(); return { stopping: true }; });
  endpoint("run", runner(h));
  endpoint("chaos", (m) => {
    if (!h.chaos) throw new ServiceError(CONFLICT, "this coordinator takes no faults at run time");
    return h.chaos(parseJsonBody(m.data));
  });
  // The subscriptions reach the server before anyone is told the service is up.
  await nc.flush();
  return svc;
}

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { decode, encode, MAX_MESSAGE_BYTES } from "../../shared/codec/index.js";
import type { Loaded } from "../../shared/config/index.js";
import { RunError, toWireError } from "../../shared/errors/index.js";
import { startEmbeddedCluster, startEmbeddedServer, type EmbeddedCluster, type EmbeddedServer } from "../../shared/natsserver/index.js";
import {
  COORDINATOR, PROTOCOL_VERSION, Channel, RejectReason, senderFault, Subjects,
  type HaltedMsg, type Message, type OpDoneMsg, type OpSpec, type RejectCounts, type StatusMsg, type WindowReportMsg,
} from "../../shared/protocol/index.js";
import {
  credentialsFromEnv, RejectionLog, type ControlTo, type Engine, type EngineCursor, type HaltNote, type Logger, type OpOutcome, type ProcessControl, type RankParts,
} from "../../shared/runtime/index.js";
import { topologyHash } from "../../shared/topology/index.js";
import type { NpuId, SimNs } from "../../shared/units/index.js";
import { Launcher } from "./launcher.js";
import { NatsProcesses } from "./nats-process.js";
import { hostGroups } from "./placement.js";
import { isRunnable, procState } from "./proc-state.js";
import { ActorRegistry } from "./registry.js";
import { describeStall } from "./stall.js";
import { lookaheadNs, Windows } from "./windows.js";

/** How often the watchdog looks at progress and liveness. */
export const WATCHDOG_TICK_MS = 100;
/** How long the coordinator waits for status replies when it diagnoses a stall. */
export const STATUS_WAIT_MS = 1_000;
/** How often start-up looks whether every actor has registered: short, the whole run waits on it. */
export const START_POLL_MS = 10;

interface CurrentOp {
  readonly spec: OpSpec;
  readonly done: Map<number, OpDoneMsg>;
  /** NPUs a halt fault struck in this op, by actor id (their last words). */
  readonly halted: Map<number, HaltNote>;
  finish(): void;
}

/**
 * The distributed engine: actors run in separate host processes with their own NATS connections;
 * this side starts them (and a private nats-server unless one is given), holds the readiness barrier,
 * starts each op, gathers results, and watches for stalls and dead actors.
 */
export class NatsEngine implements Engine {
  readonly name = "nats";
  readonly cursor: EngineCursor = { nextOp: 1, clockNs: 0 };
  private readonly registry: ActorRegistry;
  private current: CurrentOp | undefined;
  private statusReplies: StatusMsg[] | undefined;
  /** Wakes collectStatus at each reply (instead of it polling every few ms). */
  private statusArrived: (() => void) | undefined;
  private dataHandledTotal = 0;
  /** What the coordinator itself refused (as actor `coord`), and each actor's counts from its last status reply. */
  private readonly refused: RejectionLog;
  private readonly actorRejections = new Map<number, RejectCounts>();
  /** deployment.timing: exact — the windows of the op in progress, the op they last ran for, and how many each op took. */
  private windows: Windows | undefined;
  private windowsOp = 0;
  readonly windowsPerOp: number[] = [];
  private lookahead = 0;

  private constructor(
    private readonly loaded: Loaded,
    private readonly log: Logger,
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly launcher: Launcher,
    /** What this engine started: one server, a cluster (deployment.natsServers 3), or nothing (deployment.nats). */
    private readonly server: EmbeddedServer | EmbeddedCluster | undefined,
    private readonly workDir: string,
  ) {
    this.registry = new ActorRegistry(() => Date.now(), loaded.scenario.deployment.heartbeatTimeoutMs);
    this.refused = new RejectionLog(log);
    this.process = new NatsProcesses({
      launcher, registry: this.registry, log, ids: loaded.topology.devices.map((d) => d.id), names: (ids) => this.names(ids),
      startTimeoutMs: loaded.scenario.deployment.startTimeoutMs, pollMs: START_POLL_MS, servers: () => this.servers, killServer: (i) => this.killServer(i),
    });
  }

  /** The process layer for real (nats-process.ts): crash, hang, restart, and switch chips taken out. */
  readonly process: NatsProcesses;

  /** Refusals per actor id (COORDINATOR for the coordinator's own), as of the last status round. */
  rejections(): ReadonlyMap<number, RejectCounts> {
    const m = new Map(this.actorRejections);
    if (this.refused.total > 0) m.set(COORDINATOR, { ...this.refused.counts });
    return m;
  }

  /** Host processes: the ones we started, or (external placement) the distinct (host, pid) that registered. */
  get processes(): number {
    if (this.launcher.hosts.length) return this.launcher.hosts.length;
    return new Set(this.registry.all().map((r) => `${r.host}:${r.pid}`)).size;
  }
  get url(): string { return this.nc.getServer(); }
  /** Embedded nats-servers this engine started: 3 (a cluster), 1, or 0 (deployment.nats). */
  get servers(): number { return !this.server ? 0 : "urls" in this.server ? this.server.urls.length : 1; }
  get run(): string { return this.subjects.run; }
  get hostPids(): number[] { return this.launcher.pids; }
  /** The coordinator's own connection (for its control service). */
  get connection(): NatsConnection { return this.nc; }

  /**
   * SIGKILLs embedded server `i` of the cluster (a `nats-server-loss`): its clients reconnect to the
   * others; what was in flight through it is lost. Refused unless this engine started the cluster.
   */
  async killServer(i: number): Promise<void> {
    const s = this.server;
    if (!s) throw new RunError(`cannot kill NATS server ${i}: this engine did not start the servers (deployment.nats)`);
    if (!("urls" in s)) throw new RunError(`cannot kill NATS server ${i}: one embedded server, none to fail over to (deployment.natsServers: 3 starts a cluster)`);
    if (!Number.isInteger(i) || i < 0 || i >= s.urls.length) throw new RunError(`cannot kill NATS server ${i}: the embedded cluster has servers 0..${s.urls.length - 1}`);
    await s.kill(i);
    this.log.warn({ server: i, url: s.urls[i] }, "embedded nats-server killed");
  }

  /** What the control service's `status` reports. */
  summary(): Record<string, unknown> {
    const all = this.loaded.topology.devices.map((d) => d.id);
    return {
      run: this.subjects.run, engine: this.name, processes: this.processes, actors: all.length,
      registered: all.length - this.registry.missing(all).length,
      dead: this.registry.dead(all).map((r) => this.names([r.id])),
      currentOp: this.current?.spec.op ?? null, rejectedByCoordinator: this.refused.total,
    };
  }

  /** Starts the server (if needed), the hosts, and waits until every actor has registered as running. */
  static async start(loaded: Loaded, log: Logger, signal?: AbortSignal): Promise<NatsEngine> {
    const dep = loaded.scenario.deployment;
    const server = dep.nats ? undefined
      : dep.natsServers === 3 ? await startEmbeddedCluster(3, { jetstream: true }) : await startEmbeddedServer({ jetstream: true });
    // Every connection, the coordinator's and each host's, gets the whole list: it reconnects to a survivor.
    const servers = dep.nats ? dep.nats.split(",") : server && "urls" in server ? [...server.urls] : [server!.url];
    const workDir = mkdtempSync(join(tmpdir(), "supernode-run-"));
    let engine: NatsEngine | undefined;
    try {
      const nc = await connect({ servers, name: "supernode-coordinator", maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5_000, ...credentialsFromEnv() })
        .catch((err: unknown) => {
          throw new RunError(`cannot connect to NATS at ${servers.join(",")}: ${toWireError(err).message}`, { cause: err, retryable: true });
        });
      const subjects = new Subjects(dep.run || `r${randomBytes(5).toString("hex")}`);
      engine = new NatsEngine(loaded, log, nc, subjects, new Launcher(log, { loopbackOnly: server !== undefined }), server, workDir);
      await engine.launch(servers, signal);
      return engine;
    } catch (err) {
      if (engine) await engine[Symbol.asyncDispose]();
      else { await server?.stop(); rmSync(workDir, { recursive: true, force: true }); }
      throw err;
    }
  }

  private async launch(servers: readonly string[], signal?: AbortSignal): Promise<void> {
    const dep = this.loaded.scenario.deployment;
    if (dep.timing === "exact") this.lookahead = lookaheadNs(this.loaded.topology); // before any process starts: a fabric it cannot time fails here
    this.nc.subscribe(this.subjects.inbox(COORDINATOR), { callback: (err, m) => { if (!err) this.onBytes(m.subject, m.data); } });
    await this.nc.flush();
    const scenarioFile = join(this.workDir, "topology.json");
    const topology = this.loaded.scenario.topology;
    const hash = topologyHash(topology);
    writeFileSync(scenarioFile, JSON.stringify({ topology, hash, limits: dep.limits, localDelivery: dep.localDelivery, timing: dep.timing, pingIntervalMs: dep.pingIntervalMs }));
    const groups = hostGroups(this.loaded.topology, dep);
    for (const actors of groups) {
      this.launcher.spawnHost(actors, [
        "--nats", servers.join(","), "--run", this.subjects.run, "--topology", scenarioFile,
        "--actors", actors.join(","), "--heartbeat-ms", String(dep.heartbeatMs),
      ]);
    }
    const all = this.loaded.topology.devices.map((d) => d.id);
    const deadline = Date.now() + dep.startTimeoutMs;
    for (;;) {
      const foreign = this.registry.foreign(hash);
      if (foreign.length) throw new RunError(`actors built another topology (hash ${foreign[0]!.topology.slice(0, 12)}, expected ${hash.slice(0, 12)}): ${this.names(foreign.slice(0, 5).map((r) => r.id))}`);
      const missing = this.registry.missing(all);
      if (missing.length === 0) break;
      const crashed = this.launcher.exited();
      if (crashed.length) throw new RunError(`actor host exited during start (pid ${crashed[0]!.child.pid}, code ${crashed[0]!.exit?.code}); actors ${crashed[0]!.actors.join(",")}`);
      if (Date.now() > deadline) throw new RunError(`${missing.length} actors did not register within ${dep.startTimeoutMs} ms (first: ${this.names(missing.slice(0, 5))})`);
      if (signal?.aborted) throw signal.reason;
      await sleep(START_POLL_MS);
    }
    this.log.info({ actors: all.length, processes: groups.length, run: this.subjects.run }, "all actors registered");
  }

  private names(ids: readonly number[]): string {
    return ids.map((id) => this.loaded.topology.devices[id]?.name ?? String(id)).join(", ");
  }

  private onBytes(subject: string, bytes: Uint8Array): void {
    const sender = Subjects.senderOf(subject);
    const refuse = (reason: RejectReason, why: string, fields: Record<string, unknown> = {}) =>
      this.refused.note(reason, sender, { subject, bytes: bytes.byteLength, ...fields }, why);
    let m: Message;
    try { m = decode(bytes); } catch (err) {
      refuse(bytes.byteLength > MAX_MESSAGE_BYTES ? RejectReason.Oversize : RejectReason.Malformed, "coordinator dropped a message that does not decode", { err: toWireError(err) });
      return;
    }
    const fault = senderFault(subject, m);
    if (fault) { refuse(RejectReason.Forged, `coordinator refused the sender: ${fault}`); return; }
    switch (m.type) {
      case "heartbeat": this.registry.onHeartbeat(m); break;
      case "op-done": this.onDone(m, refuse); break;
      case "halted": this.onHalted(m, refuse); break;
      case "status": this.statusReplies?.push(m); this.statusArrived?.(); break;
      case "window-report": this.onWindowReport(m, refuse); break;
      default: refuse(RejectReason.Forged, `${m.type} is not for the coordinator`);
    }
  }

  /** One rank's result: only from the rank's own endpoint, once, for the op in progress. */
  private onDone(m: OpDoneMsg, refuse: (r: RejectReason, why: string, f?: Record<string, unknown>) => void): void {
    const cur = this.current;
    if (!cur || m.op !== cur.spec.op) { refuse(RejectReason.Stale, "op-done for an op not in progress", { op: m.op }); return; }
    if (cur.spec.group[m.rank] !== m.from) { refuse(RejectReason.Forged, "op-done for a rank the sender is not", { op: m.op, rank: m.rank }); return; }
    if (cur.done.has(m.rank)) { refuse(RejectReason.Duplicate, "op-done already received", { op: m.op, rank: m.rank }); return; }
    cur.done.set(m.rank, m);
    this.registry.noteProgress();
    if (cur.done.size === cur.spec.group.length) cur.finish();
  }

  /** deployment.timing: exact — an actor's answer to a window, for the op in progress (one for the op just ended is late news, dropped). */
  private onWindowReport(m: WindowReportMsg, refuse: (r: RejectReason, why: string, f?: Record<string, unknown>) => void): void {
    if (this.windows && m.op === this.current?.spec.op) { this.registry.noteProgress(); this.windows.onReport(m); return; }
    if (m.op !== this.windowsOp) refuse(RejectReason.Stale, "window-report for an op not in progress", { op: m.op });
  }

  /** An NPU's last words: only for the op in progress, from a member, once (it is accounting, never detection). */
  private onHalted(m: HaltedMsg, refuse: (r: RejectReason, why: string, f?: Record<string, unknown>) => void): void {
    const cur = this.current;
    if (!cur || m.op !== cur.spec.op) { refuse(RejectReason.Stale, "halted for an op not in progress", { op: m.op }); return; }
    if (!cur.spec.group.includes(m.from as NpuId)) { refuse(RejectReason.Forged, "halted from an actor outside the op's group", { op: m.op }); return; }
    if (cur.halted.has(m.from)) { refuse(RejectReason.Duplicate, "halted already received", { op: m.op }); return; }
    cur.halted.set(m.from, { actor: m.from, fault: m.fault, mode: m.mode, atNs: m.atNs, wallAt: performance.now() });
  }

  private control(to: number, msg: Message): void {
    this.controlBytes(to, encode(msg));
  }

  private controlBytes(to: number, bytes: Uint8Array): void {
    this.nc.publish(this.subjects.to(Channel.Control, COORDINATOR, to), bytes);
  }

  async runOp(spec: OpSpec, startNs: SimNs, epoch: number, signal?: AbortSignal, parts?: RankParts, before?: readonly ControlTo[]): Promise<OpOutcome> {
    const done = new Map<number, OpDoneMsg>();
    const halted = new Map<number, HaltNote>();
    const t0 = performance.now();
    const finished = new Promise<void>((resolve) => { this.current = { spec, done, halted, finish: resolve }; });
    // Every op-start is encoded before any is sent: one that cannot go (too big for the server) fails
    // the run with a clear error, and no rank starts an op the others never hear of.
    const starts = spec.group.map((id, r) => {
      const part = parts?.(r);
      const bytes = encode({ v: PROTOCOL_VERSION, type: "op-start", from: COORDINATOR, epoch, inc: 0, spec, startNs, ...(part ? { part } : {}) } satisfies Message);
      const max = this.nc.info?.max_payload ?? Infinity;
      if (bytes.byteLength > max) {
        this.current = undefined;
        throw new RunError(`op ${spec.op}: the op-start of rank ${r} is ${bytes.byteLength} bytes, over the NATS server's max_payload of ${max}`);
      }
      return [id, bytes] as const;
    });
    // Switches first: NATS keeps one publisher's order to each subscriber, so (on one server) a switch
    // hears op-open before any stripe that a rank sends after its op-start; across a cluster the
    // switch's bounded early buffer holds the few that overtake it.
    const switches = this.loaded.topology.switches;
    const open = encode({ v: PROTOCOL_VERSION, type: "op-open", from: COORDINATOR, epoch, inc: 0, op: spec.op });
    for (const c of before ?? []) this.control(c.to, c.msg); // faults first: one publisher's order holds per receiver
    for (const id of switches) this.controlBytes(id, open);
    for (const [id, bytes] of starts) this.controlBytes(id, bytes);
    const exact = this.loaded.scenario.deployment.timing === "exact";
    const windows = exact ? new Windows(spec.op, epoch, this.loaded.topology.devices.map((d) => d.id), this.lookahead, (id, b) => this.controlBytes(id, b)) : undefined;
    this.windows = windows;
    this.windowsOp = spec.op;
    const windowsDone = windows?.run(startNs);
    let stalled: string | undefined;
    try {
      stalled = await this.watch(finished, signal);
    } finally {
      windows?.stop();
      await windowsDone;
      this.windows = undefined;
    }
    if (windows) this.windowsPerOp.push(windows.count);
    const activeWallMs = performance.now() - t0;
    this.current = undefined;
    if (stalled) {
      // Abort the op everywhere, so a retry under a new op id starts clean.
      for (const id of spec.group) this.control(id, { v: PROTOCOL_VERSION, type: "op-abort", from: COORDINATOR, epoch, inc: 0, op: spec.op, reason: "stalled" });
    }
    const close = encode({ v: PROTOCOL_VERSION, type: "op-close", from: COORDINATOR, epoch, inc: 0, op: spec.op });
    for (const id of switches) this.controlBytes(id, close);
    const statuses = await this.collectStatus(spec.op);
    for (const st of statuses) this.actorRejections.set(st.from, st.rejected);
    const total = statuses.reduce((s, m) => s + m.dataHandled, 0);
    const messages = total - this.dataHandledTotal;
    this.dataHandledTotal = total;
    const failed = this.silent(this.opActors(spec)).map((r) => this.names([r.id]));
    return { done: [...done.values()], messages, activeWallMs, failedActors: failed, ...(stalled ? { stalled } : {}), ...(halted.size ? { halted: [...halted.values()] } : {}) };
  }

  /** Resolves when the op finishes (undefined) or the watchdog gives up (a description of the stall). */
  private async watch(finished: Promise<void>, signal?: AbortSignal): Promise<string | undefined> {
    const dep = this.loaded.scenario.deployment;
    const all = this.opActors(this.current!.spec);
    const inOp = new Set(all);
    let isDone = false;
    void finished.then(() => { isDone = true; });
    let mark = this.registry.progress, since = Date.now();
    while (!isDone) {
      await Promise.race([finished, sleep(WATCHDOG_TICK_MS)]);
      if (isDone) break;
      if (signal?.aborted) throw signal.reason;
      const dead = this.silent(all);
      const exited = this.process.exitedLive().filter((h) => h.actors.some((a) => inOp.has(a)));
      if (dead.length || exited.length) {
        const reason = exited.length
          ? `actor host exited (pid ${exited.map((h) => `${h.child.pid}: ${this.names(h.actors)}`).join("; ")})`
          : dead.some((d) => d.phase === "failed") ? "actor logic failed" : "actors stopped heartbeating";
        return describeStall(this.loaded.topology, reason, dead, await this.collectStatus(this.current?.spec.op ?? 0), Date.now());
      }
      if (this.registry.progress !== mark) { mark = this.registry.progress; since = Date.now(); continue; }
      if (Date.now() - since > dep.watchdogMs) {
        return describeStall(this.loaded.topology, `no progress for ${(dep.watchdogMs / 1000).toFixed(1)} s`, dead, await this.collectStatus(this.current?.spec.op ?? 0), Date.now());
      }
    }
    return undefined;
  }

  /**
   * Actors that failed or went silent. Silence proves little about an actor whose host process this
   * engine launched and which the kernel says is still runnable: on a loaded machine its heartbeats
   * queue behind its data, or it waits for CPU (a spine host forwarding a full supernode's traffic
   * went 13 s without one at load 10 on two cores). Such actors are never dead by silence; a host
   * that exits is caught at once by the launcher, one that is stopped (SIGSTOP) or a zombie by its
   * heartbeat timeout, and one that runs but does nothing useful by the progress watchdog. External
   * actors (containers, other machines) get the heartbeat timeout.
   */
  private silent(all: readonly number[]) {
    const quiet = this.registry.dead(all);
    if (quiet.length === 0) return quiet; // the common case: no /proc reads on the watchdog's tick
    const ids = new Set(quiet.map((d) => d.id));
    const runnable = new Set(this.launcher.hosts
      .filter((h) => h.exit === undefined && h.actors.some((a) => ids.has(a)) && isRunnable(procState(h.child.pid)))
      .flatMap((h) => h.actors));
    return quiet.filter((d) => d.phase === "failed" || !runnable.has(d.id));
  }

  /**
   * The actors an op depends on: its ranks and every switch (routes may cross any). An NPU outside the
   * op (a spare standing by, one a shrink left idle) that dies or goes silent fails nothing, as on the
   * sim engine; recovery restarts it when the run ends.
   */
  private opActors(spec: OpSpec): number[] {
    const mine = new Set<number>([...spec.group, ...this.loaded.topology.switches]);
    return this.process.liveIds().filter((id) => mine.has(id));
  }

  /** Asks every live actor what it waits for; returns the replies that arrive within STATUS_WAIT_MS. */
  private async collectStatus(op: number): Promise<StatusMsg[]> {
    const replies: StatusMsg[] = [];
    this.statusReplies = replies;
    const ids = this.process.liveIds();
    for (const id of ids) this.control(id, { v: PROTOCOL_VERSION, type: "status-req", from: COORDINATOR, epoch: 0, inc: 0, op });
    // A flush in a reconnect (a server lost) rejects its PONG: the requests may be lost, and the replies that
    // do come are what the diagnosis gets — never an unhandled rejection that kills the coordinator.
    await this.nc.flush().catch(() => undefined);
    const gone = new Set([...this.registry.dead(ids).map((r) => r.id), ...this.process.exitedLive().flatMap((h) => h.actors)]);
    const live = ids.length - gone.size; // an exited host's actors answer nothing: waiting for them only delays the diagnosis
    const deadline = Date.now() + STATUS_WAIT_MS;
    while (replies.length < live && Date.now() < deadline) {
      // Woken by the next reply, or at the deadline; the timer goes with the wait it bounded.
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => { this.statusArrived = resolve; timer = setTimeout(resolve, Math.max(0, deadline - Date.now())); });
      clearTimeout(timer);
    }
    this.statusArrived = undefined;
    this.statusReplies = undefined;
    return replies;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.launcher.stop();
    try { await this.nc.drain(); } catch { /* already closed */ }
    await this.server?.stop();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

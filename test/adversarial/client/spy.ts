import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import {
  badCrcs, decodeMessage, parseSubject, senderProblem, WIRE_TYPES,
  type DataMessage, type WireMessage, type WireType,
} from "./wire.js";

/**
 * NATS clients of the adversarial tier, on the independent decoder only (./wire.ts): a spy that
 * decodes and tallies everything of a run, a replayer that republishes data as it sees it, and small
 * helpers to wait for a message. None of them imports the project.
 */

/** A plain client; `noEcho` keeps its own publications from coming back to its subscriptions. */
export function connectClient(url: string, name: string, noEcho = false): Promise<NatsConnection> {
  return connect({ servers: url, name, noEcho, maxReconnectAttempts: -1 });
}

export interface Failure { readonly subject: string; readonly error: string }

/**
 * Subscribes to `pattern` (e.g. `sn.<run>.>`) and decodes every message: actor subjects with
 * decodeMessage (then the CRC of every stripe and the §8 sender rules), API subjects as JSON.
 */
export class Spy {
  readonly counts = Object.fromEntries(WIRE_TYPES.map((t) => [t, 0])) as Record<WireType, number>;
  readonly failures: Failure[] = [];
  /** Stripes whose CRC was checked, and those that did not match. */
  crcChecked = 0;
  readonly crcBad: Failure[] = [];
  readonly senderProblems: Failure[] = [];
  /** Requests seen on `sn.<run>.api.*`, by verb. */
  readonly apiRequests = new Map<string, number>();
  bytes = 0;
  private sub: Subscription | undefined;

  constructor(private readonly onMessage?: (subject: string, bytes: Uint8Array, m: WireMessage) => void) {}

  get total(): number { return Object.values(this.counts).reduce((a, b) => a + b, 0); }

  async start(nc: NatsConnection, pattern: string): Promise<this> {
    this.sub = nc.subscribe(pattern, { callback: (err, msg) => { if (!err) this.see(msg.subject, msg.data); } });
    await nc.flush();
    return this;
  }

  private see(subject: string, bytes: Uint8Array): void {
    this.bytes += bytes.byteLength;
    const s = parseSubject(subject);
    if (!s) { this.failures.push({ subject, error: "not a subject of the wire format" }); return; }
    if (s.kind === "api") { // a request: empty or JSON (its reply goes to the requester's inbox)
      this.apiRequests.set(s.verb, (this.apiRequests.get(s.verb) ?? 0) + 1);
      try { if (bytes.byteLength) JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)); } catch (e) { this.failures.push({ subject, error: String(e) }); }
      return;
    }
    let m: WireMessage;
    try { m = decodeMessage(bytes); } catch (e) { this.failures.push({ subject, error: String(e) }); return; }
    this.counts[m.type]++;
    const who = senderProblem(subject, m);
    if (who) this.senderProblems.push({ subject, error: who });
    if (m.type === "data") {
      this.crcChecked += m.parts.length;
      for (const b of badCrcs(m)) this.crcBad.push({ subject, error: `part ${b.part}: crc ${b.carried} carried, ${b.computed} computed` });
    }
    this.onMessage?.(subject, bytes, m);
  }

  stop(): void { this.sub?.unsubscribe(); }
}

/**
 * Republishes every data message of a run on its own subject, `times` times, the moment it sees it.
 * Its connection must be `noEcho`, or it would see (and replay) its own replays.
 */
export class Replayer {
  /** Data messages seen, and stripes republished (parts × times). */
  messages = 0;
  stripes = 0;
  readonly failures: Failure[] = [];
  private sub: Subscription | undefined;

  constructor(private readonly nc: NatsConnection, private readonly times: number) {}

  async start(run: string): Promise<this> {
    this.sub = this.nc.subscribe(`sn.${run}.d.>`, {
      callback: (err, msg) => {
        if (err) return;
        for (let i = 0; i < this.times; i++) this.nc.publish(msg.subject, msg.data);
        let m: DataMessage;
        try { m = decodeMessage(msg.data) as DataMessage; } catch (e) { this.failures.push({ subject: msg.subject, error: String(e) }); return; }
        this.messages++;
        this.stripes += m.parts.length * this.times;
      },
    });
    await this.nc.flush();
    return this;
  }

  stop(): void { this.sub?.unsubscribe(); }
}

/** Resolves with the first message on `pattern` that decodes and satisfies `pred`. */
export function nextMessage<T extends WireMessage>(nc: NatsConnection, pattern: string, pred: (m: WireMessage, subject: string) => m is T, timeoutMs: number): Promise<T>;
export function nextMessage(nc: NatsConnection, pattern: string, pred: (m: WireMessage, subject: string) => boolean, timeoutMs: number): Promise<WireMessage>;
export function nextMessage(nc: NatsConnection, pattern: string, pred: (m: WireMessage, subject: string) => boolean, timeoutMs: number): Promise<WireMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sub.unsubscribe(); reject(new Error(`no matching message on ${pattern} within ${timeoutMs} ms`)); }, timeoutMs);
    const sub = nc.subscribe(pattern, {
      callback: (err, msg) => {
        if (err) return;
        let m: WireMessage;
        try { m = decodeMessage(msg.data); } catch { return; }
        if (!pred(m, msg.subject)) return;
        clearTimeout(timer);
        sub.unsubscribe();
        resolve(m);
      },
    });
  });
}

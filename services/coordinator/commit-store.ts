import type { NatsConnection } from "@nats-io/transport-node";
import { Kvm, type KV } from "@nats-io/kv";
import { Packr } from "msgpackr";
import { RunError, toWireError } from "../../shared/errors/index.js";
import type { FaultRow } from "./faults.js";
import type { HistoryEvent } from "./history.js";
import type { TrainingStepRow } from "./training-run.js";

/**
 * A training run's committed state after a step (docs/chaos.md §7): enough for a restarted coordinator
 * to go on from the next step instead of starting over — the parameters, where the run is in virtual
 * time, op ids and epochs, and what it reported so far.
 */
export interface Committed {
  /** The scenario's hash: state of another scenario under the same run name is never resumed. */
  readonly scenarioHash: string;
  /** The last committed step (0-based). */
  readonly step: number;
  readonly params: Float64Array;
  readonly clockNs: number;
  readonly nextOp: number;
  /** The op index (in the run) of the next step, and the recovery epoch and incarnation reached. */
  readonly nextIndex: number;
  readonly epoch: number;
  readonly rows: readonly TrainingStepRow[];
  readonly history: readonly HistoryEvent[];
  readonly faults: readonly FaultRow[];
  readonly losses: readonly { readonly virtualNs: number; readonly wallMs: number }[];
  /** Wall ms of the run so far (a resumed run's history continues from it). */
  readonly wallMs: number;
}

export interface CommitStore {
  load(): Promise<Committed | undefined>;
  save(c: Committed): Promise<void>;
  /** The run ended: nothing to resume. */
  clear(): Promise<void>;
}

/** The JetStream KV bucket every run's committed state lives in, one key per run name. */
export const STATE_BUCKET = "supernode-state";

const packr = new Packr({ useRecords: false, moreTypes: true, structuredClone: false });

/**
 * Committed state in NATS JetStream KV (bucket `supernode-state`, key `run.<name>`, file storage,
 * history 1): written after every committed step, read when a coordinator starts a run of that name,
 * deleted when the run ends. A value larger than the server's max_payload is not stored (the run then
 * cannot resume; it says so once).
 */
export class KvCommitStore implements CommitStore {
  private warned = false;
  private constructor(private readonly kv: KV, private readonly key: string, private readonly maxBytes: number) {}

  static async open(nc: NatsConnection, run: string): Promise<KvCommitStore> {
    try {
      const kv = await new Kvm(nc).create(STATE_BUCKET, { history: 1, storage: "file" as never });
      return new KvCommitStore(kv, `run.${run}`, nc.info?.max_payload ?? 1 << 20);
    } catch (err) {
      throw new RunError(`cannot open the JetStream KV bucket ${STATE_BUCKET} (is JetStream enabled on the server?): ${toWireError(err).message}`, { cause: err });
    }
  }

  async load(): Promise<Committed | undefined> {
    const e = await this.kv.get(this.key);
    if (!e || e.operation !== "PUT" || e.value.byteLength === 0) return undefined;
    return packr.unpack(e.value) as Committed;
  }

  async save(c: Committed): Promise<void> {
    const bytes = packr.pack(c);
    if (bytes.byteLength > this.maxBytes - 4096) {
      if (!this.warned) process.emitWarning(`committed state of ${bytes.byteLength} bytes exceeds the server's max_payload: this run cannot resume`);
      this.warned = true;
      return;
    }
    await this.kv.put(this.key, bytes);
  }

  async clear(): Promise<void> {
    await this.kv.delete(this.key);
  }
}

/** Keeps the state in memory: for tests of resume logic without a server. */
export class MemoryCommitStore implements CommitStore {
  private c: Committed | undefined;
  async load(): Promise<Committed | undefined> { return this.c; }
  async save(c: Committed): Promise<void> { this.c = structuredClone(c); }
  async clear(): Promise<void> { this.c = undefined; }
}

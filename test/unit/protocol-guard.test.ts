import { describe, expect, it } from "vitest";
import { decode, encode } from "../../shared/codec/index.js";
import { ALGORITHMS } from "../../shared/workload/index.js";
import { ProtocolError } from "../../shared/errors/index.js";
import { Algorithm, asMessage, Collective, PROTOCOL_VERSION, type Message } from "../../shared/protocol/index.js";
import { moePartFields, moeSpecFields } from "../helpers/moe-spec.js";
import { trainingFields } from "../helpers/training.js";

type Fields = Record<string, unknown>;
const header = { v: PROTOCOL_VERSION, from: 1, epoch: 0, inc: 0 };

/** One valid message of each type, fresh on every call so a test may change it. */
const valid = {
  data: (): Fields => ({
    ...header, type: "data", op: 1, src: 1, dst: 0, tag: 65_536, stripes: 2, totalBytes: 1024, sentNs: 100,
    parts: [{ stripe: 1, bytes: 512, headNs: 250, tailNs: 400, path: [3, 7], hop: 1, payload: new Float64Array([1, -2, 3.5]), crc: 0xdead_beef }],
  }),
  "op-start": (): Fields => ({
    ...header, from: -1, type: "op-start", startNs: 1000,
    spec: {
      op: 1, collective: "all-reduce", algorithm: "hierarchical", sizeBytes: 1 << 20, elementBytes: 2, group: [0, 1, 2, 3],
      nodeGroups: [[0, 1], [2, 3]], realElements: 64, seed: 1_000_003, root: 0, chunkBytes: 4096,
    },
  }),
  "op-abort": (): Fields => ({ ...header, from: -1, type: "op-abort", op: 1, reason: "peer 3 stopped" }),
  "op-done": (): Fields => ({
    ...header, type: "op-done", op: 1, rank: 2, startNs: 1000, endNs: 5000, result: new Float64Array([4, 4]), sentMessages: 6,
    error: { name: "RunError", message: "recv(1, 0) resumed without a delivery", retryable: false },
  }),
  heartbeat: (): Fields => ({ ...header, type: "heartbeat", pid: 4242, host: "node-a", phase: "running", handled: 10, rejected: 1, topology: "0123456789ab" }),
  "status-req": (): Fields => ({ ...header, from: -1, type: "status-req", op: 1 }),
  status: (): Fields => ({
    ...header, type: "status", op: 1, partialTransfers: 1, dataHandled: 12,
    waits: [{ op: 1, rank: 0, fromRank: 3, fromActor: -1, tag: 2 }],
    rejected: { duplicate: 3, forged: 0, stale: 1, malformed: 0, oversize: 0, overflow: 0, corrupt: 0 },
  }),
  "op-open": (): Fields => ({ ...header, from: -1, type: "op-open", op: 1 }),
  "op-close": (): Fields => ({ ...header, from: -1, type: "op-close", op: 1 }),
  fault: (): Fields => ({ ...header, from: -1, epoch: 1, type: "fault", fault: 0, kind: "link-degrade", targets: [0, 2], fromOp: 2, untilOp: 4, bandwidthFactor: 0.5, latencyNs: 200 }),
  halted: (): Fields => ({ ...header, type: "halted", op: 3, fault: 1, mode: "crash", atNs: 12_345.5 }),
  window: (): Fields => ({ ...header, from: -1, type: "window", op: 2, window: 7, untilNs: 12_500.25 }),
  "window-report": (): Fields => ({ ...header, type: "window-report", op: 2, window: 7, sent: 40, received: 38, nextNs: 12_700 }),
} satisfies Record<Message["type"], () => Fields>;
type Kind = keyof typeof valid;

/** A valid message of `kind` with the field at `path` ("spec.group.1") set to `value`, or deleted. */
function withField(kind: Kind, path: string, value: unknown, remove = false): Fields {
  const m = valid[kind]();
  const keys = path.split(".");
  const last = keys.pop()!;
  const parent = keys.reduce<Fields>((o, k) => o[k] as Fields, m);
  if (remove) delete parent[last];
  else parent[last] = value;
  return m;
}

/** Rows with a short rendering of the value for the test title (some values are a million entries long). */
function titled(rows: readonly [Kind, string, unknown][]): [Kind, string, string, unknown][] {
  const show = (v: unknown): string => {
    if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as Float64Array).length})`;
    if (Array.isArray(v) && v.length > 8) return `array(${v.length})`;
    if (typeof v === "string" && v.length > 20) return `string(${v.length})`;
    return Array.isArray(v) ? JSON.stringify(v) : String(v);
  };
  return rows.map(([k, p, v]) => [k, p, show(v), v]);
}

function rejection(x: unknown): ProtocolError {
  try {
    asMessage(x);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error("asMessage accepted the message");
}

describe("asMessage accepts valid messages", () => {
  it.each(Object.keys(valid) as Kind[])("%s round-trips encode → decode unchanged", (kind) => {
    const m = valid[kind]() as unknown as Message;
    expect(decode(encode(m))).toEqual(m);
  });

  it.each(titled([
    ["data", "stripes", 4096],
    ["data", "parts.0.crc", 0xffff_ffff],
    ["data", "parts.0.tailNs", 250], // = headNs: a zero-length stripe
    ["op-start", "from", -1],
    ["op-start", "spec.sizeBytes", 2 ** 50],
    ["op-start", "spec.seed", 2 ** 53],
    ["op-start", "spec.realElements", 1_048_576],
    ["op-start", "spec.root", 3],
    ["op-start", "spec.nodeGroups", []],
    ["op-start", "startNs", 0.5],
    ["op-done", "startNs", -5],
    ["op-done", "error", undefined],
    ["op-abort", "reason", "x".repeat(1000)],
  ]))("%s with %s = %s (a bound, inclusive)", (kind, path, _shown, value) => {
    expect(() => asMessage(withField(kind, path, value))).not.toThrow();
  });

  it("a missing optional op-done.error", () => {
    expect(() => asMessage(withField("op-done", "error", undefined, true))).not.toThrow();
  });

  it("exactly the (collective, algorithm) pairs that have a program", () => {
    for (const collective of Object.values(Collective)) {
      for (const algorithm of Object.values(Algorithm)) {
        const m = withField("op-start", "spec.collective", collective);
        (m.spec as Fields).algorithm = algorithm;
        if (collective === Collective.MoeLayer) { (m.spec as Fields).moe = moeSpecFields(4); m.part = moePartFields(4); }
        if (collective === Collective.TrainingStep) { const f = trainingFields((m.spec as { group: unknown[] }).group.length); (m.spec as Fields).training = f.training; m.part = f.part; }
        const has = ALGORITHMS[collective][algorithm] !== undefined;
        if (has) expect(() => asMessage(m), `${collective}/${algorithm}`).not.toThrow();
        else expect(rejection(m).message, `${collective}/${algorithm}`).toContain("op-start.spec.algorithm");
      }
    }
  });
});

describe("asMessage rejects, naming the field", () => {
  it.each<[unknown, string]>([
    [null, "message"],
    [[1, 2], "message"],
    [new Date(0), "message"],
    [{ ...valid["op-abort"](), v: 2 }, "v"],
    [{ ...valid["op-abort"](), type: "gossip" }, "type"],
  ])("%s → %s", (x, field) => {
    expect(rejection(x).message).toMatch(new RegExp(`^${field}: `));
  });

  const NAN = Number.NaN, INF = Infinity;
  it.each(titled([
    // header
    ["data", "from", -2], ["data", "from", 1.5], ["data", "from", "1"], ["data", "epoch", -1], ["data", "inc", -1],
    ["op-done", "epoch", 2 ** 53],
    // op-start
    ["op-start", "spec", [1]], ["op-start", "spec.op", -1], ["op-start", "spec.op", 0.5],
    ["op-start", "spec.collective", "all-sum"], ["op-start", "spec.algorithm", "tree"], ["op-start", "spec.algorithm", "pipeline"],
    ["op-start", "spec.sizeBytes", -1], ["op-start", "spec.sizeBytes", 2 ** 50 + 1], ["op-start", "spec.sizeBytes", INF],
    ["op-start", "spec.sizeBytes", 10.5],
    ["op-start", "spec.elementBytes", 3], ["op-start", "spec.elementBytes", 16],
    ["op-start", "spec.group", []], ["op-start", "spec.group", "0,1"], ["op-start", "spec.group", new Float64Array(2)],
    ["op-start", "spec.group", Array.from({ length: 1_000_001 }, (_, i) => i)],
    ["op-start", "spec.group.1", 0], ["op-start", "spec.group.2", -1], ["op-start", "spec.group.0", 0.5],
    ["op-start", "spec.nodeGroups", {}], ["op-start", "spec.nodeGroups.1", 3], ["op-start", "spec.nodeGroups.0.1", 4],
    ["op-start", "spec.nodeGroups.0.0", -1], ["op-start", "spec.nodeGroups", [[0], [1], [2], [3], []]],
    ["op-start", "spec.realElements", 0], ["op-start", "spec.realElements", 1_048_577],
    ["op-start", "spec.seed", -1], ["op-start", "spec.seed", 2 ** 54],
    ["op-start", "spec.root", 4], ["op-start", "spec.root", -1],
    ["op-start", "spec.chunkBytes", 0], ["op-start", "spec.chunkBytes", NAN],
    ["op-start", "startNs", -1], ["op-start", "startNs", NAN], ["op-start", "startNs", INF],
    // data
    ["data", "op", -1], ["data", "src", -1], ["data", "dst", -1], ["data", "tag", -1], ["data", "tag", 1.5],
    ["data", "stripes", 0], ["data", "stripes", 4097], ["data", "parts.0.stripe", 2], ["data", "parts.0.stripe", -1],
    ["data", "parts.0.bytes", -1], ["data", "parts.0.bytes", 2 ** 53], ["data", "totalBytes", -1], ["data", "totalBytes", 2 ** 53],
    ["data", "sentNs", -1], ["data", "parts.0.headNs", NAN], ["data", "parts.0.tailNs", 249], ["data", "parts.0.tailNs", INF],
    ["data", "parts.0.path", []], ["data", "parts.0.path", Array.from({ length: 65 }, (_, i) => i)], ["data", "parts.0.path", new Int32Array(2)],
    ["data", "parts.0.path.0", -1], ["data", "parts.0.path.1", 2 ** 53], ["data", "parts.0.hop", 2], ["data", "parts.0.hop", -1],
    ["data", "parts.0.payload", [1, -2, 3.5]], ["data", "parts.0.payload", new Float64Array(1_048_577)],
    ["data", "parts.0.crc", -1], ["data", "parts.0.crc", 2 ** 32],
    // op-done
    ["op-done", "op", -1], ["op-done", "rank", -1], ["op-done", "sentMessages", -1],
    ["op-done", "endNs", -1], ["op-done", "endNs", INF], ["op-done", "startNs", NAN],
    ["op-done", "result", [4, 4]],
    ["op-done", "error", "boom"], ["op-done", "error", null], ["op-done", "error.name", 1], ["op-done", "error.message", undefined],
    ["op-done", "error.retryable", "no"], ["op-done", "error.path", 7],
    // op-abort
    ["op-abort", "op", -1], ["op-abort", "reason", 5], ["op-abort", "reason", "x".repeat(1001)],
    // heartbeat, status-req, status
    ["heartbeat", "pid", -1], ["heartbeat", "host", 7], ["heartbeat", "phase", "x".repeat(257)], ["heartbeat", "topology", 5],
    ["status-req", "op", "1"], ["status", "waits", {}], ["status", "waits.0.fromActor", -2], ["status", "waits.0.tag", -1],
    // window, window-report (deployment.timing: exact)
    ["window", "window", -1], ["window", "untilNs", INF], ["window", "untilNs", "5"], ["window-report", "sent", -1],
    ["window-report", "received", 1.5], ["window-report", "nextNs", NAN], ["window-report", "nextNs", -3],
  ]))("%s with %s = %s", (kind, path, _shown, value) => {
    // The error names the field: header fields as `header.<f>`, others as `<type>.<path>` with [i] for indices.
    const field = ["from", "epoch", "inc"].includes(path) ? `header.${path}` : `${kind}.${path.replace(/\.(\d+)/g, "[$1]")}`;
    expect(rejection(withField(kind, path, value)).message).toMatch(new RegExp(`^${field.replace(/[.[\]]/g, "\\$&")}: `));
  });

  it.each<[Kind, string]>([
    ["data", "parts.0.payload"], ["data", "parts.0.path"], ["op-start", "spec"], ["op-start", "spec.seed"], ["op-done", "result"],
    ["op-abort", "reason"], ["op-done", "error.retryable"],
  ])("%s without %s", (kind, path) => {
    expect(rejection(withField(kind, path, undefined, true)).message).toContain(`${kind}.${path.replace(/\.(\d+)/g, "[$1]")}: `);
  });

  it("a message that does not decode is an Error, before any guard", () => {
    expect(() => decode(new Uint8Array([0xc1]))).toThrow(Error);
    expect(() => decode(new Uint8Array(1024 * 1024 + 1))).toThrow(RangeError);
  });
});

describe("asMessage and the moe-layer op", () => {
  const moeStart = (): Fields => {
    const m = valid["op-start"]();
    Object.assign(m.spec as Fields, { collective: "moe-layer", algorithm: "direct", moe: moeSpecFields(4) });
    m.part = moePartFields(4);
    return m;
  };
  const set = (m: Fields, path: string, value: unknown): Fields => {
    const keys = path.split(".");
    let at = m as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
    at[keys[keys.length - 1]!] = value;
    return m;
  };

  it("accepts a valid layer, and op-done marks and tally", () => {
    expect(() => asMessage(moeStart())).not.toThrow();
    expect(() => asMessage({ ...valid["op-done"](), marks: [1200, 3400.5], tally: [3, 3, 1, 7, 1] })).not.toThrow();
  });

  it.each<[string, unknown, string]>([
    ["spec.moe", undefined, "op-start.spec.moe: "],
    ["spec.moe.shape.ep", 5, "op-start.spec.moe.shape.ep: "], // more EP ranks than the group's 4
    ["spec.moe.shape.topK", 9, "op-start.spec.moe.shape.topK: "], // 8 experts
    ["spec.moe.shape.tokensPerRank", 2 ** 20, "op-start.spec.moe.shape.tokensPerRank: "], // 4 × 2^20 × 2 copies > 4 Mi
    ["spec.moe.shape.capacityFactor", 0, "op-start.spec.moe.shape.capacityFactor: "],
    ["spec.moe.shape.replicaPolicy", "random", "op-start.spec.moe.shape.replicaPolicy: "],
    ["spec.moe.shape.replicas", [{ expert: 8, copies: 1 }], "op-start.spec.moe.shape.replicas[0].expert: "],
    ["spec.moe.gating", { kind: "zipf" }, "op-start.spec.moe.gating.exponent: "],
    ["spec.moe.gating", { kind: "fixed", assignments: [[0, 1]] }, "op-start.spec.moe.gating.assignments: "], // needs 8 rows
    ["part", undefined, "op-start.part: "],
    ["part.sends", [0, 0, 0], "op-start.part.sends: "], // not quadruples
    ["part.sends", [9, 0, 0, 0], "op-start.part.sends[0]: "], // past max(ep, experts, tokens, k) = 8
    ["part.recvCounts", [0, 0, 0], "op-start.part.recvCounts: "], // needs ep = 4 entries
    ["part.experts", [0, 1, 2, 8], "op-start.part.experts[3]: "], // 8 experts: ids 0..7
    ["part.weightUnits", [65, 0, 0, 0], "op-start.part.weightUnits[0]: "], // above the denominator 64
    ["part.cross", [0, 0], "op-start.part.cross: "], // needs ep = 4 entries
    ["part.held", [8], "op-start.part.held[0]: "], // 8 experts: ids 0..7
    ["spec.moe.shape.replicas", [{ expert: 0, copies: 4 }, ...Array.from({ length: 16_384 }, () => ({ expert: 1, copies: 4 }))], "op-start.spec.moe.shape.replicas: "], // 65 540 copies in all
  ])("rejects %s = %j", (path, value, want) => {
    expect(rejection(set(moeStart(), path, value)).message.startsWith(want)).toBe(true);
  });

  it("rejects moe on another collective, and bad marks or tally", () => {
    const m = valid["op-start"]();
    (m.spec as Fields).moe = moeSpecFields(4);
    expect(rejection(m).message).toMatch(/^op-start\.spec\.moe: /);
    expect(rejection({ ...valid["op-start"](), part: moePartFields(4) }).message).toMatch(/^op-start\.part: /);
    // Hierarchical dispatch needs the per-phase counts.
    const h = moeStart();
    (h.spec as Fields).algorithm = "hierarchical";
    delete (h.part as Fields).scatter;
    expect(rejection(h).message).toMatch(/^op-start\.part: .*cross and scatter/);
    expect(rejection({ ...valid["op-done"](), marks: [Number.NaN] }).message).toMatch(/^op-done\.marks\[0\]: /);
    expect(rejection({ ...valid["op-done"](), tally: [1.5] }).message).toMatch(/^op-done\.tally\[0\]: /);
  });
});

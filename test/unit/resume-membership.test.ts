import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { MemoryCommitStore, runScenario, type Committed, type Report } from "../../services/coordinator/index.js";
import { simEngine } from "../helpers/run.js";

/**
 * A coordinator that dies after a spare was swapped in or the run shrank, restarted, goes on with the
 * membership its committed steps had (docs/chaos.md §7.4, §11): the spare keeps playing the failed
 * NPU's rank, the shrunk plan stays shrunk. The committed state is the one JetStream would hold
 * (MemoryCommitStore: the resume logic without a server; the KV path is test/integration/coordinator-resume).
 * The coordinator's death is an abort right after step `killAfter` is committed.
 */
async function run(raw: unknown, store: MemoryCommitStore, killAfter?: number): Promise<Report | undefined> {
  const loaded = loadScenario({ raw });
  await using engine = simEngine(loaded);
  const stop = new AbortController();
  const killing = killAfter === undefined ? store : {
    load: () => store.load(),
    clear: () => store.clear(),
    save: async (c: Committed) => { await store.save(c); if (c.step >= killAfter) stop.abort(new Error("coordinator killed")); },
  };
  try {
    return await runScenario(loaded, engine, stop.signal, undefined, { store: killing });
  } catch (err) {
    if (stop.signal.aborted) return undefined;
    throw err;
  }
}

const link = (n: number, bw: number) => ({ from: `npu${n}`, to: "sw", bandwidthGBps: bw, latencyNs: 100 });

describe("resuming a run whose membership changed", () => {
  it("spare: after the restart the spare still plays the failed NPU's rank (its slower link keeps the steps slower)", async () => {
    // npu4, the spare, has half the bandwidth of the others: a step it plays in takes longer.
    const topology = { preset: "custom", custom: { devices: [{ name: "sw", kind: "switch" }, { name: "npu", kind: "npu", count: 5 }], links: [0, 1, 2, 3].map((n) => link(n, 100)).concat([link(4, 50)]) } };
    const raw = {
      topology, seed: 3, engine: "sim", recovery: { policy: "spare" },
      workload: { kind: "training", model: { base: "llama3-8b", layers: 2 }, parallel: { dp: 4 }, globalBatch: 4, seqLen: 512, steps: 6, zero: 0, overlap: false, algorithms: { dp: "ring" } },
      faults: [{ kind: "npu-crash", target: "npu1", at: { step: 1 } }],
    };
    const whole = (await run(raw, new MemoryCommitStore()))!;
    expect(whole.steps![2]!.virtualTimeNs).toBeGreaterThan(whole.steps![0]!.virtualTimeNs);
    const store = new MemoryCommitStore();
    expect(await run(raw, store, 2)).toBeUndefined(); // killed after step 2 was committed
    const resumed = (await run(raw, store))!;
    expect(resumed.resumedFrom!.step).toBe(2);
    expect(resumed.status).toBe("recovered");
    expect(resumed.steps!.map((s) => s.virtualTimeNs)).toEqual(whole.steps!.map((s) => s.virtualTimeNs));
    expect(resumed.steps!.map((s) => s.paramDigest)).toEqual(whole.steps!.map((s) => s.paramDigest));
  });

  it("shrink: after the restart the run goes on at the shrunk DP degree, with the never-killed run's parameters bit for bit", async () => {
    const topology = { preset: "custom", custom: { devices: [{ name: "sw", kind: "switch" }, { name: "npu", kind: "npu", count: 4 }], links: [link(0, 100), link(1, 100), link(2, 100), link(3, 100)] } };
    const raw = {
      topology, seed: 3, engine: "sim", recovery: { policy: "shrink" },
      workload: { kind: "training", model: { base: "llama3-8b", layers: 2 }, parallel: { dp: 4 }, globalBatch: 12, seqLen: 512, steps: 6, zero: 0, overlap: false, algorithms: { dp: "ring" } },
      faults: [{ kind: "npu-crash", target: "npu2", at: { step: 1 } }],
    };
    const whole = (await run(raw, new MemoryCommitStore()))!;
    expect(whole.steps!.map((s) => s.dp)).toEqual([undefined, 3, 3, 3, 3, 3]);
    const store = new MemoryCommitStore();
    expect(await run(raw, store, 2)).toBeUndefined();
    const resumed = (await run(raw, store))!;
    expect(resumed.resumedFrom!.step).toBe(2);
    expect(resumed.steps!.map((s) => s.dp)).toEqual([undefined, 3, 3, 3, 3, 3]);
    expect(resumed.steps!.map((s) => s.paramDigest)).toEqual(whole.steps!.map((s) => s.paramDigest));
    expect(resumed.steps!.map((s) => s.virtualTimeNs)).toEqual(whole.steps!.map((s) => s.virtualTimeNs));
  });
});

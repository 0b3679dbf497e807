import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { checkRun, runScenario } from "../../services/coordinator/index.js";
import { shrinksOf } from "../../services/coordinator/shrink.js";
import { runSim, simEngine, singleSwitch } from "../helpers/run.js";

/**
 * A seeded random-fault soak (issue 12): 50 training steps with 4 faults drawn per step from every kind
 * random can draw (crash, hang, straggler, degraded link, duplicated and reordered messages) = 200
 * faults. It must end `recovered`, every invariant of the checker must hold, and the parameters must
 * be the fault-free run's, bit for bit. The same draws under policies shrink and spare (docs/chaos.md
 * §7.4) exercise their fallbacks: the last replica cannot shrink, spares run out.
 */
const DENSE = { kind: "training", model: { base: "llama3-8b", layers: 2 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 512, steps: 50, zero: 0, overlap: false, bucketLayers: 2, recompute: "full", gradBytes: 2, algorithms: { dp: "ring" } };
const KINDS = ["npu-crash", "npu-hang", "straggler", "link-degrade", "message-duplicate", "message-reorder"];

describe("random-fault soak", () => {
  it("200 seeded faults over 50 steps: recovered, checker green, parameters equal the fault-free run's", async () => {
    const base = { topology: singleSwitch(8), workload: DENSE, engine: "sim", seed: 11 };
    const t0 = performance.now();
    const soak = await runSim({ ...base, faults: [{ kind: "random", seed: 7, ratePerStep: 4, kinds: KINDS }], recovery: { policy: "restart" } });
    const wallMs = performance.now() - t0;
    const clean = await runSim(base);
    expect(soak.faults).toHaveLength(200); // ⌊4⌋ per step × 50 steps (a crash or hang finds a free NPU: 8 > 4)
    const byKind = Object.fromEntries(KINDS.map((k) => [k, soak.faults!.filter((f) => f.kind === k).length]));
    expect(Object.values(byKind).every((n) => n > 0)).toBe(true);
    expect(soak.status).toBe("recovered");
    const findings = checkRun(soak, clean);
    expect(findings.filter((f) => !f.ok)).toEqual([]);
    expect(soak.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
    const stopped = byKind["npu-crash"]! + byKind["npu-hang"]!;
    const recovered = soak.faults!.filter((f) => f.recoveredAt).length;
    expect(recovered).toBe(stopped);
    // Duplicates were really sent and refused, never reduced.
    expect(soak.rejected.duplicate).toBeGreaterThan(0);
    console.log(`soak: ${soak.faults!.length} faults ${JSON.stringify(byKind)}; ${recovered} recovered by restart; aborts ${soak.history!.filter((e) => e.type === "abort").length}; goodput ${soak.goodput}; lost ${soak.steps!.reduce((s, x) => s + (x.lostVirtualNs ?? 0), 0) / 1e9} s virtual; refused ${JSON.stringify({ duplicate: soak.rejected.duplicate, stale: soak.rejected.stale, total: soak.rejected.total })}; ${wallMs.toFixed(0)} ms wall`);
  }, 120_000);

  it("the same 200 faults under policy shrink: DP 8 shrinks step by step to 1, then the last replica is restarted; recovered, checker green against the run that switches plans where it did", async () => {
    const base = { topology: singleSwitch(8), workload: DENSE, engine: "sim", seed: 11, recovery: { policy: "shrink" } };
    const soak = await runSim({ ...base, faults: [{ kind: "random", seed: 7, ratePerStep: 4, kinds: KINDS }] });
    expect(soak.status).toBe("recovered");
    const dps = soak.steps!.map((s) => s.dp ?? 8);
    // Each shrink keeps globalBatch 8 in whole micro-steps: DP 8 → 4 → 2 → 1, never up again.
    expect(dps.every((d, i) => [8, 4, 2, 1].includes(d) && (i === 0 || d <= dps[i - 1]!))).toBe(true);
    expect(dps[dps.length - 1]).toBe(1);
    // With one replica left, a crash of it cannot shrink: it is restarted, and the row says why.
    expect(soak.faults!.some((f) => /^restart: shrink refused: no DP replica survives without/.test(f.recovery))).toBe(true);
    const loaded = loadScenario({ raw: base });
    await using engine = simEngine(loaded);
    const switching = await runScenario(loaded, engine, undefined, undefined, { shrinks: shrinksOf(soak.history!) });
    const findings = checkRun(soak, switching);
    expect(findings.filter((f) => !f.ok)).toEqual([]);
    expect(soak.steps!.map((s) => s.paramDigest)).toEqual(switching.steps!.map((s) => s.paramDigest));
    console.log(`soak under shrink: DP by step ${dps.join(" ")}; aborts ${soak.history!.filter((e) => e.type === "abort").length}; membership ${soak.history!.filter((e) => e.type === "membership").map((e) => (e as { removed: string[] }).removed.join("+")).join(" | ")}`);
  }, 120_000);

  it("the same 200 faults under policy spare (DP 6, 2 spares): spares first, restarts once they are used up; recovered, parameters the fault-free run's bit for bit", async () => {
    const base = { topology: singleSwitch(8), workload: { ...DENSE, parallel: { dp: 6 }, globalBatch: 6 }, engine: "sim", seed: 11, recovery: { policy: "spare" } };
    const soak = await runSim({ ...base, faults: [{ kind: "random", seed: 7, ratePerStep: 4, kinds: KINDS }] });
    const clean = await runSim(base);
    expect(soak.status).toBe("recovered");
    const how = soak.faults!.filter((f) => f.recoveredAt).map((f) => f.recovery);
    expect(how.some((r) => /^spare: npu\d took npu\d's place/.test(r))).toBe(true);
    expect(how.some((r) => /^restart: no spare left \(all 2 in use\)/.test(r))).toBe(true);
    expect(checkRun(soak, clean).filter((f) => !f.ok)).toEqual([]);
    expect(soak.steps!.map((s) => s.paramDigest)).toEqual(clean.steps!.map((s) => s.paramDigest));
  }, 120_000);
});

import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { ScenarioError } from "../../shared/errors/index.js";

/**
 * `faults:` and `recovery:` are validated once, when the scenario loads, against its topology and its
 * run (docs/chaos.md): every error is one ScenarioError whose message starts with the field it is
 * about. Kinds of the catalogue that are not implemented yet are refused, never accepted and ignored.
 */

/** 2 nodes × 4 NPUs, aggregated (26 actors: npu.n0.0 … npu.n1.3, l1.n0, l1.n1, l2.k0 … l2.k15); 4 ops. */
const SWEEP = { kind: "collective", collective: "all-reduce", algorithm: "ring", sizes: ["4KiB", "64KiB", "1MiB", "16MiB"] };
const TOPO = { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4 };
const TRAIN = { kind: "training", model: { base: "llama3-8b", layers: 2 }, parallel: { dp: 8 }, globalBatch: 8, seqLen: 256, steps: 3, zero: 0 };

function load(faults: unknown, extra: Record<string, unknown> = {}) {
  return loadScenario({ raw: { topology: TOPO, workload: SWEEP, engine: "sim", faults, ...extra } });
}

function errorOf(f: () => unknown): ScenarioError {
  try { f(); } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return err as ScenarioError;
  }
  throw new Error("the scenario loaded");
}

const degrade = { kind: "link-degrade", target: "npu.n0.1->l1.n0", bandwidthFactor: 0.5, at: { op: 1 } };

describe("faults: every error names its field", () => {
  const cases: [string, unknown, RegExp, Record<string, unknown>?][] = [
    ["an unknown kind", [{ ...degrade, kind: "meteor" }], /^faults\[0\]\.kind: unknown fault kind "meteor" \(implemented: link-degrade, link-down, switch-crash, straggler, link-flap, message-duplicate, message-reorder, partition, npu-crash, npu-hang, nats-server-loss\)$/],
    ["a target missing", [{ kind: "link-down", at: { op: 0 } }], /^faults\[0\]\.target: required/],
    ["an unknown actor", [{ kind: "straggler", target: "npu.n9.0", factor: 2, at: { op: 0 } }], /^faults\[0\]\.target: no actor "npu\.n9\.0" in this topology \(26 actors: npu\.n0\.0 … npu\.n1\.3, l1\.n0 … l1\.n1, l2\.k0 … l2\.k15; report\.json topology\.actors lists them\)/],
    ["an unknown actor in a link", [degrade, { kind: "link-down", target: "l1.n0->l2.k99", at: { op: 0 } }], /^faults\[1\]\.target: no actor "l2\.k99"/],
    ["a link that does not exist", [degrade, degrade, { kind: "link-down", target: "l1.n0->l1.n1", at: { op: 2 } }], /^faults\[2\]\.target: no link l1\.n0->l1\.n1 in this topology \(links from l1\.n0: npu\.n0\.0, npu\.n0\.1, npu\.n0\.2, npu\.n0\.3, l2\.k0, l2\.k1, l2\.k2, l2\.k3, l2\.k4, l2\.k5, l2\.k6, l2\.k7, … \(8 more\)\)/],
    ["a link between two NPUs", [{ ...degrade, target: "npu.n0.0->npu.n0.1" }], /^faults\[0\]\.target: no link npu\.n0\.0->npu\.n0\.1 in this topology \(links from npu\.n0\.0: l1\.n0\)/],
    ["a link that is not from->to", [{ ...degrade, target: "npu.n0.0->l1.n0->l2.k0" }], /^faults\[0\]\.target: a link is "from->to" \(one direction\) or "a<->b" \(both\)/],
    ["a link fault on an actor", [{ ...degrade, target: "l1.n0" }], /^faults\[0\]\.target: link-degrade takes a link "from->to" \(or "a<->b"\), got the actor "l1\.n0"/],
    ["a switch-crash of an NPU", [{ kind: "switch-crash", target: "npu.n0.1", at: { op: 0 } }], /^faults\[0\]\.target: npu\.n0\.1 is an NPU; switch-crash takes a switch \(e\.g\. l1\.n0\)/],
    ["a switch-crash of a link", [{ kind: "switch-crash", target: "l1.n0->l2.k0", at: { op: 0 } }], /^faults\[0\]\.target: switch-crash takes a switch, not a link/],
    ["a straggler that is a switch", [{ kind: "straggler", target: "l2.k3", factor: 3, at: { op: 0 } }], /^faults\[0\]\.target: l2\.k3 is a switch; straggler takes an NPU \(e\.g\. npu\.n0\.0\)/],
    ["a bandwidth factor of 0", [{ ...degrade, bandwidthFactor: 0 }], /^faults\[0\]\.bandwidthFactor: must be in \(0, 1\], got 0/],
    ["a bandwidth factor above 1", [{ ...degrade, bandwidthFactor: 1.5 }], /^faults\[0\]\.bandwidthFactor: must be in \(0, 1\], got 1\.5/],
    ["a negative latency", [{ ...degrade, latencyNs: -5 }], /^faults\[0\]\.latencyNs: must be in \[0, 1000000000\] ns, got -5/],
    ["a degrade that changes nothing", [{ ...degrade, bandwidthFactor: 1 }], /^faults\[0\]: a link-degrade needs bandwidthFactor < 1 or latencyNs > 0/],
    ["packet loss past 100%", [{ ...degrade, lossPct: 101 }], /^faults\[0\]\.lossPct: must be in \[0, 100\] \(% of stripes\), got 101/],
    ["loss and corruption past 100% together", [{ ...degrade, lossPct: 60, corruptPct: 50 }], /^faults\[0\]\.corruptPct: lossPct \+ corruptPct must be ≤ 100 \(one draw per stripe\), got 60 \+ 50/],
    ["a straggler without a factor", [{ kind: "straggler", target: "npu.n0.3", at: { op: 0 } }], /^faults\[0\]\.factor: required/],
    ["a straggler factor ≤ 1", [{ kind: "straggler", target: "npu.n0.3", factor: 0.5, at: { op: 0 } }], /^faults\[0\]\.factor: must be in \(1, 1000\], got 0\.5/],
    ["a key of another kind", [{ kind: "link-down", target: "l1.n0->l2.k3", factor: 2, at: { op: 0 } }], /^faults\[0\]\.factor: unknown key for link-down \(its keys: kind, target, at, duration\)/],
    ["an unknown key", [{ ...degrade, bogus: true }], /^faults\[0\]\.bogus: unknown key for link-degrade \(its keys: kind, target, at, duration, bandwidthFactor, latencyNs, lossPct, corruptPct, retryNs, seed\)/],
    ["no trigger", [{ kind: "link-down", target: "l1.n0->l2.k3" }], /^faults\[0\]\.at: required: \{ step: k \} \(training\) or \{ op: k \}/],
    ["a wall-time trigger with an op", [{ ...degrade, at: { wallMs: 100, op: 1 } }], /^faults\[0\]\.at\.op: at: \{ wallMs: x \} stands alone: it strikes whatever op runs then/],
    ["a wall-time trigger past a day", [{ ...degrade, at: { wallMs: 1e9 } }], /^faults\[0\]\.at\.wallMs: ms after the run started, in \[0, 86400000\], got 1000000000/],
    ["a trigger at a virtual time that is not a number", [{ ...degrade, at: { virtualNs: "soon" } }], /^faults\[0\]\.at\.virtualNs: virtual ns of the run/],
    ["a trigger at a collective that is not a name", [{ ...degrade, at: { collective: 7 } }], /^faults\[0\]\.at\.collective: the name of a collective of the run/],
    ["an unknown trigger key", [{ ...degrade, at: { op: 1, when: 2 } }], /^faults\[0\]\.at\.when: unknown key/],
    ["a step and an op", [{ ...degrade, at: { op: 1, step: 1 } }], /^faults\[0\]\.at: give one of step, op and collective \(got step, op\)/],
    ["a negative op", [{ ...degrade, at: { op: -1 } }], /^faults\[0\]\.at\.op: must be an integer ≥ 0, got -1/],
    ["an op past the run", [{ ...degrade, at: { op: 4 } }], /^faults\[0\]\.at\.op: op 4, but the run has 4 ops \(0 … 3\)/],
    ["a step in a run without training", [{ ...degrade, at: { step: 0 } }], /^faults\[0\]\.at\.step: the run has no training steps \(at: \{ op: k \} counts every op\)/],
    ["a step past the training", [{ ...degrade, at: { step: 3 } }], /^faults\[0\]\.at\.step: step 3, but the run has 3 training steps \(0 … 2\)/, { workload: TRAIN }],
    ["a duration in steps for an op trigger", [{ ...degrade, duration: { steps: 1 } }], /^faults\[0\]\.duration\.steps: at: \{ op: … \} counts ops: give duration: \{ ops: n \}/],
    ["a duration of 0", [{ ...degrade, duration: { ops: 0 } }], /^faults\[0\]\.duration\.ops: must be an integer ≥ 1, got 0/],
    ["a duration that is not a map", [{ ...degrade, duration: 3 }], /^faults\[0\]\.duration: must be \{ steps: n \} or \{ ops: n \}/],
    ["a crash that leaves no route (aggregated L1)", [{ kind: "switch-crash", target: "l1.n0", at: { op: 0 } }], /^faults\[0\]\.target: switch-crash of l1\.n0 leaves no route from npu\.n0\.0 to npu\.n0\.1 \(all 2 of its stripes cross it\); with switches: aggregated one switch actor stands for all planes/],
    ["a link-down that cuts an NPU off", [{ kind: "link-down", target: "npu.n1.2->l1.n1", at: { op: 0 } }], /^faults\[0\]\.target: link-down of npu\.n1\.2->l1\.n1 leaves no route from npu\.n1\.2 to npu\.n0\.0/],
    ["two crashes that cut a pair together", [{ kind: "switch-crash", target: "l2.k2", at: { op: 0 } }, { kind: "switch-crash", target: "l2.k3", at: { op: 2 } }],
      /^faults\[1\]\.target: together with faults\[0\], switch-crash of l2\.k3 leaves no route from npu\.n0\.0 to npu\.n1\.1/],
    ["faults that is not a list", { kind: "link-down" }, /^faults: /],
    ["a fault that is not a map", ["link-down"], /^faults\[0\]: /],
  ];
  for (const [name, faults, message, extra] of cases) {
    it(name, () => expect(errorOf(() => load(faults, extra)).message).toMatch(message));
  }

  const random = { kind: "random", seed: 7, ratePerStep: 2, kinds: ["npu-crash", "straggler"] };
  const processCases: [string, unknown[], RegExp, Record<string, unknown>?][] = [
    ["npu-crash with a duration", [{ kind: "npu-crash", target: "npu.n1.2", at: { step: 1 }, duration: { steps: 1 } }], /^faults\[0\]\.duration: npu-crash lasts until recovery: it takes no duration/],
    ["npu-hang of a switch", [{ kind: "npu-hang", target: "l1.n0", at: { step: 1 } }], /^faults\[0\]\.target: l1\.n0 is a switch; npu-hang takes an NPU/],
    ["npu-crash at a phase with a duration", [{ kind: "npu-crash", target: "npu.n1.2", at: { step: 1, phase: "optimizer" }, duration: { steps: 1 } }], /^faults\[0\]\.duration: npu-crash lasts until recovery: it takes no duration/],
    ["npu-hang afterNs below 0", [{ kind: "npu-hang", target: "npu.n1.2", at: { step: 1, afterNs: -1 } }], /^faults\[0\]\.at\.afterNs: virtual ns after the op's start, in \[0, 3600000000000\], got -1/],
    ["npu-crash with spares under shrink", [{ kind: "npu-crash", target: "npu.n1.2", at: { step: 1 } }], /^recovery\.spares: only for policy spare/, { recovery: { policy: "shrink", spares: 1 } }],
    ["random without kinds", [{ ...random, kinds: [] }], /^faults\[0\]\.kinds: required: a list of kinds/],
    ["random of a kind it cannot draw", [{ ...random, kinds: ["switch-crash"] }], /^faults\[0\]\.kinds\[0\]: "switch-crash" cannot be drawn at random/],
    ["random at a rate of 0", [{ ...random, ratePerStep: 0 }], /^faults\[0\]\.ratePerStep: required: faults per training step in \(0, 64\]/],
    ["random with an unknown target", [{ ...random, targets: ["npu.n9.9"] }], /^faults\[0\]\.targets\[0\]: "npu\.n9\.9" is not an NPU/],
  ];
  for (const [name, faults, message, extra] of processCases) {
    it(name, () => expect(errorOf(() => load(faults, { workload: TRAIN, ...extra })).message).toMatch(message));
  }

  it("random draws the same faults from the same seed: ⌊rate⌋ per step, one crash or hang per NPU per step", () => {
    const a = load([random], { workload: TRAIN }).faultPlan!.faults, b = load([random], { workload: TRAIN }).faultPlan!.faults;
    expect(a.map((f) => f.decl)).toEqual(b.map((f) => f.decl));
    expect(a).toHaveLength(2 * 3); // ratePerStep 2 × the 3 training steps of this scenario
    expect(new Set(a.map((f) => f.decl.kind))).toEqual(new Set(["npu-crash", "straggler"]));
  });


  it("recovery: an unknown policy and an unknown key", () => {
    expect(errorOf(() => load([degrade], { recovery: { policy: "pray" } })).message).toMatch(/^recovery\.policy: /);
    expect(errorOf(() => load([degrade], { recovery: { policy: "restart", after: 2 } })).message).toMatch(/^recovery\.after: unknown key/);
  });
});

describe("faults: what loads", () => {
  it("the issue's example (a link both ways, a straggler for 2 steps, a link-down, a physical plane chip) compiles to ids and op ranges", () => {
    const l = loadScenario({ raw: {
      topology: { preset: "cloudmatrix384", nodes: 2, npusPerNode: 4, switches: "physical" }, workload: { ...TRAIN, steps: 4 }, engine: "sim",
      faults: [
        { kind: "link-degrade", target: "npu.n0.1<->l1.n0.p0", bandwidthFactor: 0.5, latencyNs: 200, at: { step: 1 } },
        { kind: "straggler", target: "npu.n0.3", factor: 3, at: { step: 1 }, duration: { steps: 2 } },
        { kind: "link-down", target: "l1.n0.p1->l2.p1.k3", at: { step: 2 } },
        { kind: "switch-crash", target: "l1.n0.p2", at: { step: 1 } },
      ],
      recovery: { policy: "restart" },
    } });
    const [d, s, down, crash] = l.faultPlan!.faults;
    // Both lanes of npu.n0.1 → l1.n0.p0 and both back: 4 directed links; training steps are the run's ops 0 … 3.
    expect(d!.targets).toHaveLength(4);
    expect([d!.fromIndex, d!.untilIndex]).toEqual([1, undefined]);
    expect([s!.fromIndex, s!.untilIndex]).toEqual([1, 3]);
    expect(down!.targets).toHaveLength(1);
    // Spine chip k = (dst local index × 2 lanes + lane) mod 16 (docs/fabric-model.md §2): l2.p1.k3 carries
    // lane 1 of plane 1 to npu.n1.1, so node 0's 4 NPUs lose 1 stripe of 14 to it; no plane is lost.
    expect(down!.reroute).toBe("rerouted: 4 endpoint pairs keep 13 of 14 stripes");
    // Without l1.n0.p2: 4 × 7 pairs from node 0 and 4 × 4 into it lose plane 2.
    expect(crash!.reroute).toBe("rerouted over 6 of 7 planes: 44 endpoint pairs keep 12 of 14 stripes");
    // Declared policy, with the modelled costs' defaults (process-faults.ts: 5 s + 25 s, hardware.md §7.1).
    expect(l.faultPlan!.recovery).toEqual({ policy: "restart", detectMs: 5_000, restartMs: 25_000, maxRetries: 3, spares: [], reformMs: 5_000 });
    expect((l.resolved as { recovery: unknown }).recovery).toEqual({ policy: "restart", detectMs: 5_000, restartMs: 25_000, maxRetries: 3 }); // the hash of a restart run is as before
    // Declared faults are part of the modelled run, hence of its hash.
    expect((l.resolved as { faults: unknown[] }).faults).toHaveLength(4);
  });

  it("a scenario without faults resolves, and hashes, as before", () => {
    const a = loadScenario({ raw: { topology: TOPO, workload: SWEEP, engine: "sim" } });
    expect(a.faultPlan).toBeUndefined();
    expect("faults" in (a.resolved as object)).toBe(false);
    const b = load([degrade]);
    expect(b.hash).not.toBe(a.hash);
  });

  it("a duration past the last step ends with the training", () => {
    const l = loadScenario({ raw: { topology: TOPO, workload: [TRAIN, SWEEP], engine: "sim", faults: [{ ...degrade, at: { step: 2 }, duration: { steps: 5 } }] } });
    // Steps are ops 0 … 2 and the sweep ops 3 … 6: the fault covers op 2 only.
    expect([l.faultPlan!.faults[0]!.fromIndex, l.faultPlan!.faults[0]!.untilIndex]).toEqual([2, 3]);
  });
});

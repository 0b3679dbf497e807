import { ScenarioError } from "../errors/index.js";
import { DeviceKind, type Topology } from "../topology/index.js";

type Raw = Record<string, unknown>;

/**
 * What a random fault of each kind looks like: its target (an NPU, or an NPU's uplink as `npu->next`)
 * and its parameters. Kinds whose loss could cut a route (link-down, switch-crash) are left out: the
 * route check would refuse a draw, and a seeded plan must always load.
 */
const MAKERS: Readonly<Record<string, (npu: string, uplink: string) => Raw>> = {
  "npu-crash": (npu) => ({ kind: "npu-crash", target: npu }),
  "npu-hang": (npu) => ({ kind: "npu-hang", target: npu }),
  straggler: (npu) => ({ kind: "straggler", target: npu, factor: 2, duration: { steps: 1 } }),
  "link-degrade": (_n, up) => ({ kind: "link-degrade", target: up, bandwidthFactor: 0.5, latencyNs: 100, duration: { steps: 1 } }),
  "message-duplicate": (npu) => ({ kind: "message-duplicate", target: npu, pct: 50, duration: { steps: 1 } }),
  "message-reorder": (npu) => ({ kind: "message-reorder", target: npu, pct: 50, duration: { steps: 1 } }),
};
export const RANDOM_KINDS = Object.keys(MAKERS);
const PROCESS = new Set(["npu-crash", "npu-hang"]);

/** mulberry32: a small seeded generator of [0, 1) — the plan depends on the seed only. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `{ kind: random, seed, ratePerStep, kinds, targets? }` → concrete faults, one list per step (docs/
 * chaos.md §1): each step gets ⌊rate⌋ faults, plus one with probability rate − ⌊rate⌋; each is a kind
 * drawn uniformly from `kinds` and a target drawn uniformly from `targets` (NPU names; default every
 * NPU of the run's training group), a different NPU for each crash or hang of one step. Returns the
 * expanded list with, for each entry, the path of the declaration it came from (for error messages).
 */
export function expandRandom(raw: readonly Raw[], t: Topology, steps: number): { faults: Raw[]; from: string[] } {
  const faults: Raw[] = [], from: string[] = [];
  raw.forEach((f, i) => {
    const at = `faults[${i}]`;
    if (f.kind !== "random") { faults.push(f); from.push(at); return; }
    for (const k of Object.keys(f)) if (!["kind", "seed", "ratePerStep", "kinds", "targets"].includes(k)) throw new ScenarioError(`${at}.${k}`, "unknown key for random (its keys: kind, seed, ratePerStep, kinds, targets)");
    const seed = f.seed, rate = f.ratePerStep, kinds = f.kinds;
    if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0) throw new ScenarioError(`${at}.seed`, `required: an integer ≥ 0, got ${JSON.stringify(seed)}`);
    if (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0 || rate > 64) throw new ScenarioError(`${at}.ratePerStep`, `required: faults per training step in (0, 64], got ${JSON.stringify(rate)}`);
    if (!Array.isArray(kinds) || kinds.length === 0) throw new ScenarioError(`${at}.kinds`, `required: a list of kinds to draw from (${RANDOM_KINDS.join(", ")})`);
    kinds.forEach((k, j) => { if (!RANDOM_KINDS.includes(k as string)) throw new ScenarioError(`${at}.kinds[${j}]`, `${JSON.stringify(k)} cannot be drawn at random (can: ${RANDOM_KINDS.join(", ")})`); });
    if (steps === 0) throw new ScenarioError(`${at}`, "random faults are drawn per training step: the run has none");
    const npus = targetsOf(f.targets, t, `${at}.targets`);
    const uplink = new Map(npus.map((n) => { const d = t.devices.find((x) => x.name === n)!; return [n, `${n}->${t.devices[t.links.find((l) => l.from === d.id)!.to]!.name}`]; }));
    const next = generator(seed);
    for (let step = 0; step < steps; step++) {
      const n = Math.floor(rate) + (next() < rate - Math.floor(rate) ? 1 : 0);
      const stopped = new Set<string>();
      for (let j = 0; j < n; j++) {
        const kind = kinds[Math.floor(next() * kinds.length)] as string;
        let npu = npus[Math.floor(next() * npus.length)]!;
        if (PROCESS.has(kind)) {
          const free = npus.filter((x) => !stopped.has(x));
          if (free.length <= 1) continue; // never every NPU of a step at once: one must be left to notice
          if (stopped.has(npu)) npu = free[Math.floor(next() * free.length)]!;
          stopped.add(npu);
        }
        faults.push({ ...MAKERS[kind]!(npu, uplink.get(npu)!), at: { step } });
        from.push(`${at} (random, step ${step} #${j})`);
      }
    }
  });
  return { faults, from };
}

function targetsOf(x: unknown, t: Topology, path: string): string[] {
  const npus = t.devices.filter((d) => d.kind === DeviceKind.Npu).map((d) => d.name);
  if (x === undefined) return npus;
  if (!Array.isArray(x) || x.length === 0) throw new ScenarioError(path, "a list of NPU names");
  return x.map((n, i) => {
    if (typeof n !== "string" || !npus.includes(n)) throw new ScenarioError(`${path}[${i}]`, `${JSON.stringify(n)} is not an NPU of this topology (e.g. ${npus[0]})`);
    return n;
  });
}

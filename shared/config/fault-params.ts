import { ScenarioError } from "../errors/index.js";
import { FAULT_LIMITS } from "../protocol/index.js";
import { onGrid } from "../units/index.js";

/** Seed of a fault's draws when it declares none (the scenario default seed's value; each fault also mixes in its index). */
export const DEFAULT_FAULT_SEED = 1;
/** message-duplicate / -reorder without `pct`: every outgoing data message. */
export const DEFAULT_PICK_PCT = 100;

type Raw = Record<string, unknown>;

/** The parameters of link-flap, message-duplicate/-reorder and link-degrade loss, as the declaration holds them. */
export interface DrawParams {
  readonly periodNs?: number;
  readonly duty?: number;
  readonly phaseNs?: number;
  readonly pct?: number;
  readonly seed?: number;
  readonly lossPct?: number;
  readonly corruptPct?: number;
  readonly retryNs?: number;
}

function num(x: unknown, path: string, ok: (v: number) => boolean, want: string): number {
  if (typeof x !== "number" || !Number.isFinite(x) || !ok(x)) throw new ScenarioError(path, `must be ${want}, got ${JSON.stringify(x)}`);
  return x;
}

function seedOf(x: unknown, path: string): number {
  if (x === undefined) return DEFAULT_FAULT_SEED;
  return num(x, path, (v) => Number.isInteger(v) && v >= 0 && v <= FAULT_LIMITS.seed, `an integer in [0, ${FAULT_LIMITS.seed}]`);
}

/** link-flap: `periodNs` > 0 and `duty` in (0, 1) required, `phaseNs` ≥ 0 (default 0); times on the 1/1024 ns grid. */
export function flapParams(f: Raw, at: string): DrawParams {
  if (f.periodNs === undefined) throw new ScenarioError(`${at}.periodNs`, "required: the flap's period, ns (the link is down duty × periodNs of each)");
  if (f.duty === undefined) throw new ScenarioError(`${at}.duty`, "required: the fraction of each period the link is down, in (0, 1)");
  const periodNs = onGrid(num(f.periodNs, `${at}.periodNs`, (v) => v > 0 && v <= FAULT_LIMITS.periodNs, `in (0, ${FAULT_LIMITS.periodNs}] ns`));
  const duty = num(f.duty, `${at}.duty`, (v) => v > 0 && v < 1, "in (0, 1) (the fraction of each period the link is down)");
  const phaseNs = onGrid(num(f.phaseNs ?? 0, `${at}.phaseNs`, (v) => v >= 0 && v <= FAULT_LIMITS.periodNs, `in [0, ${FAULT_LIMITS.periodNs}] ns`));
  return { periodNs, duty, phaseNs };
}

/** message-duplicate, message-reorder: `pct` in (0, 100] (default 100) of the outgoing data messages, drawn with `seed`. */
export function pickParams(f: Raw, at: string): DrawParams {
  const pct = num(f.pct ?? DEFAULT_PICK_PCT, `${at}.pct`, (v) => v > 0 && v <= 100, "in (0, 100]");
  return { pct, seed: seedOf(f.seed, `${at}.seed`) };
}

/**
 * link-degrade's loss and corruption: `lossPct`, `corruptPct` in [0, 100] with a sum ≤ 100 (one draw
 * per stripe and link: lost below lossPct, corrupted below lossPct + corruptPct); `retryNs` ≥ 0 and
 * `seed` only with one of them. Only what is set goes into the declaration, so a bandwidth-only degrade
 * resolves (and hashes) as before.
 */
export function lossParams(f: Raw, at: string): DrawParams {
  const pct = (k: "lossPct" | "corruptPct") => (f[k] === undefined ? 0 : num(f[k], `${at}.${k}`, (v) => v >= 0 && v <= 100, "in [0, 100] (% of stripes)"));
  const lossPct = pct("lossPct"), corruptPct = pct("corruptPct");
  if (lossPct + corruptPct > 100) throw new ScenarioError(`${at}.corruptPct`, `lossPct + corruptPct must be ≤ 100 (one draw per stripe), got ${lossPct} + ${corruptPct}`);
  if (lossPct === 0 && corruptPct === 0) {
    for (const k of ["retryNs", "seed"]) if (f[k] !== undefined) throw new ScenarioError(`${at}.${k}`, "only with lossPct or corruptPct > 0");
    return {};
  }
  const retry = f.retryNs === undefined ? {} : { retryNs: onGrid(num(f.retryNs, `${at}.retryNs`, (v) => v >= 0 && v <= FAULT_LIMITS.retryNs, `in [0, ${FAULT_LIMITS.retryNs}] ns`)) };
  return { ...(lossPct ? { lossPct } : {}), ...(corruptPct ? { corruptPct } : {}), ...retry, seed: seedOf(f.seed, `${at}.seed`) };
}

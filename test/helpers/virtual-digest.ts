import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Report } from "../../services/coordinator/index.js";
import { SIM_CASES } from "../bench/run-case.js";

/**
 * What the engine-speed work must keep bit for bit (issue 11): each scenario's and bench case's
 * virtual times, closed-form errors, results and verification. Wall-clock figures and message
 * counts (how the engine carries the data, not what it computes) are left out.
 */
export type VirtualFields = Record<string, unknown>;

const NOT_VIRTUAL = /wall|messages|hops/i;

/** The report's rows with every wall-clock and message-count field removed (nested objects too). */
function strip(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(strip);
  if (x === null || typeof x !== "object" || ArrayBuffer.isView(x)) return x;
  return Object.fromEntries(Object.entries(x).filter(([k]) => !NOT_VIRTUAL.test(k)).map(([k, v]) => [k, strip(v)]));
}

export function virtualFields(r: Report): VirtualFields {
  return { status: r.status, results: strip(r.results), moe: strip(r.moe), steps: strip(r.steps ?? []) };
}

/**
 * Compares `actual` with the recorded `expected`, looking only at keys the record has (fields added
 * to reports later do not count). Returns the path of the first difference, or undefined.
 */
export function firstDifference(expected: unknown, actual: unknown, path = ""): string | undefined {
  if (expected === null || typeof expected !== "object") {
    return Object.is(expected, actual) ? undefined : `${path || "."}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  }
  if (actual === null || typeof actual !== "object") return `${path}: expected an object, got ${JSON.stringify(actual)}`;
  if (Array.isArray(expected) && (!Array.isArray(actual) || actual.length !== expected.length)) {
    return `${path}: expected ${expected.length} entries, got ${Array.isArray(actual) ? actual.length : "no array"}`;
  }
  for (const [k, v] of Object.entries(expected)) {
    const d = firstDifference(v, (actual as Record<string, unknown>)[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

const SCENARIOS = fileURLToPath(new URL("../../scenarios/", import.meta.url));

/** Every scenario in scenarios/ (run on the sim engine) and every sim bench case, by name. */
export function digestCases(): { name: string; file?: string; raw?: unknown }[] {
  const files = readdirSync(SCENARIOS).filter((f) => f.endsWith(".yaml")).sort();
  return [
    ...files.map((f) => ({ name: `scenarios/${f}`, file: SCENARIOS + f })),
    ...SIM_CASES.map(([name, raw]) => ({ name: `bench: ${name}`, raw })),
  ];
}

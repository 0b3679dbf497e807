import { ProtocolError } from "../errors/index.js";

// The guard's field checkers: each throws a ProtocolError naming the field, or returns the value.

export type Fields = Record<string, unknown>;

/** A short description of a rejected value: never the value itself, which may be large. */
export function describe(x: unknown): string {
  if (typeof x === "number" || typeof x === "boolean") return String(x);
  if (x === null) return "null";
  if (Array.isArray(x)) return `array(${x.length})`;
  // The tag, not `constructor.name`: a decoded map may carry a key named "constructor".
  return typeof x === "object" ? Object.prototype.toString.call(x).slice(8, -1) : typeof x;
}

export function reject(field: string, want: string, got: unknown): never {
  throw new ProtocolError(`${field}: expected ${want}, got ${describe(got)}`);
}

// The tests behind the checkers, for hot paths that test first and build a field's name only to
// reject it (`isIntIn(x, 0, n) ? x : int(x, name, 0, n)`): one definition of each rule.
export const isMap = (x: unknown): x is Fields => {
  const proto = typeof x === "object" && x !== null ? Object.getPrototypeOf(x) : undefined;
  return proto === Object.prototype || proto === null;
};
export const isIntIn = (x: unknown, min: number, max: number): x is number => typeof x === "number" && Number.isInteger(x) && x >= min && x <= max;
export const isTimeFrom = (x: unknown, min: number): x is number => typeof x === "number" && Number.isFinite(x) && x >= min;
export const isArrayOf = (x: unknown, minLength: number, maxLength: number): x is readonly unknown[] => Array.isArray(x) && x.length >= minLength && x.length <= maxLength;
export const isFloat64s = (x: unknown, maxLength: number): x is Float64Array => x instanceof Float64Array && x.length <= maxLength;

export function map(x: unknown, field: string): Fields {
  if (!isMap(x)) reject(field, "a map", x);
  return x;
}

export function int(x: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!isIntIn(x, min, max)) reject(field, `an integer in [${min}, ${max}]`, x);
  return x;
}

/** A virtual time: finite, and not before the start of the run unless `min` says otherwise. */
export function time(x: unknown, field: string, min = 0): number {
  if (!isTimeFrom(x, min)) reject(field, min === -Infinity ? "a finite time" : `a finite time ≥ ${min}`, x);
  return x;
}

export function oneOf<T>(x: unknown, values: readonly T[], field: string): T {
  if (!values.includes(x as T)) reject(field, `one of ${values.join("|")}`, x);
  return x as T;
}

export function array(x: unknown, field: string, minLength: number, maxLength: number): readonly unknown[] {
  if (!isArrayOf(x, minLength, maxLength)) reject(field, `an array of ${minLength}..${maxLength} entries`, x);
  return x;
}

export function text(x: unknown, field: string, maxLength: number): string {
  if (typeof x !== "string" || x.length > maxLength) reject(field, `a string of ≤ ${maxLength} chars`, x);
  return x;
}

export function float64s(x: unknown, field: string, maxLength = Number.MAX_SAFE_INTEGER): Float64Array {
  if (!isFloat64s(x, maxLength)) reject(field, `a Float64Array of ≤ ${maxLength} elements`, x);
  return x;
}

/** A finite number in (min, max]. */
export function real(x: unknown, field: string, min: number, max: number): number {
  if (typeof x !== "number" || !Number.isFinite(x) || x <= min || x > max) reject(field, `a number in (${min}, ${max}]`, x);
  return x;
}


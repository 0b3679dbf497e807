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

export function map(x: unknown, field: string): Fields {
  const proto = typeof x === "object" && x !== null ? Object.getPrototypeOf(x) : undefined;
  if (proto !== Object.prototype && proto !== null) reject(field, "a map", x);
  return x as Fields;
}

export function int(x: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < min || x > max) reject(field, `an integer in [${min}, ${max}]`, x);
  return x;
}

/** A virtual time: finite, and not before the start of the run unless `min` says otherwise. */
export function time(x: unknown, field: string, min = 0): number {
  if (typeof x !== "number" || !Number.isFinite(x) || x < min) reject(field, min === -Infinity ? "a finite time" : `a finite time ≥ ${min}`, x);
  return x;
}

export function oneOf<T>(x: unknown, values: readonly T[], field: string): T {
  if (!values.includes(x as T)) reject(field, `one of ${values.join("|")}`, x);
  return x as T;
}

export function array(x: unknown, field: string, minLength: number, maxLength: number): readonly unknown[] {
  if (!Array.isArray(x) || x.length < minLength || x.length > maxLength) reject(field, `an array of ${minLength}..${maxLength} entries`, x);
  return x;
}

export function text(x: unknown, field: string, maxLength: number): string {
  if (typeof x !== "string" || x.length > maxLength) reject(field, `a string of ≤ ${maxLength} chars`, x);
  return x;
}

export function float64s(x: unknown, field: string, maxLength = Number.MAX_SAFE_INTEGER): Float64Array {
  if (!(x instanceof Float64Array) || x.length > maxLength) reject(field, `a Float64Array of ≤ ${maxLength} elements`, x);
  return x;
}

/** A finite number in (min, max]. */
export function real(x: unknown, field: string, min: number, max: number): number {
  if (typeof x !== "number" || !Number.isFinite(x) || x <= min || x > max) reject(field, `a number in (${min}, ${max}]`, x);
  return x;
}


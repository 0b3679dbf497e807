import { bytes, type Bytes } from "./brand.js";

const UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12,
  KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4,
  K: 1024, M: 1024 ** 2, G: 1024 ** 3,
};

/** Parses `4KiB`, `64MiB`, `1GiB`, `7.5KB`, `4096` into integer bytes; returns an error string on failure. */
export function parseSize(input: string | number): Bytes | string {
  if (typeof input === "number") {
    return Number.isInteger(input) && input >= 0 ? bytes(input) : `size must be a non-negative integer of bytes, got ${input}`;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(input);
  if (!m) return `not a size: "${input}" (examples: 4KiB, 64MiB, 1GiB, 7680)`;
  const unit = (m[2] ?? "").toUpperCase() || "B";
  const mult = UNITS[unit];
  if (mult === undefined) return `unknown size unit "${m[2]}" in "${input}" (B, KB, MB, GB, KiB, MiB, GiB)`;
  const value = Number(m[1]) * mult;
  if (!Number.isInteger(value)) return `size "${input}" is not a whole number of bytes`;
  return bytes(value);
}

/** Formats bytes the way NCCL-tests users read them: 4KiB, 64MiB, 1GiB; plain bytes otherwise. */
export function formatSize(n: number): string {
  for (const [unit, mult] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (n >= mult && n % mult === 0) return `${n / mult}${unit}`;
  }
  return `${n}B`;
}

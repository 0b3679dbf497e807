import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { crc32 } from "../../shared/codec/index.js";
import { Port } from "../../shared/linkmodel/index.js";
import { f64, f64Slice } from "../../shared/units/index.js";
import { EventQueue } from "../../shared/runtime/index.js";
import { Reassembly, StripeWindow } from "../../services/npu/index.js";
import type { StripePart } from "../../shared/protocol/index.js";
import { ReferencePort, ReferenceReassembly, referenceCrc32 } from "./fixtures/hot-path-reference.js";

// The fast structures of the sim engine's hot path (issue 11) must answer exactly as the plain ones
// they replaced (fixtures/hot-path-reference.ts) — the digests depend on it, bit for bit.

describe("Port (typed-array intervals) against the splice-based reference", () => {
  const reservation = fc.tuple(fc.integer({ min: -400, max: 400 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 50 }));
  it("gives the same starts, tail times and gauges for any order of reservations, folding included", () => {
    fc.assert(fc.property(fc.array(reservation, { minLength: 1, maxLength: 3000, size: "max" }), fc.integer({ min: 1, max: 8 }), (rs, gap) => {
      const fast = new Port(), ref = new ReferencePort();
      let clock = 0;
      for (const [back, dur, spread] of rs) {
        clock += gap; // ports reach 1024+ intervals: most reservations leave a gap behind them
        const ready = Math.max(0, clock + back), d = dur === 0 ? 0 : dur / 8;
        expect(fast.reserve(ready, ready + spread, d)).toBe(ref.reserve(ready, ready + spread, d));
        expect(fast.lastEndNs).toBe(ref.lastEndNs);
      }
      expect([fast.queuedNs, fast.busyNs]).toEqual([ref.queuedNs, ref.busyNs]);
    }), { numRuns: 60 });
  });
  it("folds as the reference does: 5000 gapped reservations, then late ones that find only the floor", () => {
    const fast = new Port(), ref = new ReferencePort();
    const at = (i: number): number => (i < 5000 ? 10 * i : 10 * (i - 5000) * 7 % 50_000);
    for (let i = 0; i < 6000; i++) {
      expect(fast.reserve(at(i), at(i), 4 + (i % 3))).toBe(ref.reserve(at(i), at(i), 4 + (i % 3)));
      expect(fast.lastEndNs).toBe(ref.lastEndNs);
    }
    expect(fast.queuedNs).toBeGreaterThan(0);
  });
});

const part = (stripe: number, payload: Float64Array, headNs: number, tailNs: number): StripePart =>
  ({ stripe, bytes: 8 * payload.length, headNs, tailNs, path: [], hop: 0, payload, crc: 0 });

describe("Reassembly (open addressing) against the map-based reference", () => {
  it("says the same of every stripe (partial, whole, duplicate, mismatch, overflow) and counts the same pending", () => {
    const stripe = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1000 }));
    fc.assert(fc.property(fc.array(stripe, { maxLength: 1500, size: "max" }), fc.integer({ min: 50, max: 400 }), (ss, limit) => {
      const fast = new Reassembly(limit), ref = new ReferenceReassembly(limit);
      for (const [k, stripes, s, len, t] of ss) {
        const key = k * 2 ** 31 + k; // past 2^30, as training tags make them
        const payload = Float64Array.from({ length: len }, (_, i) => key + i);
        const got = fast.add(key, stripes, 100, part(s, payload, t, t + 5), 7);
        const want = ref.add(key, stripes, s, payload, t, t + 5 + 7);
        if (typeof want === "string") expect(got).toBe(want);
        else expect(typeof got === "string" ? got : { data: [...got.data], firstByteNs: got.firstByteNs, deliveredNs: got.deliveredNs }).toEqual(want);
      }
      expect(fast.pending).toBe(ref.pending);
    }), { numRuns: 80 });
  });
});

describe("StripeWindow (one-array table) against a set", () => {
  it("admits each (pair, tag, stripe) once, through any number of growths", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 7 })), { maxLength: 4000, size: "max" }), (xs) => {
      const w = new StripeWindow(1, Infinity), seen = new Map<string, number>();
      for (const [pair, t, mask] of xs) {
        const tag = (t % 8) * 2 ** 20 + t; // tags differ in their high bits, as a training step's do
        const had = seen.get(`${pair}:${tag}`) ?? 0;
        expect(w.admitMask(pair, tag, mask)).toBe(mask & ~had);
        seen.set(`${pair}:${tag}`, had | mask);
      }
      expect(w.transfers).toBe(seen.size);
    }), { numRuns: 40 });
  });
});

describe("crc32 (slicing-by-8) against the bitwise definition", () => {
  it("agrees on any payload, views at an offset and NaN bit patterns included", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer(), fc.integer()), { maxLength: 70 }), fc.integer({ min: 0, max: 3 }), (words, at) => {
      const all = new Float64Array(new Uint32Array(words.flat().concat([7, 7, 7, 7, 7, 7])).buffer);
      const view = all.subarray(at, at + words.length);
      expect(crc32(view)).toBe(view.length === 0 ? 0 : referenceCrc32(view));
    }));
  });
});

describe("event queue runs", () => {
  it("keeps insertion order among equal times pushed apart (a later run of a time pops after an earlier one)", () => {
    const q = new EventQueue<string>();
    q.push(5, 0, "a"); q.push(7, 0, "b"); q.push(5, 0, "c"); q.push(5, 0, "d"); q.push(7, 0, "e");
    const out: string[] = [];
    for (let x = q.pop(); x !== undefined; x = q.pop()) { out.push(x); if (x === "a") q.push(5, 0, "f"); }
    expect(out).toEqual(["a", "c", "d", "f", "b", "e"]);
  });
});

describe("f64 and f64Slice (slab views) against fresh typed arrays", () => {
  it("hands out zero-filled, disjoint arrays that read and write as their own, across slab boundaries", () => {
    // 3000 arrays of 0..40 elements: about 60,000 elements, so several 8,192-element slabs fill up.
    const got: Float64Array[] = [];
    for (let i = 0; i < 3000; i++) {
      const a = f64(i % 41);
      expect(a.length).toBe(i % 41);
      expect(a.every((v) => v === 0)).toBe(true);
      a.fill(i + 1);
      got.push(a);
    }
    got.forEach((a, i) => expect(a.every((v) => v === i + 1)).toBe(true)); // no array overlaps another
    const big = f64(5000); // past the slab cut-off: a buffer of its own
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(5000 * 8);
  });
  it("copies exactly what slice copies, and the copy does not follow its source", () => {
    fc.assert(fc.property(fc.array(fc.double({ noNaN: true }), { maxLength: 3000 }), fc.nat(3000), fc.nat(3000), (xs, a, b) => {
      const src = Float64Array.from(xs), from = Math.min(a, b), to = Math.max(a, b);
      const copy = f64Slice(src, from, to), want = Array.from(src.slice(from, to));
      expect(Array.from(copy)).toEqual(want);
      src.fill(NaN); // the source changes; the copy keeps what it copied
      expect(Array.from(copy)).toEqual(want);
    }), { numRuns: 200 });
  });
});

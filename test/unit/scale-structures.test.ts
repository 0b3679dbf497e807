import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Port, type PortHorizon } from "../../shared/linkmodel/index.js";
import { StripeWindow } from "../../services/npu/index.js";
import { ReferencePort } from "./fixtures/hot-path-reference.js";

// The structures that keep the sim engine's memory linear at 8,192 NPUs (issue 11, "Scaling") must
// answer exactly as those they replaced: the digests of every scenario depend on it, bit for bit.

describe("Port with a horizon (sim engine) against the unfolded reference", () => {
  const step = fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 50 }));
  it("gives the same starts and tail times while keeping a handful of intervals", () => {
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 3000, size: "max" }), (rs) => {
      const clock: PortHorizon = { horizonNs: 0 };
      const fast = new Port(clock), ref = new ReferencePort();
      let most = 0;
      for (const [advance, ahead, dur, spread] of rs) {
        clock.horizonNs += advance; // events in virtual-time order; each reservation ready at or after its event
        const ready = clock.horizonNs + ahead, d = dur === 0 ? 0 : dur / 8;
        expect(fast.reserve(ready, ready + spread, d)).toBe(ref.reserve(ready, ready + spread, d));
        expect(fast.lastEndNs).toBe(ref.lastEndNs);
        most = Math.max(most, (fast as unknown as { n: number }).n);
      }
      expect([fast.queuedNs, fast.busyNs]).toEqual([ref.queuedNs, ref.busyNs]);
      // Only intervals ending after the horizon stay: at most (400 + 60) / 1 ahead of it, never 1024.
      expect(most).toBeLessThan(500);
    }), { numRuns: 60 });
  });
  it("is the same where the port idles between reservations (a ring's link: each one after the last has left)", () => {
    // advance ≥ the previous duration most of the time, so the last interval ends at or before the
    // horizon and the port replaces it instead of appending (Port.reserve's first branch); a few
    // reservations ahead of the horizon mix in the gap-filling and queueing paths.
    const step2 = fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 30 }));
    fc.assert(fc.property(fc.array(step2, { minLength: 1, maxLength: 2000, size: "max" }), (rs) => {
      const clock: PortHorizon = { horizonNs: 0 };
      const fast = new Port(clock), ref = new ReferencePort();
      for (const [advance, ahead, dur, spread] of rs) {
        clock.horizonNs += advance;
        const ready = clock.horizonNs + (ahead === 3 ? 25 : ahead), d = dur / 8;
        expect(fast.reserve(ready, ready + spread, d)).toBe(ref.reserve(ready, ready + spread, d));
        expect(fast.lastEndNs).toBe(ref.lastEndNs);
      }
      expect([fast.queuedNs, fast.busyNs, fast.messages]).toEqual([ref.queuedNs, ref.busyNs, rs.length]);
      expect((fast as unknown as { n: number }).n).toBeLessThan(40);
    }), { numRuns: 100 });
  });
  it("refuses a reservation ready before the horizon (it could need a folded gap)", () => {
    const clock: PortHorizon = { horizonNs: 100 };
    expect(() => new Port(clock).reserve(99, 99, 1)).toThrow(RangeError);
  });
});

describe("StripeWindow (six tags a slot) against a set, with its transfer limit", () => {
  it("admits each (pair, tag, stripe) once and refuses new transfers past the limit", () => {
    const entry = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 7 }));
    fc.assert(fc.property(fc.array(entry, { maxLength: 4000, size: "max" }), fc.integer({ min: 1, max: 600 }), (xs, limit) => {
      const w = new StripeWindow(1, limit), seen = new Map<string, number>();
      for (const [pair, t, mask] of xs) {
        const tag = (t % 3) * 65_536 + t; // ring steps: runs of consecutive tags per phase
        const key = `${pair}:${tag}`, had = seen.get(key);
        if (had === undefined && seen.size >= limit) { expect(w.admitMask(pair, tag, mask)).toBe(-1); continue; }
        expect(w.admitMask(pair, tag, mask)).toBe(mask & ~(had ?? 0));
        seen.set(key, (had ?? 0) | mask);
      }
      expect(w.transfers).toBe(seen.size);
    }), { numRuns: 40 });
  });
});

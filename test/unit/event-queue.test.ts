import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EventQueue } from "../../shared/runtime/index.js";

describe("event queue", () => {
  it("pops in (time, insertion order) — the same order as a stable sort — even when events are added while popping", () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3 })), { maxLength: 200 }), (evs) => {
      const q = new EventQueue<number>();
      const pushed: [number, number][] = [];
      let id = 0;
      for (const [t] of evs.slice(0, evs.length >> 1)) { q.push(t, 0, id); pushed.push([t, id++]); }
      const popped: [number, number][] = [];
      let rest = evs.slice(evs.length >> 1);
      for (let item = q.pop(); item !== undefined; item = q.pop()) {
        popped.push([q.time, item]);
        const next = rest[0];
        if (next) { rest = rest.slice(1); q.push(q.time + next[0], 0, id); pushed.push([q.time + next[0], id++]); }
      }
      // Reference: a stable sort of everything pushed by time (ties keep insertion order).
      const want = [...pushed].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expect(popped).toEqual(want);
    }));
  });
  it("keeps each event's target, through runs of any length pushed at one time, interleaved with other times", () => {
    // Bursts of 1–7 events at one time (a run: its first two events are kept apart from the rest), the
    // bursts' times in any order; the reference is a stable sort of everything by time.
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 7 })), { maxLength: 60 }), (bursts) => {
      const q = new EventQueue<number>();
      const pushed: [number, number, number][] = [];
      let id = 0;
      for (const [t, n] of bursts) for (let k = 0; k < n; k++) { q.push(t, 1000 + id, id); pushed.push([t, 1000 + id, id++]); }
      const popped: [number, number, number][] = [];
      for (let item = q.pop(); item !== undefined; item = q.pop()) popped.push([q.time, q.to, item]);
      expect(popped).toEqual([...pushed].sort((a, b) => a[0] - b[0] || a[2] - b[2]));
      expect(q.size).toBe(0);
    }));
  });
  it("refuses an event in the past (causality)", () => {
    const q = new EventQueue<string>();
    q.push(10, 0, "a");
    q.pop();
    expect(() => q.push(5, 0, "b")).toThrow(/causality/);
  });
});

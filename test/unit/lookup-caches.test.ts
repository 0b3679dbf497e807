import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { OpWindows, type StripeWindow } from "../../services/npu/index.js";
import { RememberingMap } from "../../services/npu/remembering-map.js";
import type { OpRun } from "../../services/npu/op-run.js";
import { DEFAULT_LIMITS } from "../../shared/runtime/index.js";

// The hot path's lookups (RememberingMap, used by OpWindows and an endpoint's running ops) remember the op looked up last (issue 11: a Map probe is a cache miss or two
// per message). A remembered entry must never outlive its removal: each answers, after any sequence of
// adds, removals and lookups, exactly what a plain Map of the same operations answers.

const op = fc.integer({ min: 1, max: 6 });
const action = fc.oneof(
  fc.tuple(fc.constant("set" as const), op), fc.tuple(fc.constant("delete" as const), op),
  fc.tuple(fc.constant("get" as const), op), fc.tuple(fc.constant("get" as const), op), fc.tuple(fc.constant("clear" as const), op),
);

describe("RememberingMap (an endpoint's running ops) against a Map", () => {
  it("gets what the Map holds, through sets, deletes, clears and repeated gets", () => {
    fc.assert(fc.property(fc.array(action, { maxLength: 300 }), (xs) => {
      const ops = new RememberingMap<OpRun>(), ref = new Map<number, OpRun>();
      for (const [kind, id] of xs) {
        if (kind === "set") { const run = { id, n: Math.random() } as unknown as OpRun; ops.set(id, run); ref.set(id, run); }
        else if (kind === "delete") { ops.delete(id); ref.delete(id); }
        else if (kind === "clear") { ops.clear(); ref.clear(); }
        expect(ops.get(id)).toBe(ref.get(id));
        expect(ops.has(id)).toBe(ref.has(id));
      }
      expect([...ops.values()]).toEqual([...ref.values()]);
    }), { numRuns: 200 });
  });
});

describe("OpWindows against a Map of the ops open", () => {
  it("gets the open op's window and nothing for a closed or evicted one, stale once closed", () => {
    const limits = { ...DEFAULT_LIMITS, openOps: 3 }; // small, so opening evicts the oldest
    fc.assert(fc.property(fc.array(action, { maxLength: 300 }), (xs) => {
      const w = new OpWindows(limits), ref = new Map<number, StripeWindow>();
      let next = 1;
      for (const [kind, id] of xs) {
        if (kind === "set") { // a new op id, as the coordinator opens them
          const opened = w.openOp(next, 0);
          if (ref.size >= limits.openOps) ref.delete(ref.keys().next().value as number);
          ref.set(next++, opened);
        } else if (kind === "delete" || kind === "clear") { w.close(id); ref.delete(id); }
        for (const look of [id, next - 1]) expect(w.get(look)).toBe(ref.get(look));
        expect(w.isStale(id)).toBe(id < next && !ref.has(id));
      }
    }), { numRuns: 200 });
  });
});

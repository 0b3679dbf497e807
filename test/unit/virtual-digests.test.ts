import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../shared/config/index.js";
import { runScenario } from "../../services/coordinator/index.js";
import { simEngine } from "../helpers/run.js";
import { digestCases, firstDifference, virtualFields, type VirtualFields } from "../helpers/virtual-digest.js";

/**
 * Engine changes must not move a single virtual nanosecond (issue 11 item 1): every scenario in
 * scenarios/ and every sim bench case is run on the sim engine and its virtual times, closed-form
 * errors, results, losses, parameter digests and verification are compared, exactly (Object.is),
 * with the record in fixtures/virtual-digests.json, taken at b01b82f before the engine work.
 * `UPDATE_VIRTUAL_DIGESTS=1` rewrites the record — only for a change that is meant to move virtual
 * time (a model change), said so in its commit.
 */
const FIXTURE = fileURLToPath(new URL("./fixtures/virtual-digests.json", import.meta.url));
const update = process.env.UPDATE_VIRTUAL_DIGESTS === "1";
const recorded = existsSync(FIXTURE) ? (JSON.parse(readFileSync(FIXTURE, "utf8")) as Record<string, VirtualFields>) : {};
const fresh: Record<string, VirtualFields> = {};
const CASE_TIMEOUT_MS = 240_000;

describe("virtual results are unchanged by engine work", () => {
  for (const c of digestCases()) {
    it(c.name, async () => {
      const loaded = loadScenario(c.file ? { file: c.file, engine: "sim" } : { raw: c.raw });
      await using engine = simEngine(loaded);
      const fields = virtualFields(await runScenario(loaded, engine));
      expect(fields.status).toBe("ok");
      if (update) {
        fresh[c.name] = fields;
        writeFileSync(FIXTURE, JSON.stringify({ ...recorded, ...fresh }, null, 1) + "\n");
        return;
      }
      const want = recorded[c.name];
      if (!want) throw new Error(`no record for ${c.name} in ${FIXTURE}: run with UPDATE_VIRTUAL_DIGESTS=1`);
      expect(firstDifference(want, fields)).toBeUndefined();
    }, CASE_TIMEOUT_MS);
  }
});

import { z } from "zod";

/**
 * `faults:` is a list of maps checked entry by entry in fault-resolve.ts (each kind has its own keys,
 * and kinds of the catalogue that are not implemented yet get their own error), so the schema only
 * asks for a list of maps here.
 */
export const faultsSchema = z.array(z.record(z.string(), z.unknown())).max(4096);

/**
 * `recovery:` (issue 12). Validated and recorded; no fault this slice injects stops an actor, so no
 * policy is exercised yet (docs/chaos.md).
 */
export const recoverySchema = z.object({ policy: z.enum(["restart", "shrink", "spare"]) }).strict();

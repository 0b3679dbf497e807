import { z } from "zod";

/**
 * `faults:` is a list of maps checked entry by entry in fault-resolve.ts (each kind has its own keys,
 * and kinds of the catalogue that are not implemented yet get their own error), so the schema only
 * asks for a list of maps here.
 */
export const faultsSchema = z.array(z.record(z.string(), z.unknown())).max(4096);

/**
 * `recovery:` (issue 12, docs/chaos.md §7): the policy, and the modelled cost of detecting a failure
 * and restarting (virtual ms; defaults in process-faults.ts, with their source), and how many times one
 * step may be retried.
 */
export const recoverySchema = z.object({
  policy: z.enum(["restart", "shrink", "spare"]),
  detectMs: z.number().min(0).max(3_600_000).optional(),
  restartMs: z.number().min(0).max(3_600_000).optional(),
  maxRetries: z.number().int().min(0).max(100).optional(),
  /** policy spare: the standby NPUs (names), or how many of the NPUs no workload uses (the last ones). */
  spares: z.union([z.array(z.string()).min(1).max(4096), z.number().int().min(1).max(4096)]).optional(),
  reformMs: z.number().min(0).max(3_600_000).optional(),
}).strict();

import { z } from "zod";
import { Algorithm, Collective } from "../protocol/index.js";
import { TRACE_DETAILS, type TraceDetail } from "../trace/index.js";
import { moeWorkloadSchema } from "./moe-schema.js";
import { trainingWorkloadSchema } from "./training-schema.js";
import { faultsSchema, recoverySchema } from "./fault-schema.js";

const sizeLike = z.union([z.string(), z.number()]);
const nonneg = z.number().finite().nonnegative();
const positive = z.number().finite().positive();

const customDevice = z.object({
  name: z.string().regex(/^[A-Za-z_][\w.-]*$/, "a name of letters, digits, _ . -"),
  kind: z.enum(["npu", "switch"]),
  count: z.number().int().positive().optional(),
  switchLatencyNs: nonneg.optional(),
}).strict();

const customLink = z.object({
  from: z.string(),
  to: z.string(),
  bandwidthGBps: positive,
  latencyNs: nonneg,
  duplex: z.boolean().optional(),
}).strict();

const COLLECTIVES = Object.values(Collective).filter((c) => c !== Collective.MoeLayer && c !== Collective.TrainingStep) as [Collective, ...Collective[]];

const collectiveWorkload = z.object({
  kind: z.literal("collective"),
  collective: z.enum(COLLECTIVES),
  algorithm: z.enum(Object.values(Algorithm) as [Algorithm, ...Algorithm[]]).optional(),
  sizes: z.union([
    z.array(sizeLike).min(1),
    z.object({ from: sizeLike, to: sizeLike, factor: z.number().int().min(2) }).strict(),
  ]),
  ranks: z.union([z.literal("all"), z.number().int().positive()]).optional(),
  dtype: z.enum(["bf16", "fp16", "fp32", "int8"]).optional(),
  root: z.number().int().nonnegative().optional(),
  chunkBytes: sizeLike.optional(),
  realElementsPerChunk: z.number().int().positive().max(4096).optional(),
}).strict();

/** One workload; `workload:` in a scenario is one of these or a list of them, run one after another. */
const workload = z.discriminatedUnion("kind", [collectiveWorkload, moeWorkloadSchema, trainingWorkloadSchema]);

/**
 * The raw scenario file. Hardware overrides are any keys of HW_KEYS under `topology` (checked
 * against the chosen preset later, so the error can say which preset lacks the key).
 */
export const scenarioSchema = z.object({
  name: z.string().optional(),
  topology: z.object({
    preset: z.string(),
    switches: z.enum(["physical", "aggregated"]).optional(),
    rankUnit: z.enum(["npu", "die"]).optional(),
    custom: z.object({
      devices: z.array(customDevice).min(1),
      links: z.array(customLink).min(1),
    }).strict().optional(),
  }).catchall(z.unknown()),
  workload,
  engine: z.enum(["sim", "nats"]).optional(),
  deployment: z.object({
    placement: z.enum(["auto", "per-actor", "grouped", "external"]).optional(),
    nats: z.string().optional(),
    natsServers: z.literal([1, 3], { error: "1 (one embedded nats-server) or 3 (an embedded 3-server cluster)" }).optional(),
    run: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 of A-Z a-z 0-9 _ -").optional(),
    heartbeatMs: z.number().int().min(50).max(60_000).optional(),
    heartbeatTimeoutMs: z.number().int().min(100).max(600_000).optional(),
    watchdogMs: z.number().int().min(100).max(3_600_000).optional(),
    startTimeoutMs: z.number().int().min(1_000).max(600_000).optional(),
    localDelivery: z.boolean().optional(),
    timing: z.enum(["wall", "exact"]).optional(),
    nodesPerHost: z.union([z.literal("auto"), z.number().int().min(1).max(1_048_576)], { error: '"auto" or a whole number ≥ 1' }).optional(),
    pingIntervalMs: z.number().int().min(500).max(600_000).optional(),
    limits: z.object({
      earlyMessagesPerSender: z.number().int().min(1).max(1_000_000).optional(),
      earlyBytesPerActor: z.number().int().min(1024).max(2 ** 34).optional(),
      openOps: z.number().int().min(1).max(1024).optional(),
      transfersPerOp: z.number().int().min(1024).max(2 ** 26).optional(),
    }).strict().optional(),
  }).strict().optional(),
  seed: z.number().int().nonnegative().max(2 ** 32 - 1).optional(),
  /** Faults to inject and the recovery policy (docs/chaos.md); checked entry by entry in fault-resolve.ts. */
  faults: faultsSchema.optional(),
  recovery: recoverySchema.optional(),
  outputs: z.object({
    dir: z.string().optional(),
    /** What `supernode run --trace` writes (docs/training.md, Trace). */
    trace: z.object({
      detail: z.enum(TRACE_DETAILS as [TraceDetail, ...TraceDetail[]]).optional(),
      maxEvents: z.number().int().min(1).max(100_000_000).optional(),
    }).strict().optional(),
  }).strict().optional(),
}).strict();

/** The same scenario with `workload:` a list, run one after another (two schemas, so errors name the exact field). */
export const scenarioListSchema = scenarioSchema.extend({ workload: z.array(workload).min(1) });

export type RawScenario = z.infer<typeof scenarioSchema> | z.infer<typeof scenarioListSchema>;

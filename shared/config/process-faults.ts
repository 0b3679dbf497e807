/**
 * Faults of the process layer (issue 12): the engine stops the actor itself — kills its host process
 * (NATS) or stops delivering to it (sim) — so they never go on the wire as a `fault` message. The
 * coordinator detects them like any failure (host exit, heartbeat timeout, nothing left to deliver)
 * and recovers by `recovery.policy` (docs/chaos.md §7).
 */
export const ProcessFaultKind = {
  /** The NPU's process is killed (SIGKILL) at the start of the step: it never answers again. */
  NpuCrash: "npu-crash",
  /** The NPU's process is stopped (SIGSTOP): alive to the kernel, silent to everyone. */
  NpuHang: "npu-hang",
  /** One server of the embedded NATS cluster is killed (SIGKILL): its clients reconnect to the others. Target `nats-<i>`. */
  NatsServerLoss: "nats-server-loss",
} as const;
export type ProcessFaultKind = (typeof ProcessFaultKind)[keyof typeof ProcessFaultKind];
export const PROCESS_FAULT_KINDS: readonly ProcessFaultKind[] = Object.values(ProcessFaultKind);

export const isProcessFault = (k: string): k is ProcessFaultKind => (PROCESS_FAULT_KINDS as readonly string[]).includes(k);

/**
 * How a run recovers from a failed step, with the modelled (virtual) cost of each part. Defaults: the
 * ≈30 s process-level training recovery Huawei reports for CloudMatrix (hardware.md §7.1, S15; L:
 * press retelling), split as 5 s to detect (EST: a few missed heartbeats) and 25 s to restart the
 * process, rebuild the communicator and reload the committed state (EST: the rest of the 30 s).
 */
export interface RecoveryPolicy {
  readonly policy: "restart" | "shrink" | "spare";
  /** Virtual ms from the failure to its detection (heartbeat or collective timeout). */
  readonly detectMs: number;
  /** Virtual ms to bring the failed actors back and re-form the communicator. */
  readonly restartMs: number;
  /** Attempts of one step after its first: past them the run ends `failed`. */
  readonly maxRetries: number;
  /**
   * policy spare: the standby NPUs, in the order they are used (resolved to names at load: by default
   * every NPU no workload of the run uses); empty for the other policies.
   */
  readonly spares: readonly string[];
  /**
   * Virtual ms to re-form the communicator without restarting anyone: a warm spare swapped in (policy
   * spare) or the failed NPUs left out (policy shrink), and the committed state loaded where it is needed.
   */
  readonly reformMs: number;
}

/**
 * reformMs 5 s (EST): with detectMs a swap or shrink takes 10 s, the "sub-10 s" recovery ReviveMoE
 * reports for NPU failures handled without restarting the job — rebuilding the communication domain,
 * running on redundant or missing experts (hardware.md §7.1, S12; L: numbers from summaries).
 */
export const DEFAULT_RECOVERY: RecoveryPolicy = { policy: "restart", detectMs: 5_000, restartMs: 25_000, maxRetries: 3, spares: [], reformMs: 5_000 };

/** The recovery: block as a scenario declares it (spares by name or count). */
export type RecoveryDecl = Partial<Omit<RecoveryPolicy, "spares">> & { readonly spares?: readonly string[] | number };

/**
 * Counters of the system calls the trainer makes, so that tests and benchmarks
 * can check batching without strace.
 *
 * @module
 */

/** Calls made by the trainer since the last {@link resetTrainerStats}. */
export interface TrainerStats {
  /** `process_vm_readv` calls. */
  readCalls: number;
  /** `process_vm_writev` calls. */
  writeCalls: number;
  /** Freezer ticks run (one batched write each, plus one batched read when a value may move). */
  freezeTicks: number;
}

/**
 * Live counters; read them, do not keep a copy expecting it to update.
 *
 * @example
 * ```ts
 * resetTrainerStats();
 * resolveAll(proc, chains);
 * console.log(trainerStats.readCalls); // depth of the deepest chain, for ≤ 1024 chains
 * ```
 */
export const trainerStats: TrainerStats = { readCalls: 0, writeCalls: 0, freezeTicks: 0 };

/**
 * Sets every counter of {@link trainerStats} to zero.
 *
 * @example
 * ```ts
 * resetTrainerStats();
 * ```
 */
export function resetTrainerStats(): void {
  trainerStats.readCalls = 0;
  trainerStats.writeCalls = 0;
  trainerStats.freezeTicks = 0;
}

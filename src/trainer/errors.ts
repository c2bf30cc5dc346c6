/**
 * The error of a pointer chain that does not lead anywhere.
 *
 * @module
 */

/**
 * Why a link failed:
 * - `null`: the pointer read at `address` is 0;
 * - `unmapped`: `address` cannot be read (`EFAULT`: not mapped, or not readable);
 * - `module`: the chain's base module is not mapped in the process;
 * - `invalid`: the pointer read at `address` is not a user-space address (above 2^53), so it is garbage.
 */
export type PointerChainFailure = "null" | "unmapped" | "module" | "invalid";

/**
 * Thrown by `resolve` (and given per chain by `resolveAll`) when a chain
 * cannot be followed to its end.
 *
 * `step` is the index of the dereference that failed: 0 reads the base, step
 * `i` reads the pointer after `offsets[i - 1]` was added. For a missing module
 * `step` is 0 and `address` is 0 (no address was read).
 *
 * @example
 * ```ts
 * try {
 *   proc.resolve("libgame.so+0x1a2b0 -> 0x10 -> 0x8");
 * } catch (e) {
 *   if (e instanceof PointerChainError && e.reason === "null") console.log(`step ${e.step} read a null pointer at 0x${e.address.toString(16)}`);
 * }
 * ```
 */
export class PointerChainError extends Error {
  override name = "PointerChainError" as const;

  constructor(
    /** Why the link failed. */
    readonly reason: PointerChainFailure,
    /** Index of the dereference that failed (0: the base). */
    readonly step: number,
    /** The address the step tried to dereference (0 for a missing module: none was read). Never `NaN`. */
    readonly address: number,
    /** The chain, as written. */
    readonly chain: string,
    /** The target process. */
    readonly pid: number,
    /** The module name, for `reason === "module"`. */
    readonly moduleName?: string,
  ) {
    // A missing module has no address; a non-number would print as "0xNaN".
    if (!Number.isFinite(address)) address = 0;
    const at = `0x${address.toString(16)}`;
    const why =
      reason === "module"
        ? `module "${moduleName}" is not mapped in pid ${pid}`
        : reason === "null"
          ? `step ${step} read a null pointer at ${at} (pid ${pid})`
          : reason === "invalid"
            ? `step ${step} read a value at ${at} that is not a user-space address (pid ${pid})`
            : `step ${step} could not read the pointer at ${at}: not mapped (EFAULT, pid ${pid})`;
    super(`pointer chain ${chain}: ${why}`);
  }
}

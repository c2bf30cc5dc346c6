/**
 * Linux errno values: one table with the name and a short description of each,
 * as Bun's own fs errors print them ("ENOENT: no such file or directory").
 * The numbers are those of the generic Linux ABI shared by x86-64 and aarch64.
 *
 * @module
 */

/** A row of {@link ERRNO}. */
export interface ErrnoInfo {
  /** Symbolic name, e.g. `"EFAULT"`. */
  readonly code: string;
  /** Short lowercase description, e.g. `"bad address"`. */
  readonly description: string;
}

/**
 * errno number to name and description.
 *
 * @example
 * ```ts
 * ERRNO[14]; // { code: "EFAULT", description: "bad address" }
 * ```
 */
export const ERRNO: Readonly<Record<number, ErrnoInfo>> = Object.freeze({
  1: { code: "EPERM", description: "operation not permitted" },
  2: { code: "ENOENT", description: "no such file or directory" },
  3: { code: "ESRCH", description: "no such process" },
  4: { code: "EINTR", description: "interrupted system call" },
  5: { code: "EIO", description: "input/output error" },
  6: { code: "ENXIO", description: "no such device or address" },
  7: { code: "E2BIG", description: "argument list too long" },
  9: { code: "EBADF", description: "bad file descriptor" },
  11: { code: "EAGAIN", description: "resource temporarily unavailable" },
  12: { code: "ENOMEM", description: "cannot allocate memory" },
  13: { code: "EACCES", description: "permission denied" },
  14: { code: "EFAULT", description: "bad address" },
  16: { code: "EBUSY", description: "device or resource busy" },
  22: { code: "EINVAL", description: "invalid argument" },
  24: { code: "EMFILE", description: "too many open files" },
  28: { code: "ENOSPC", description: "no space left on device" },
  38: { code: "ENOSYS", description: "function not implemented" },
  75: { code: "EOVERFLOW", description: "value too large for defined data type" },
  95: { code: "EOPNOTSUPP", description: "operation not supported" },
});

/**
 * Name and description for an errno value; unknown values get `E<n>`.
 *
 * @example
 * ```ts
 * errnoInfo(3).code; // "ESRCH"
 * ```
 */
export function errnoInfo(errno: number): ErrnoInfo {
  if (typeof errno !== "number") throw new TypeError(`errno must be a number (got ${typeof errno})`);
  return ERRNO[errno] ?? { code: `E${errno}`, description: `unknown error ${errno}` };
}

/**
 * The errno value for a name, or `undefined`.
 *
 * @example
 * ```ts
 * errnoNumber("EPERM"); // 1
 * ```
 */
export function errnoNumber(code: string): number | undefined {
  for (const key in ERRNO) if (ERRNO[+key]!.code === code) return +key;
  return undefined;
}

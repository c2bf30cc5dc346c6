/**
 * The error thrown when the kernel refuses a transfer.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { errnoInfo, errnoNumber } from "./errno.ts";
import { describe } from "./validate.ts";

/** The system calls (and `/proc` accesses) behind a {@link ProcessVmError}. */
export type ProcessVmSyscall =
  | "process_vm_readv"
  | "process_vm_writev"
  | "open"
  | "read"
  | "pread"
  | "pwrite";

/** What is known about a failed call. */
export interface ProcessVmErrorDetails {
  /** errno value of the call (the positive C value; the error exposes it negated, as Bun does). */
  errno: number;
  syscall: ProcessVmSyscall;
  /** Target process. */
  pid: number;
  /** Start of the first range that failed, where known. */
  address?: number;
  /** Length of that range. */
  length?: number;
  /** Extra sentence appended to the message. */
  hint?: string;
  /** Why the process is out of reach, when the pid no longer runs what it ran (see {@link ProcessVmError.reason}). */
  reason?: ProcessGoneReason;
}

/**
 * Why a `Process` no longer reaches the program it was made for:
 * - `"exited"`: the process exited (it may be a zombie not yet reaped);
 * - `"exec"`: the same process runs another program now (it called `execve`), so its memory is a new image;
 * - `"pid-reused"`: the process exited and its pid now belongs to another process.
 *
 * @example
 * ```ts
 * if (error instanceof ProcessVmError && error.reason === "exec") proc = new Process(proc.pid);
 * ```
 */
export type ProcessGoneReason = "exited" | "exec" | "pid-reused";

function ptraceScope(): string {
  try {
    return readFileSync("/proc/sys/kernel/yama/ptrace_scope", "utf8").trim();
  } catch {
    return "";
  }
}

function permissionHint(): string {
  const scope = ptraceScope();
  const yama =
    scope === ""
      ? "Yama is not active on this kernel"
      : `Yama's /proc/sys/kernel/yama/ptrace_scope is ${scope}` +
        (scope === "1" ? " (only descendants, or processes that allowed it with prctl(PR_SET_PTRACER))" : "") +
        (scope === "2" ? " (only with CAP_SYS_PTRACE)" : "") +
        (scope === "3" ? " (no attaching at all)" : "");
  return (
    "Reading or writing another process needs the same permission as ptrace(PTRACE_ATTACH): " +
    "the same uid and gid as the target (which must be dumpable), or CAP_SYS_PTRACE; " +
    `${yama}.`
  );
}

/** Checks the details of a {@link ProcessVmError}, naming what is wrong. */
function checkDetails(details: unknown): asserts details is ProcessVmErrorDetails {
  if (typeof details !== "object" || details === null) throw new TypeError(`details must be an object { errno, syscall, pid } (got ${describe(details)})`);
  const d = details as Record<string, unknown>;
  if (typeof d.errno !== "number" || !Number.isInteger(d.errno)) throw new TypeError(`details.errno must be an integer (got ${describe(d.errno)})`);
  if (typeof d.syscall !== "string") throw new TypeError(`details.syscall must be a string (got ${describe(d.syscall)})`);
  if (typeof d.pid !== "number") throw new TypeError(`details.pid must be a number (got ${describe(d.pid)})`);
  for (const key of ["address", "length"] as const) {
    if (d[key] !== undefined && typeof d[key] !== "number") throw new TypeError(`details.${key} must be a number (got ${describe(d[key])})`);
  }
  if (d.hint !== undefined && typeof d.hint !== "string") throw new TypeError(`details.hint must be a string (got ${describe(d.hint)})`);
}

/**
 * Thrown when `process_vm_readv`/`process_vm_writev` (or the `/proc/PID/mem`
 * fallback) fails without transferring anything. `code` is the errno name, as
 * on Bun's own fs errors.
 *
 * Thrown with:
 * - `EFAULT` when the first remote range is not mapped in the target (or is not
 *   readable / writable there);
 * - `ESRCH` when the process does not exist (or has exited);
 * - `EPERM` when this process may not ptrace the target (and `EACCES` when
 *   `/proc/PID/maps` or `/proc/PID/mem` is refused for the same reason: both
 *   messages explain the rule: uid, CAP_SYS_PTRACE, Yama);
 * - `EINVAL` for non-zero `flags`;
 * - `ENOMEM` when the kernel could not allocate its page table copy.
 *
 * @example
 * ```ts
 * import { Process, ProcessVmError } from "process-vm";
 * try {
 *   Process.self().readU32(0x10);
 * } catch (error) {
 *   if (error instanceof ProcessVmError && error.code === "EFAULT") {
 *     console.log(error.message); // "EFAULT: bad address, process_vm_readv (pid 4242, 0x10+4)"
 *   }
 * }
 * ```
 */
export class ProcessVmError extends Error {
  override name = "ProcessVmError" as const;
  /** errno name: `"EFAULT"`, `"EPERM"`, `"ESRCH"`, `"EINVAL"`, `"ENOMEM"`, … */
  readonly code: string;
  /** errno value, negative as on Bun's and Node's own errors (`-14` for `EFAULT`). */
  readonly errno: number;
  /** The call that failed. */
  readonly syscall: ProcessVmSyscall;
  /** The target process. */
  readonly pid: number;
  /** Start of the first range that failed, where known. */
  readonly address: number | undefined;
  /** Length of the first range that failed, where known. */
  readonly length: number | undefined;
  /**
   * Set (with code `ESRCH`) when a `Process` found that its pid no longer runs
   * the program it was made for, and so refused to write, freeze or watch.
   */
  readonly reason: ProcessGoneReason | undefined;

  constructor(details: ProcessVmErrorDetails) {
    checkDetails(details);
    const { code, description } = errnoInfo(Math.abs(details.errno));
    const where =
      details.address === undefined
        ? `pid ${details.pid}`
        : `pid ${details.pid}, 0x${details.address.toString(16)}${details.length === undefined ? "" : `+${details.length}`}`;
    let hint = details.hint;
    // EACCES comes from /proc/PID/maps or /proc/PID/mem under the same ptrace access check as EPERM.
    if (hint === undefined && (code === "EPERM" || code === "EACCES")) hint = permissionHint();
    if (hint === undefined && code === "ESRCH") hint = "The process does not exist or has exited.";
    super(`${code}: ${description}, ${details.syscall} (${where})${hint ? `. ${hint}` : ""}`);
    this.code = code;
    this.errno = -Math.abs(details.errno);
    this.syscall = details.syscall;
    this.pid = details.pid;
    this.address = details.address;
    this.length = details.length;
    this.reason = details.reason;
  }

  /**
   * Wraps an error thrown by `node:fs` on a `/proc/PID/...` file.
   *
   * @example
   * ```ts
   * try { readFileSync("/proc/1/mem"); } catch (e) { throw ProcessVmError.fromFsError(e, "read", 1); }
   * ```
   */
  static fromFsError(
    error: unknown,
    syscall: ProcessVmSyscall,
    pid: number,
    address?: number,
    length?: number,
  ): ProcessVmError | unknown {
    const code = (error as { code?: unknown })?.code;
    if (typeof code !== "string") return error;
    let errno = errnoNumber(code);
    if (errno === undefined) return error;
    // A vanished /proc/PID directory means the process is gone.
    if (code === "ENOENT") errno = errnoNumber("ESRCH")!;
    return new ProcessVmError({ errno, syscall, pid, address, length });
  }
}

/**
 * Thrown by `Process.module(name)` when no mapped file has that base name.
 *
 * @example
 * ```ts
 * try { proc.module("libgame.so"); } catch (e) { if (e instanceof ModuleNotFoundError) console.log(e.moduleName); }
 * ```
 */
export class ModuleNotFoundError extends Error {
  override name = "ModuleNotFoundError" as const;
  constructor(
    /** The name that was looked up. */
    readonly moduleName: string,
    /** The target process. */
    readonly pid: number,
  ) {
    super(`no module named "${moduleName}" is mapped in pid ${pid}`);
  }
}

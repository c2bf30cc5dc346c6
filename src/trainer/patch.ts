/**
 * Patches: bytes written over code or data, with the original bytes kept so
 * that they can be put back.
 *
 * @module
 */
import type { Process } from "../process.ts";
import { checkOptions, checkProcess, describe, optionalBoolean, toBytes } from "../validate.ts";
import { track, untrack, type Undoable } from "./cleanup.ts";

/** Options of {@link patch}. */
export interface PatchOptions {
  /**
   * Leave the patch in the target when this process ends. By default a patch
   * is restored at exit (normal, `process.exit()`, an uncaught error) and on
   * SIGINT, SIGTERM and SIGHUP (see {@link restoreAll}).
   */
  keep?: boolean;
}

/** A patch in place. */
export interface Patch extends Disposable {
  /** Where the patch starts. */
  readonly address: number;
  /** The bytes written. */
  readonly bytes: Uint8Array;
  /** The bytes that were there before. */
  readonly original: Uint8Array;
  /** `true` until restored. */
  readonly active: boolean;
  /** `true` for a patch made with `{ keep: true }` (not restored at exit). */
  readonly kept: boolean;
  /**
   * Writes the original bytes back where the target still holds the patch's
   * bytes; a byte the target has rewritten since is left as the target wrote
   * it. Returns `true` when it restored; `false` when already restored or when
   * the target has exited (nothing to restore).
   *
   * @throws {ProcessVmError} when the target lives but the write fails (the range was unmapped).
   */
  restore(): boolean;
}

/** x86-64 `nop`. */
const NOP_X64 = 0x90;
/** aarch64 `nop` (`d503201f`), little-endian. */
const NOP_ARM64 = [0x1f, 0x20, 0x03, 0xd5];

/**
 * Writes `bytes` at `address` and keeps the bytes that were there. Read-only
 * code is written through the core's forced write (`/proc/PID/mem`).
 *
 * The patch is restored when this process ends (exit, uncaught error,
 * SIGINT, SIGTERM, SIGHUP), unless made with `{ keep: true }`: see
 * {@link restoreAll}. Only the bytes still holding the patch are restored.
 *
 * @throws {ProcessVmError} when the range cannot be read or written.
 * @example
 * ```ts
 * // `sub dword [rbx+0x30], eax` -> `add dword [rbx+0x30], eax`
 * const p = patch(proc, code + 0x1234, [0x01, 0x43, 0x30]);
 * // ...
 * p.restore();
 * ```
 */
export function patch(
  process: Process,
  address: number | bigint,
  bytes: ArrayBufferView | ArrayBuffer | readonly number[],
  options: PatchOptions = {},
): Patch {
  checkProcess(process);
  if (typeof address !== "number" && typeof address !== "bigint") throw new TypeError(`address must be a number or a bigint (got ${describe(address)})`);
  const kept = optionalBoolean(checkOptions<PatchOptions>(options).keep, "options.keep") === true;
  const a = Number(address);
  if (!Number.isSafeInteger(a) || a <= 0) throw new RangeError(`address must be a positive safe integer (got ${describe(address)})`);
  const data = Array.isArray(bytes)
    ? Uint8Array.from(bytes as readonly number[], (b, i) => {
        if (!Number.isInteger(b) || b < 0 || b > 255) throw new RangeError(`bytes[${i}] must be a byte (got ${describe(b)})`);
        return b;
      })
    : toBytes(bytes as ArrayBufferView | ArrayBuffer, "bytes").slice();
  if (data.length === 0) throw new RangeError("bytes must not be empty");
  const original = process.read(a, data.length);
  process.write(a, data, { force: true });
  let active = true;
  const undo: Undoable = {
    undo: () => void handle.restore(),
    describe: () => `patch of ${data.length} byte(s) at 0x${a.toString(16)} in pid ${process.pid}`,
  };
  const handle: Patch = {
    address: a,
    bytes: data,
    original,
    kept,
    get active() {
      return active;
    },
    restore(): boolean {
      if (!active) return false;
      active = false;
      if (!kept) untrack(undo);
      try {
        restoreWhereUnchanged(process, a, data, original);
        return true;
      } catch (error) {
        if (!isAlive(process.pid)) return false;
        active = true;
        if (!kept) track(undo);
        throw error;
      }
    },
    [Symbol.dispose]() {
      handle.restore();
    },
  };
  if (!kept) track(undo);
  return handle;
}

/**
 * Writes `original` back over the bytes that still equal `written`, in runs,
 * so that what the target changed since the patch stays. When the range
 * cannot be read (execute-only code), it is restored whole.
 */
function restoreWhereUnchanged(process: Process, a: number, written: Uint8Array, original: Uint8Array): void {
  // The pid must still run the program that was patched: the bytes of another image are not ours to compare.
  process.verify();
  let now: Uint8Array;
  try {
    now = process.read(a, written.length);
  } catch (error) {
    if ((error as { code?: string }).code !== "EFAULT") throw error;
    process.write(a, original, { force: true });
    return;
  }
  let i = 0;
  const n = written.length;
  while (i < n) {
    if (now[i] !== written[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && now[j] === written[j]) j++;
    process.write(a + i, original.subarray(i, j), { force: true });
    i = j;
  }
}

function isAlive(pid: number): boolean {
  try {
    globalThis.process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

/** Options of {@link nop}. */
export interface NopOptions extends PatchOptions {
  /** Instruction set of the target (default: this machine's, `process.arch`). */
  arch?: "x64" | "arm64";
}

/**
 * Overwrites `length` bytes of code with no-ops: `0x90` on x86-64; on aarch64
 * the 4-byte `nop` `d503201f`, so `length` must be a multiple of 4 there.
 *
 * @throws {RangeError} for an aarch64 length that is not a multiple of 4.
 * @example
 * ```ts
 * const p = nop(proc, code + 0x1234, 3); // remove a 3-byte `sub`
 * p.restore();
 * ```
 */
export function nop(process: Process, address: number | bigint, length: number, options: NopOptions = {}): Patch {
  checkProcess(process);
  if (typeof length !== "number") throw new TypeError(`length must be a number (got ${describe(length)})`);
  if (!Number.isSafeInteger(length) || length <= 0) throw new RangeError(`length must be a positive integer (got ${describe(length)})`);
  const arch = options?.arch ?? (globalThis.process.arch === "arm64" ? "arm64" : "x64");
  if (arch !== "x64" && arch !== "arm64") throw new RangeError(`options.arch must be "x64" or "arm64" (got ${describe(arch)})`);
  const bytes = new Uint8Array(length);
  if (arch === "arm64") {
    if (length % 4 !== 0) throw new RangeError(`aarch64 instructions are 4 bytes: length ${length} is not a multiple of 4`);
    for (let i = 0; i < length; i++) bytes[i] = NOP_ARM64[i % 4]!;
  } else {
    bytes.fill(NOP_X64);
  }
  return patch(process, address, bytes, options);
}

/**
 * `readv` / `writev`: the system calls with every check done first, `IOV_MAX`
 * splitting, and errno turned into {@link ProcessVmError}.
 *
 * @module
 */
import { ProcessVmError } from "./errors.ts";
import { IOV_MAX, IovecTable } from "./ffi/iovec.ts";
import { addressOfView, lastErrno, libc } from "./ffi/libc.ts";
import { checkAddress, checkFlags, checkLength, checkPid, checkView, describe, SSIZE_LIMIT, viewLength, type ViewParts } from "./validate.ts";

/** A range of the target's address space. */
export interface RemoteRange {
  /** First byte; a `number` below 2^53 or a `bigint` below 2^64. */
  address: number | bigint;
  /** Number of bytes. */
  length: number;
}

/** The two system calls. */
export type TransferSyscall = "process_vm_readv" | "process_vm_writev";

type NativeTransfer = (
  pid: number,
  local: number,
  liovcnt: number,
  remote: number,
  riovcnt: number,
  flags: number | bigint,
) => number;

const NATIVE: Record<TransferSyscall, NativeTransfer> = {
  process_vm_readv: libc.process_vm_readv as unknown as NativeTransfer,
  process_vm_writev: libc.process_vm_writev as unknown as NativeTransfer,
};

/** The native function for a syscall name (for callers that keep it in a field). */
export function nativeTransfer(syscall: TransferSyscall): NativeTransfer {
  return NATIVE[syscall];
}

/**
 * One raw call over prepared tables. Returns the byte count, or `-errno` when
 * the call returned -1; errno is read at once, and only then.
 */
export function rawTransfer(
  fn: NativeTransfer,
  pid: number,
  local: number,
  liovcnt: number,
  remote: number,
  riovcnt: number,
  flags: number | bigint,
): number {
  const result = fn(pid, local, liovcnt, remote, riovcnt, flags);
  return result === -1 ? -lastErrno() : result;
}

// Scratch tables for the generic entry points; the calls are synchronous, so one pair per thread suffices.
const localTable = new IovecTable(IOV_MAX);
const remoteTable = new IovecTable(IOV_MAX);

/**
 * Reads from another process into local buffers: `process_vm_readv(2)`.
 *
 * `local` buffers are filled in array order from the `remote` ranges taken in
 * array order; the lengths on the two sides need not match (one local buffer
 * may gather several remote ranges, or one remote range may scatter into
 * several buffers). More than 1024 (`IOV_MAX`) entries on either side are split
 * into successive calls that stop at the first short one, so the result is what
 * one unlimited call would return.
 *
 * Permission is that of `ptrace(PTRACE_ATTACH)`: the same uid and gid as the
 * target, or `CAP_SYS_PTRACE`, subject to Yama's `ptrace_scope`.
 *
 * @param pid Target process id.
 * @param local Buffers to fill: one view or an array of views.
 * @param remote Ranges to read: one range or an array of ranges.
 * @param flags Passed to the kernel unchanged (it must be 0 today; others give `EINVAL`).
 * @returns Bytes read. A transfer that stops part-way (a range runs into an
 *   unmapped page) returns the partial count; it throws only when nothing was read.
 * @throws {ProcessVmError} `EFAULT`, `ESRCH`, `EPERM`, `EINVAL`, `ENOMEM` when nothing was transferred.
 * @throws {TypeError | RangeError} on a bad argument, before any transfer.
 *
 * @example
 * ```ts
 * import { readv } from "process-vm";
 * const head = new Uint8Array(new ArrayBuffer(10));
 * const tail = new Uint8Array(new ArrayBuffer(10));
 * const n = readv(pid, [head, tail], { address: 0x7f0000001000, length: 20 }); // 20
 * ```
 */
export function readv(
  pid: number,
  local: ArrayBufferView | readonly ArrayBufferView[],
  remote: RemoteRange | readonly RemoteRange[],
  flags: number | bigint = 0,
): number {
  return transferv("process_vm_readv", pid, local, remote, flags);
}

/**
 * Writes local buffers into another process: `process_vm_writev(2)`. The
 * mirror of {@link readv}: the same order, splitting, partial counts and errors.
 * Read-only pages of the target (code, `.rodata`) give `EFAULT`; use
 * `Process.write(address, data, { force: true })` for those.
 *
 * @returns Bytes written (partial counts included); throws only when nothing was written.
 *
 * @example
 * ```ts
 * import { writev } from "process-vm";
 * const value = new Uint8Array(new Uint32Array([999]).buffer);
 * writev(pid, value, { address: healthAddress, length: 4 }); // 4
 * ```
 */
export function writev(
  pid: number,
  local: ArrayBufferView | readonly ArrayBufferView[],
  remote: RemoteRange | readonly RemoteRange[],
  flags: number | bigint = 0,
): number {
  return transferv("process_vm_writev", pid, local, remote, flags);
}

function transferv(
  syscall: TransferSyscall,
  pid: number,
  local: ArrayBufferView | readonly ArrayBufferView[],
  remote: RemoteRange | readonly RemoteRange[],
  flags: unknown,
): number {
  checkPid(pid);
  const f = checkFlags(flags);
  const localList = Array.isArray(local);
  const remoteList = Array.isArray(remote);
  // First everything that can run the caller's code (array elements, range fields, which may be getters)…
  const locals: unknown[] = localList ? Array.from(local as readonly unknown[]) : [local];
  const remotes: readonly unknown[] = remoteList ? (remote as readonly unknown[]) : [remote];
  const rBase = new Array<number | bigint>(remotes.length);
  const rLen = new Array<number>(remotes.length);
  let rSum = 0;
  for (let i = 0; i < remotes.length; i++) {
    const name = remoteList ? `remote[${i}]` : "remote";
    const range = remotes[i];
    if (typeof range !== "object" || range === null) {
      throw new TypeError(`${name} must be an object { address, length } (got ${describe(range)})`);
    }
    rBase[i] = checkAddress((range as RemoteRange).address, `${name}.address`);
    rLen[i] = checkLength((range as RemoteRange).length, `${name}.length`);
    rSum += rLen[i]!;
  }
  if (rSum >= SSIZE_LIMIT) throw new RangeError("the sum of remote lengths overflows ssize_t");
  // …then the local views, measured once through the engine's own getters: no code of the caller runs
  // from here to the call, so a getter cannot shrink or detach a buffer after it was measured.
  const lBase = new Array<number>(locals.length);
  const lLen = new Array<number>(locals.length);
  const lParts = new Array<ViewParts>(locals.length);
  let lSum = 0;
  for (let i = 0; i < locals.length; i++) {
    const parts = checkView(locals[i], localList ? `local[${i}]` : "local");
    lParts[i] = parts;
    lLen[i] = parts.byteLength;
    lSum += parts.byteLength;
  }
  if (lSum >= SSIZE_LIMIT) throw new RangeError("the sum of local lengths overflows ssize_t");
  for (let i = 0; i < locals.length; i++) {
    lBase[i] = addressOfView(lParts[i]!);
    // The last look before the kernel's: the view still has the length that was measured.
    if (viewLength(locals[i]) !== lLen[i]) throw new RangeError(`${localList ? `local[${i}]` : "local"} changed length while it was checked`);
  }

  const fn = NATIVE[syscall];
  if (locals.length <= IOV_MAX && remotes.length <= IOV_MAX) {
    for (let i = 0; i < locals.length; i++) localTable.set(i, lBase[i]!, lLen[i]!);
    for (let i = 0; i < remotes.length; i++) remoteTable.setAny(i, rBase[i]!, rLen[i]!);
    const result = rawTransfer(fn, pid, localTable.address, locals.length, remoteTable.address, remotes.length, f);
    if (result < 0) throw failure(syscall, pid, -result, rBase, rLen, 0, 0);
    return result;
  }
  return splitTransfer(syscall, fn, pid, lBase, lLen, rBase, rLen, f);
}

/** The first non-empty remote range from entry `from` (offset `offset` into it), for the error message. */
function failure(
  syscall: TransferSyscall,
  pid: number,
  errno: number,
  rBase: readonly (number | bigint)[],
  rLen: readonly number[],
  from: number,
  offset: number,
): ProcessVmError {
  let i = from;
  while (i < rLen.length && rLen[i]! - (i === from ? offset : 0) === 0) i++;
  if (i >= rLen.length) return new ProcessVmError({ errno, syscall, pid });
  const skip = i === from ? offset : 0;
  return new ProcessVmError({
    errno,
    syscall,
    pid,
    address: Number(rBase[i]!) + skip,
    length: rLen[i]! - skip,
  });
}

/**
 * More than IOV_MAX entries on a side: successive calls, each covering the same
 * number of bytes on both sides (so that the next call starts where this one
 * ended), skipping empty entries, stopping at the first short call.
 */
function splitTransfer(
  syscall: TransferSyscall,
  fn: NativeTransfer,
  pid: number,
  lBase: readonly number[],
  lLen: readonly number[],
  rBase: readonly (number | bigint)[],
  rLen: readonly number[],
  flags: number | bigint,
): number {
  const l: Cursor = { i: 0, offset: 0 };
  const r: Cursor = { i: 0, offset: 0 };
  let total = 0;
  for (;;) {
    const n = Math.min(span(lLen, l.i, l.offset), span(rLen, r.i, r.offset));
    if (n === 0) {
      // Nothing (more) to move. The first time, one empty call still lets the kernel check what it checks
      // first (flags), as one unlimited call would have.
      if (total === 0) {
        const result = rawTransfer(fn, pid, localTable.address, 0, remoteTable.address, 0, flags);
        if (result < 0) throw failure(syscall, pid, -result, rBase, rLen, 0, 0);
      }
      return total;
    }
    const errorFrom = r.i;
    const errorOffset = r.offset;
    const lc = fill(localTable, lBase, lLen, l, n);
    const rc = fill(remoteTable, rBase, rLen, r, n);
    const result = rawTransfer(fn, pid, localTable.address, lc, remoteTable.address, rc, flags);
    if (result < 0) {
      if (total === 0) throw failure(syscall, pid, -result, rBase, rLen, errorFrom, errorOffset);
      return total;
    }
    total += result;
    if (result < n) return total;
  }
}

/** A position in a list of entries: entry `i`, `offset` bytes into it. */
interface Cursor {
  i: number;
  offset: number;
}

/** Fills `table` with the next `n` bytes' worth of non-empty entries from `at`, advancing it; returns the entry count. */
function fill(table: IovecTable, bases: readonly (number | bigint)[], lengths: readonly number[], at: Cursor, n: number): number {
  let count = 0;
  while (n > 0) {
    const avail = lengths[at.i]! - at.offset;
    if (avail > 0) {
      const take = Math.min(avail, n);
      const base = bases[at.i]!;
      table.setAny(count++, typeof base === "number" ? base + at.offset : base + BigInt(at.offset), take);
      n -= take;
      at.offset += take;
      if (at.offset < lengths[at.i]!) continue;
    }
    at.i++;
    at.offset = 0;
  }
  return count;
}

/** Bytes in the next (at most IOV_MAX) non-empty entries from entry `i`, offset `off`. */
function span(lengths: readonly number[], i: number, off: number): number {
  let bytes = 0;
  let entries = 0;
  for (; i < lengths.length && entries < IOV_MAX; i++) {
    const len = lengths[i]! - off;
    off = 0;
    if (len > 0) {
      bytes += len;
      entries++;
    }
  }
  return bytes;
}

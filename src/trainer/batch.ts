/**
 * One batched transfer over prepared iovec tables, entry i of the local table
 * paired with entry i of the remote one. An entry the kernel cannot access
 * stops its call (it returns a partial count); the batch then goes on with the
 * next entry, so one dangling pointer costs one extra call, not the batch.
 *
 * @module
 */
import { ProcessVmError } from "../errors.ts";
import { IOV_MAX, type IovecTable } from "../ffi/iovec.ts";
import { nativeTransfer, rawTransfer, type TransferSyscall } from "../syscall.ts";
import { trainerStats } from "./stats.ts";

const EFAULT = 14;
const READ = nativeTransfer("process_vm_readv");
const WRITE = nativeTransfer("process_vm_writev");

/**
 * Transfers entries `0 .. count` (≤ IOV_MAX per call). Sets `ok[i]` to 1 for
 * each entry transferred whole, 0 otherwise; returns how many were.
 *
 * @throws {ProcessVmError} on any error but `EFAULT` (`ESRCH`: the target is gone; `EPERM`).
 */
export function transferBatch(
  syscall: TransferSyscall,
  pid: number,
  local: IovecTable,
  remote: IovecTable,
  count: number,
  ok: Uint8Array,
): number {
  const fn = syscall === "process_vm_readv" ? READ : WRITE;
  let done = 0;
  let s = 0;
  while (s < count) {
    const c = Math.min(IOV_MAX, count - s);
    if (syscall === "process_vm_readv") trainerStats.readCalls++;
    else trainerStats.writeCalls++;
    const r = rawTransfer(fn, pid, local.entry(s), c, remote.entry(s), c, 0);
    if (r < 0) {
      if (-r !== EFAULT) {
        throw new ProcessVmError({ errno: -r, syscall, pid, address: remote.base(s), length: remote.length(s) });
      }
      ok[s] = 0;
      s++;
      continue;
    }
    // Entries covered whole by r bytes succeeded; the next one (if any in this call) failed.
    let left = r;
    let i = s;
    const end = s + c;
    while (i < end) {
      const len = remote.length(i);
      if (left < len) break;
      left -= len;
      ok[i] = 1;
      done++;
      i++;
    }
    if (i < end) {
      ok[i] = 0;
      i++;
    }
    s = i;
  }
  return done;
}

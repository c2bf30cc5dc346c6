/**
 * `Process`: one target, with typed reads and writes, strings, forced writes
 * and its memory map.
 *
 * @module
 */
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { ModuleNotFoundError, ProcessVmError, type ProcessGoneReason, type ProcessVmSyscall } from "./errors.ts";
import { IovecTable } from "./ffi/iovec.ts";
import { addressOf, addressOfView, lastErrno, libc, PAGE_SIZE, pidfdAlive, pidfdOpen, pinnedBuffer, preadAt } from "./ffi/libc.ts";
import { findModule, modules, parseMaps, type Module, type Region } from "./maps.ts";
import { guardWriter, RemoteReader, RemoteWriter, type RemoteReaderOptions } from "./reader.ts";
import { nativeTransfer, type RemoteRange } from "./syscall.ts";
import {
  findPattern,
  scan,
  type CompiledPattern,
  type FirstQuery,
  type PatternScanOptions,
  type Scan,
  type ScanOptions,
  type ScanValueType,
} from "./scan/index.ts";
import * as trainer from "./trainer/index.ts";
import type {
  AddressLike,
  ChainLike,
  FreezeHandle,
  FreezeOptions,
  NopOptions,
  Patch,
  PatchOptions,
  PointerPaths,
  PointerScanOptions,
  ResolvedChains,
  Watcher,
  WatchChangeOf,
  WatchOptions,
  WatchTarget,
} from "./trainer/index.ts";
import { detectPointerSize } from "./trainer/pointer-size.ts";
import type { ValueType } from "./types.ts";
import type { ValueInput } from "./value-map.ts";
import { checkAddress, checkLength, checkPid, checkView, describe, registerProcess, toBytes } from "./validate.ts";

/** Options of {@link Process.write}. */
export interface WriteOptions {
  /**
   * When `process_vm_writev` cannot write (read-only pages such as code or
   * `.rodata` give `EFAULT`), write through `/proc/PID/mem` instead, which the
   * kernel lets a ptrace-capable writer use on read-only private mappings
   * (copy-on-write, as a debugger sets breakpoints).
   */
  force?: boolean;
}

/** Options of the {@link Process} constructor. */
export interface ProcessOptions {
  /**
   * The target's pointer size in bytes, used by `readPointer`, pointer chains,
   * the pointer scanner and tables. Default: detected from the main image on
   * first use (the PE machine type of a Wine process's `.exe`, else the ELF
   * class of `/proc/PID/exe`): 4 for i386 and 32-bit Windows programs.
   */
  pointerSize?: 4 | 8;
}

const TWO_32 = 4294967296;
const SCRATCH = 16;
const utf8 = new TextDecoder("utf-8");
const utf16 = new TextDecoder("utf-16le");
const encoder = new TextEncoder();

/** A zeroed buffer of `length` bytes, with a RangeError naming the argument when it cannot be had. */
function allocate(length: number, name: string): Uint8Array {
  checkLength(length, name);
  try {
    return new Uint8Array(new ArrayBuffer(length));
  } catch {
    throw new RangeError(`${name} ${length} is too large to allocate`);
  }
}

/** Address check with a fast path for the common case: a safe non-negative integer number. */
function addr(address: number | bigint, name = "address"): number | bigint {
  if (typeof address === "number" && address >= 0 && address <= Number.MAX_SAFE_INTEGER && address % 1 === 0) return address;
  return checkAddress(address, name);
}

function intRange(value: number, min: number, max: number, type: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`value must be an integer from ${min} to ${max} for ${type} (got ${describe(value)})`);
  }
  return value;
}

function bigRange(value: bigint | number, signed: boolean): bigint {
  const v = typeof value === "number" ? (Number.isSafeInteger(value) ? BigInt(value) : NaN) : value;
  if (typeof v !== "bigint") throw new RangeError(`value must be a safe integer or a bigint (got ${describe(value)})`);
  const min = signed ? -(1n << 63n) : 0n;
  const max = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
  if (v < min || v > max) throw new RangeError(`value ${v} does not fit ${signed ? "i64" : "u64"}`);
  return v;
}

/** `/proc/PID/mem` descriptors of identities, closed when their `Process` is collected without `close()`. */
const identityFds = new FinalizationRegistry<{ fd: number; pidfd: number }>((cell) => {
  for (const fd of [cell.fd, cell.pidfd]) {
    if (fd < 0) continue;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
});

/** Field 22 of `/proc/PID/stat` (start time in clock ticks since boot), or -1 when it cannot be read. */
function startTime(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // comm (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const value = Number(rest[22 - 3]);
    return Number.isFinite(value) ? value : -1;
  } catch {
    return -1;
  }
}

/**
 * One target process. Reads and writes go through `process_vm_readv` /
 * `process_vm_writev`; typed reads reuse one scratch buffer and iovec pair, so
 * they allocate nothing (but the bigint of a 64-bit read).
 *
 * Every read and write takes a pointer chain wherever it takes an address
 * (`"libgame.so+0x1a2b0 -> 0x10"`, a `PointerChain`, `{ base, offsets }`): it
 * is followed at each call, and a chain that does not resolve throws its
 * `PointerChainError`.
 *
 * @example
 * ```ts
 * import { Process } from "process-vm";
 * const [game] = Process.find("game");
 * const hp = game.readI32(0x5555_5555_8010);
 * game.writeI32(0x5555_5555_8010, hp + 100);
 * game.writeI32("libgame.so+0x1a2b0 -> 0x10", 999); // followed now
 * console.log(game.module("libc.so.6").base.toString(16));
 * ```
 */
export class Process {
  /** The target's process id. */
  readonly pid: number;
  readonly #scratch = pinnedBuffer(SCRATCH);
  readonly #view = new DataView(this.#scratch);
  readonly #remote = new IovecTable(1);
  /** The typed-access pair: entry 0 local (the scratch buffer), entry 1 remote, written word by word. */
  readonly #pair = new IovecTable(2);
  readonly #words = new Uint32Array(this.#pair.buffer);
  readonly #pairAddress = this.#pair.address;
  readonly #viewLocal = new IovecTable(1);
  readonly #read = nativeTransfer("process_vm_readv");
  readonly #write = nativeTransfer("process_vm_writev");
  #memFd = -1;
  /** 4 or 8; 0 until detected. */
  #pointerSize: 0 | 4 | 8 = 0;
  /** Chains given as text to reads and writes, parsed once (their module bases looked up once). */
  #chainCache = new Map<string, trainer.PointerChain>();
  #chainObjects = new WeakMap<object, trainer.PointerChain>();
  /** `/proc/PID/mem` opened when this object was made: it reads EOF once that process has exec'd or exited. */
  #identityFd = -1;
  /** Start time of the process (field 22 of `/proc/PID/stat`) when this object was made; -1 when unknown. */
  readonly #startTime: number;
  /** A pidfd of the process when this object was made: tells a reused pid from an exec. */
  #pidfd = -1;
  /** Set once the pid was found to run something else: every later write, freeze or watch throws it. */
  #gone: ProcessVmError | null = null;
  readonly #probeAddress = addressOf(this.#scratch, 8);
  readonly #fdCell: { fd: number; pidfd: number };
  /** Whether the target is this process (no identity to lose while we run). */
  readonly #self: boolean;

  /**
   * @param pid The target's process id: a positive 32-bit integer. The
   *   process is not checked here (the first read tells), but its identity is
   *   recorded: `/proc/PID/mem` is opened (it reads EOF once the process calls
   *   `exec` or exits), a pidfd taken (it tells a reused pid from an exec) and
   *   the start time noted, so that writes, freezes and watches refuse to go on
   *   once the pid runs another program (see {@link verify}). {@link close}
   *   releases the descriptors.
   * @param options `pointerSize` (4 or 8) to override the detected one.
   */
  constructor(pid: number, options?: ProcessOptions) {
    this.pid = checkPid(pid);
    registerProcess(this);
    this.#self = this.pid === process.pid;
    this.#pair.set(0, addressOf(this.#scratch), SCRATCH);
    const size = options?.pointerSize;
    if (size !== undefined) {
      if (size !== 4 && size !== 8) throw new RangeError(`pointerSize must be 4 or 8 (got ${String(size)})`);
      this.#pointerSize = size;
    }
    this.#startTime = this.#self ? -1 : startTime(this.pid);
    if (this.#self) {
      this.#fdCell = { fd: -1, pidfd: -1 };
      return;
    }
    try {
      this.#identityFd = openSync(`/proc/${this.pid}/mem`, "r");
    } catch {
      // Not ours to open (or gone): the start time alone tells a reused pid, not an exec.
    }
    const pidfd = pidfdOpen(this.pid);
    this.#pidfd = pidfd >= 0 ? pidfd : -1;
    this.#fdCell = { fd: this.#identityFd, pidfd: this.#pidfd };
    if (this.#identityFd >= 0 || this.#pidfd >= 0) identityFds.register(this, this.#fdCell, this);
  }

  /**
   * Checks that the pid still runs the program this object was made for: the
   * same process, and no `exec` since. Cheap (one `pread` of one byte on the
   * `/proc/PID/mem` descriptor held since construction: about 0.6 µs), and
   * done by every write, every freeze and watch tick, and patch restores.
   *
   * Without permission to open `/proc/PID/mem` at construction, a pidfd (Linux
   * 5.3+) or else the start time is checked: a reused pid is noticed, an `exec` is not.
   *
   * @param syscall The call named in the error (the caller's: a write by default).
   * @throws {ProcessVmError} code `ESRCH`, with `reason` `"exec"` (the process
   *   runs another program now), `"pid-reused"` or `"exited"`.
   * @example
   * ```ts
   * try { proc.verify(); } catch (e) { if (e instanceof ProcessVmError && e.reason === "exec") console.log("the game restarted itself"); }
   * ```
   */
  verify(syscall: ProcessVmSyscall = "process_vm_writev"): void {
    if (this.#self) return; // this process, which is running this very code: it has not exec'd
    if (this.#gone) throw this.#gone;
    const fd = this.#identityFd;
    if (fd >= 0) {
      // Address 0 is never mapped: a live image answers EIO; a vanished one (exec, exit) reads EOF.
      const r = preadAt(fd, this.#probeAddress, 1, 0);
      if (r !== 0) return;
    } else if (this.#pidfd >= 0) {
      // No permission to open /proc/PID/mem: the pidfd still tells an exit or a reused pid (not an exec).
      if (pidfdAlive(this.#pidfd) !== false) return;
    } else {
      if (this.#startTime < 0) return;
      const now = startTime(this.pid);
      if (now === this.#startTime) return;
    }
    throw this.#lost(syscall);
  }

  /**
   * Checks that the target can be read at all, the way every raw read would
   * find out: one `process_vm_readv` of one byte at address 0 (never mapped),
   * which the kernel answers with `EFAULT` for a live process we may read,
   * `ESRCH` for one that is gone (a zombie, exited but not reaped, included)
   * and `EPERM` without permission. `maps()`, and so every scan, pattern scan,
   * pointer scan and module lookup, starts with it.
   *
   * @throws {ProcessVmError} `ESRCH` or `EPERM` (with the permission rule that applies), as a raw read would.
   * @example
   * ```ts
   * proc.probe(); // throws for a zombie instead of scanning an empty map
   * ```
   */
  probe(): void {
    const errno = this.#probeErrno();
    if (errno !== 0) throw new ProcessVmError({ errno, syscall: "process_vm_readv", pid: this.pid });
  }

  /** One byte at address 0 through `process_vm_readv`: 0 when the target is there to read (EFAULT), else the errno. */
  #probeErrno(): number {
    const w = this.#words;
    w[4] = 0;
    w[5] = 0;
    w[2] = 1;
    w[6] = 1;
    const result = this.#read(this.pid, this.#pairAddress, 1, this.#pairAddress + 16, 1, 0);
    if (result !== -1) return 0;
    const errno = lastErrno();
    return errno === 14 ? 0 : errno;
  }

  /** The identity is lost: finds out why, remembers it, and returns the error. */
  #lost(syscall: ProcessVmSyscall): ProcessVmError {
    // ESRCH says the process is gone (a zombie too); anything else that something lives at the pid.
    const errno = this.#probeErrno();
    let reason: ProcessGoneReason;
    const alive = this.#pidfd >= 0 ? pidfdAlive(this.#pidfd) : null;
    if (errno === 3) reason = "exited";
    else if (alive !== null) reason = alive ? "exec" : "pid-reused";
    else {
      // No pidfd: start times tell a reused pid, unless both processes started in the same clock tick.
      const now = startTime(this.pid);
      reason = now < 0 ? "exited" : this.#startTime >= 0 && now !== this.#startTime ? "pid-reused" : "exec";
    }
    const hint =
      reason === "exec"
        ? `pid ${this.pid} runs another program now (it called exec after this Process was made); nothing was done`
        : reason === "pid-reused"
          ? `the process exited and pid ${this.pid} now belongs to another process; nothing was done`
          : `the process has exited; nothing was done`;
    const error = new ProcessVmError({ errno: 3, syscall, pid: this.pid, hint, reason });
    // An exit is final too: a later process with this pid is not this one.
    this.#gone = error;
    this.#closeIdentity();
    return error;
  }

  #closeIdentity(): void {
    identityFds.unregister(this);
    for (const fd of [this.#identityFd, this.#pidfd]) {
      if (fd < 0) continue;
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.#identityFd = -1;
    this.#pidfd = -1;
    this.#fdCell.fd = -1;
    this.#fdCell.pidfd = -1;
  }

  /**
   * The target's pointer size in bytes: 8, or 4 for a 32-bit program (an i386
   * Linux game, or a 32-bit Windows game under Wine). Given to the
   * constructor, or detected on first use from the main image (see
   * {@link ProcessOptions.pointerSize}); 8 when the image cannot be read.
   *
   * @example
   * ```ts
   * const game = new Process(pid);
   * game.pointerSize; // 4 for a 32-bit game
   * const forced = new Process(pid, { pointerSize: 4 });
   * ```
   */
  get pointerSize(): 4 | 8 {
    return this.#pointerSize || this.#detectPointerSize();
  }

  #detectPointerSize(): 4 | 8 {
    let regions: Region[] | null = null;
    try {
      regions = this.maps();
    } catch {
      regions = null;
    }
    this.#pointerSize = detectPointerSize(this.pid, regions) ?? 8;
    return this.#pointerSize;
  }

  /**
   * This process (reads and writes of our own memory go through the kernel too).
   *
   * @example
   * ```ts
   * const me = Process.self();
   * ```
   */
  static self(): Process {
    return new Process(libc.getpid());
  }

  /**
   * Every other process whose name is `name`: its `comm` (the kernel's name,
   * cut to 15 characters, so longer names match through `argv[0]`), the base
   * name of its `argv[0]`, or, for an interpreter (bun, node, deno, python,
   * perl, ruby, a shell, java), the base name of the script it runs
   * (`argv[1]`). Sorted by pid; empty when none. The calling process is left
   * out, and processes that vanish while looking are skipped. Each `Process`
   * holds two descriptors (its identity) until {@link close} or collection:
   * close the ones you do not keep.
   *
   * @example
   * ```ts
   * const [game, ...others] = Process.find("supertux2");
   * for (const p of others) p.close();
   * ```
   */
  static find(name: string): Process[] {
    if (typeof name !== "string" || name === "") throw new TypeError("name must be a non-empty string");
    const base = (s: string | undefined) => (s ? s.slice(s.lastIndexOf("/") + 1) : "");
    const interpreter = /^(bun|bun\.exe|node|nodejs|deno|python[\d.]*|perl|ruby|sh|bash|dash|zsh|java)$/;
    const found: number[] = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        const comm = readFileSync(`/proc/${entry}/comm`, "utf8").replace(/\n$/, "");
        const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
        const script = interpreter.test(base(argv[0])) ? base(argv[1]) : "";
        if (comm === name || base(argv[0]) === name || script === name) found.push(Number(entry));
      } catch {
        // gone, or not ours to look at
      }
    }
    return found.sort((a, b) => a - b).map((pid) => new Process(pid));
  }

  // ---- reads ---------------------------------------------------------------

  /**
   * The address to use: a checked address, or where a pointer chain leads now
   * (followed at every call).
   *
   * @throws {PointerChainError} when the chain does not resolve.
   */
  #at(address: AddressLike): number | bigint {
    if (!trainer.isChainLike(address)) return addr(address as number | bigint);
    let chain: trainer.PointerChain | undefined;
    if (address instanceof trainer.PointerChain && address.process.pid === this.pid) chain = address;
    else if (typeof address === "string") {
      chain = this.#chainCache.get(address);
      if (chain === undefined) {
        if (this.#chainCache.size >= 256) this.#chainCache.clear();
        chain = new trainer.PointerChain(this, address);
        this.#chainCache.set(address, chain);
      }
    } else {
      chain = this.#chainObjects.get(address);
      if (chain === undefined) {
        chain = new trainer.PointerChain(this, address);
        this.#chainObjects.set(address, chain);
      }
    }
    const a = chain.tryResolve();
    if (a !== null) return a;
    const error = chain.error()!;
    chain.refresh(); // a module that was missing or moved is looked up again next time
    throw error;
  }

  /** Points the typed-access pair at `n` bytes at `address`; returns the checked address. */
  #aim(address: AddressLike, n: number): number | bigint {
    const w = this.#words;
    if (typeof address === "number" && address >= 0 && address <= Number.MAX_SAFE_INTEGER && Math.trunc(address) === address) {
      w[4] = address >>> 0;
      w[5] = (address / TWO_32) >>> 0;
    } else {
      address = this.#at(address);
      this.#pair.setAny(1, address, n);
    }
    w[2] = n; // local iov_len (the high word stays 0)
    w[6] = n; // remote iov_len
    return address;
  }

  /** Reads `n` (≤ 16) bytes into the scratch buffer or throws. */
  #fetch(address: AddressLike, n: number): void {
    const a = this.#aim(address, n);
    const result = this.#read(this.pid, this.#pairAddress, 1, this.#pairAddress + 16, 1, 0);
    if (result !== n) this.#fail(result === -1 ? -lastErrno() : result, "process_vm_readv", a, n);
  }

  /** Throws for a call that returned `result` (-errno when negative, a short count otherwise). */
  #fail(result: number, syscall: "process_vm_readv" | "process_vm_writev", address: number | bigint, length: number): never {
    // A short count means the range ran into a page the kernel could not access: report where.
    const errno = result < 0 ? -result : 14;
    const done = result < 0 ? 0 : result;
    const at = Number(address) + done;
    const hint = errno === 14 ? this.#faultHint(at, syscall === "process_vm_writev") : undefined;
    throw new ProcessVmError({ errno, syscall, pid: this.pid, address: at, length: length - done, hint });
  }

  /**
   * Why a read or write at `address` faulted, from the memory map: not mapped, or mapped without the
   * permission (a write: then force; a read: a guard page).
   */
  #faultHint(address: number, write: boolean): string | undefined {
    let regions: Region[];
    try {
      regions = this.maps();
    } catch {
      return undefined;
    }
    const r = regions.find((m) => address >= m.start && address < m.end);
    if (!r) return `0x${address.toString(16)} is not mapped in pid ${this.pid}`;
    const what = r.path !== "" ? r.path : r.kind;
    if (!write) {
      if (r.readable) return undefined;
      return `The mapping 0x${r.start.toString(16)}-0x${r.end.toString(16)} (${r.permissions} ${what}) is not readable (a guard page, or memory the program protected)`;
    }
    if (r.writable) return undefined;
    return (
      `The mapping 0x${r.start.toString(16)}-0x${r.end.toString(16)} (${r.permissions} ${what}) is ${r.readable ? "readable but " : ""}not writable. ` +
      `Write it with { force: true } (proc.write(address, data, { force: true }); pvm write … --force), which goes through /proc/${this.pid}/mem as a debugger does`
    );
  }

  /**
   * Reads `length` bytes into a new `Uint8Array`.
   *
   * @throws {ProcessVmError} when any byte of the range cannot be read (`EFAULT` names the first one).
   * @example
   * ```ts
   * const header = proc.read(base, 64);
   * ```
   */
  read(address: AddressLike, length: number): Uint8Array {
    const a = this.#at(address);
    const out = allocate(length, "length");
    const n = this.#transferAll(this.#read, a, addressOf(out.buffer), length);
    if (n !== length) this.#fail(n, "process_vm_readv", a, length);
    return out;
  }

  /**
   * Reads into `view` as far as the memory allows. Returns the bytes read,
   * which is less than `view.byteLength` when the range runs into an
   * unreadable page.
   *
   * @throws {ProcessVmError} when nothing could be read.
   * @example
   * ```ts
   * const buf = new Uint8Array(new ArrayBuffer(4096));
   * const n = proc.readInto(address, buf);
   * ```
   */
  readInto(address: AddressLike, view: ArrayBufferView): number {
    const a = this.#at(address);
    const parts = checkView(view, "view");
    const n = this.#transferAll(this.#read, a, addressOfView(parts), parts.byteLength);
    if (n < 0 || (n === 0 && parts.byteLength > 0)) this.#fail(n, "process_vm_readv", a, parts.byteLength);
    return n;
  }

  /**
   * Moves `length` bytes between local memory at `local` and the range at `a`,
   * calling again after a short count (the kernel moves at most MAX_RW_COUNT,
   * just under 2 GiB, per call, and stops at a page it cannot access). Returns
   * the bytes moved, or -errno when the first call moved nothing.
   */
  #transferAll(fn: ReturnType<typeof nativeTransfer>, a: number | bigint, local: number, length: number): number {
    let done = 0;
    while (done < length) {
      this.#viewLocal.set(0, local + done, length - done);
      this.#remote.setAny(0, typeof a === "number" ? a + done : a + BigInt(done), length - done);
      const result = fn(this.pid, this.#viewLocal.address, 1, this.#remote.address, 1, 0);
      if (result === -1) {
        const errno = lastErrno();
        return done > 0 ? done : -errno;
      }
      if (result === 0) break;
      done += result;
    }
    return done;
  }

  /** @example `proc.readU8(address)` */
  readU8(address: AddressLike): number {
    this.#fetch(address, 1);
    return this.#view.getUint8(0);
  }
  /** @example `proc.readI8(address)` */
  readI8(address: AddressLike): number {
    this.#fetch(address, 1);
    return this.#view.getInt8(0);
  }
  /** Little-endian. @example `proc.readU16(address)` */
  readU16(address: AddressLike): number {
    this.#fetch(address, 2);
    return this.#view.getUint16(0, true);
  }
  /** Little-endian. @example `proc.readI16(address)` */
  readI16(address: AddressLike): number {
    this.#fetch(address, 2);
    return this.#view.getInt16(0, true);
  }
  /** Little-endian. @example `proc.readU32(address)` */
  readU32(address: AddressLike): number {
    this.#fetch(address, 4);
    return this.#view.getUint32(0, true);
  }
  /** Little-endian. @example `const hp = proc.readI32(address)` */
  readI32(address: AddressLike): number {
    this.#fetch(address, 4);
    return this.#view.getInt32(0, true);
  }
  /** Little-endian, as a bigint. @example `proc.readU64(address)` */
  readU64(address: AddressLike): bigint {
    this.#fetch(address, 8);
    return this.#view.getBigUint64(0, true);
  }
  /** Little-endian, as a bigint. @example `proc.readI64(address)` */
  readI64(address: AddressLike): bigint {
    this.#fetch(address, 8);
    return this.#view.getBigInt64(0, true);
  }
  /** @example `proc.readF32(address)` */
  readF32(address: AddressLike): number {
    this.#fetch(address, 4);
    return this.#view.getFloat32(0, true);
  }
  /** @example `proc.readF64(address)` */
  readF64(address: AddressLike): number {
    this.#fetch(address, 8);
    return this.#view.getFloat64(0, true);
  }
  /**
   * A pointer as a number, of the target's {@link pointerSize} (8 bytes, or 4
   * for a 32-bit target): exact for every user-space address (below 2^53); use
   * {@link readU64} for arbitrary 64-bit values.
   *
   * @example
   * ```ts
   * const player = proc.readPointer(proc.module("game").base + 0x1a2b0);
   * ```
   */
  readPointer(address: AddressLike): number {
    if ((this.#pointerSize || this.#detectPointerSize()) === 4) {
      this.#fetch(address, 4);
      return this.#view.getUint32(0, true);
    }
    this.#fetch(address, 8);
    return this.#view.getUint32(4, true) * TWO_32 + this.#view.getUint32(0, true);
  }

  /**
   * Reads up to `maxLength` bytes page by page until `unit` zero bytes at a
   * `unit`-aligned offset, so that a string ending just before an unmapped page
   * is read. Returns the bytes before the terminator.
   */
  #readTerminated(address: AddressLike, maxLength: number, unit: 1 | 2): Uint8Array {
    const start = this.#at(address);
    checkLength(maxLength, "maxLength");
    // Grows as pages come in, so that a large maxLength costs nothing for a short string.
    let out = new Uint8Array(new ArrayBuffer(Math.min(maxLength, PAGE_SIZE)));
    let got = 0;
    while (got < maxLength) {
      const here = Number(start) + got;
      const step = Math.min(maxLength - got, PAGE_SIZE - (here % PAGE_SIZE));
      if (got + step > out.length) {
        const grown = new Uint8Array(new ArrayBuffer(Math.min(maxLength, Math.max(out.length * 2, got + step))));
        grown.set(out.subarray(0, got));
        out = grown;
      }
      const remote = typeof start === "bigint" ? start + BigInt(got) : here;
      const n = this.#transferAll(this.#read, remote, addressOf(out.buffer, got), step);
      if (n <= 0) {
        if (got === 0 || n < 0) this.#fail(n, "process_vm_readv", here, step);
        break;
      }
      const from = got - (got % unit);
      got += n;
      for (let i = from; i + unit <= got; i += unit) {
        if (out[i] === 0 && (unit === 1 || out[i + 1] === 0)) return out.subarray(0, i);
      }
      if (n < step) this.#fail(n, "process_vm_readv", here, step);
    }
    return out.subarray(0, got - (got % unit));
  }

  /**
   * Reads a NUL-terminated UTF-8 string of at most `maxLength` bytes (the
   * string is cut there when no NUL comes first). Reads page by page, so a
   * string that ends right before an unmapped page is still read.
   *
   * @throws {ProcessVmError} `EFAULT` when the memory ends before a NUL.
   * @example
   * ```ts
   * const name = proc.readCString(namePtr, 64);
   * ```
   */
  readCString(address: AddressLike, maxLength = 4096): string {
    return utf8.decode(this.#readTerminated(address, maxLength, 1));
  }

  /**
   * Reads a UTF-16LE string up to a 16-bit NUL, of at most `maxLength` bytes.
   *
   * @example
   * ```ts
   * const title = proc.readUtf16(titlePtr, 256);
   * ```
   */
  readUtf16(address: AddressLike, maxLength = 4096): string {
    return utf16.decode(this.#readTerminated(address, maxLength, 2));
  }

  // ---- writes --------------------------------------------------------------

  /**
   * Writes `data` at `address`. With `{ force: true }`, bytes that
   * `process_vm_writev` cannot write (read-only code or data) are written
   * through `/proc/PID/mem`.
   *
   * @throws {ProcessVmError} when not every byte could be written.
   * @example
   * ```ts
   * proc.write(address, new Uint8Array([0x90, 0x90]), { force: true }); // patch code
   * ```
   */
  write(address: AddressLike, data: ArrayBufferView | ArrayBuffer, options?: WriteOptions): void {
    const a = this.#at(address);
    // Options first: no code of the caller may run between measuring `data` and the transfer.
    const force = Boolean(options?.force);
    const bytes = toBytes(data, "data");
    this.verify();
    const n = this.#transferAll(this.#write, a, addressOfView(checkView(bytes, "data")), bytes.byteLength);
    if (n === bytes.byteLength) return;
    if (force && (n >= 0 || n === -14)) {
      const done = Math.max(0, n);
      this.#writeMem(Number(a) + done, bytes.subarray(done));
      return;
    }
    this.#fail(n, "process_vm_writev", a, bytes.byteLength);
  }

  #writeMem(address: number, bytes: Uint8Array): void {
    try {
      if (this.#memFd < 0) this.#memFd = openSync(`/proc/${this.pid}/mem`, "r+");
      let done = 0;
      while (done < bytes.byteLength) {
        const n = writeSync(this.#memFd, bytes, done, bytes.byteLength - done, address + done);
        if (n <= 0) throw Object.assign(new Error("short write"), { code: "EIO" });
        done += n;
      }
    } catch (error) {
      const wrapped = ProcessVmError.fromFsError(error, this.#memFd < 0 ? "open" : "pwrite", this.pid, address, bytes.byteLength);
      if (wrapped instanceof ProcessVmError && wrapped.code === "EIO") {
        throw new ProcessVmError({
          errno: wrapped.errno,
          syscall: "pwrite",
          pid: this.pid,
          address,
          length: bytes.byteLength,
          hint: `/proc/${this.pid}/mem refused the write too: the range is not mapped, or this kernel forbids forced writes (proc_mem.force_override)`,
        });
      }
      throw wrapped;
    }
  }

  #put(address: AddressLike, n: number): void {
    this.verify();
    const a = this.#aim(address, n);
    const result = this.#write(this.pid, this.#pairAddress, 1, this.#pairAddress + 16, 1, 0);
    if (result !== n) this.#fail(result === -1 ? -lastErrno() : result, "process_vm_writev", a, n);
  }

  /** @example `proc.writeU8(address, 255)` */
  writeU8(address: AddressLike, value: number): void {
    this.#view.setUint8(0, intRange(value, 0, 0xff, "u8"));
    this.#put(address, 1);
  }
  /** @example `proc.writeI8(address, -1)` */
  writeI8(address: AddressLike, value: number): void {
    this.#view.setInt8(0, intRange(value, -0x80, 0x7f, "i8"));
    this.#put(address, 1);
  }
  /** @example `proc.writeU16(address, 65535)` */
  writeU16(address: AddressLike, value: number): void {
    this.#view.setUint16(0, intRange(value, 0, 0xffff, "u16"), true);
    this.#put(address, 2);
  }
  /** @example `proc.writeI16(address, -2)` */
  writeI16(address: AddressLike, value: number): void {
    this.#view.setInt16(0, intRange(value, -0x8000, 0x7fff, "i16"), true);
    this.#put(address, 2);
  }
  /** @example `proc.writeU32(address, 1000)` */
  writeU32(address: AddressLike, value: number): void {
    this.#view.setUint32(0, intRange(value, 0, 0xffffffff, "u32"), true);
    this.#put(address, 4);
  }
  /** @example `proc.writeI32(address, 999)` */
  writeI32(address: AddressLike, value: number): void {
    this.#view.setInt32(0, intRange(value, -0x80000000, 0x7fffffff, "i32"), true);
    this.#put(address, 4);
  }
  /** @example `proc.writeU64(address, 1n << 40n)` */
  writeU64(address: AddressLike, value: bigint | number): void {
    this.#view.setBigUint64(0, bigRange(value, false), true);
    this.#put(address, 8);
  }
  /** @example `proc.writeI64(address, -1n)` */
  writeI64(address: AddressLike, value: bigint | number): void {
    this.#view.setBigInt64(0, bigRange(value, true), true);
    this.#put(address, 8);
  }
  /** @example `proc.writeF32(address, 1.5)` */
  writeF32(address: AddressLike, value: number): void {
    if (typeof value !== "number") throw new TypeError(`value must be a number (got ${describe(value)})`);
    this.#view.setFloat32(0, value, true);
    this.#put(address, 4);
  }
  /** @example `proc.writeF64(address, Math.PI)` */
  writeF64(address: AddressLike, value: number): void {
    if (typeof value !== "number") throw new TypeError(`value must be a number (got ${describe(value)})`);
    this.#view.setFloat64(0, value, true);
    this.#put(address, 8);
  }
  /** Writes a pointer of the target's {@link pointerSize}. @example `proc.writePointer(slot, objectAddress)` */
  writePointer(address: AddressLike, value: number | bigint): void {
    const v = addr(value, "value");
    if ((this.#pointerSize || this.#detectPointerSize()) === 4) {
      if (Number(v) > 0xffffffff) throw new RangeError(`value 0x${v.toString(16)} does not fit a 4-byte pointer`);
      this.#view.setUint32(0, Number(v), true);
      this.#put(address, 4);
      return;
    }
    if (typeof v === "bigint") this.#view.setBigUint64(0, v, true);
    else {
      this.#view.setUint32(0, v >>> 0, true);
      this.#view.setUint32(4, (v / TWO_32) >>> 0, true);
    }
    this.#put(address, 8);
  }
  /**
   * Writes `text` as UTF-8 followed by a NUL byte.
   *
   * @example
   * ```ts
   * proc.writeCString(nameAddress, "Player 1");
   * ```
   */
  writeCString(address: AddressLike, text: string, options?: WriteOptions): void {
    if (typeof text !== "string") throw new TypeError(`text must be a string (got ${describe(text)})`);
    const bytes = encoder.encode(`${text}\0`);
    this.write(address, bytes, options);
  }

  // ---- big-endian typed reads and writes ------------------------------------
  // Named as Node's Buffer names them (readUInt32BE): for the guest memory of
  // emulated big-endian machines (Dolphin's GameCube/Wii RAM, RPCS3's PS3 memory).

  /** Big-endian. @example `proc.readU16BE(address)` */
  readU16BE(address: number | bigint): number {
    this.#fetch(address, 2);
    return this.#view.getUint16(0, false);
  }
  /** Big-endian. @example `proc.readI16BE(address)` */
  readI16BE(address: number | bigint): number {
    this.#fetch(address, 2);
    return this.#view.getInt16(0, false);
  }
  /** Big-endian. @example `const hp = proc.readU32BE(address)` */
  readU32BE(address: number | bigint): number {
    this.#fetch(address, 4);
    return this.#view.getUint32(0, false);
  }
  /** Big-endian. @example `proc.readI32BE(address)` */
  readI32BE(address: number | bigint): number {
    this.#fetch(address, 4);
    return this.#view.getInt32(0, false);
  }
  /** Big-endian, as a bigint. @example `proc.readU64BE(address)` */
  readU64BE(address: number | bigint): bigint {
    this.#fetch(address, 8);
    return this.#view.getBigUint64(0, false);
  }
  /** Big-endian, as a bigint. @example `proc.readI64BE(address)` */
  readI64BE(address: number | bigint): bigint {
    this.#fetch(address, 8);
    return this.#view.getBigInt64(0, false);
  }
  /** Big-endian. @example `proc.readF32BE(address)` */
  readF32BE(address: number | bigint): number {
    this.#fetch(address, 4);
    return this.#view.getFloat32(0, false);
  }
  /** Big-endian. @example `proc.readF64BE(address)` */
  readF64BE(address: number | bigint): number {
    this.#fetch(address, 8);
    return this.#view.getFloat64(0, false);
  }
  /** Big-endian. @example `proc.writeU16BE(address, 65535)` */
  writeU16BE(address: number | bigint, value: number): void {
    this.#view.setUint16(0, intRange(value, 0, 0xffff, "u16"), false);
    this.#put(address, 2);
  }
  /** Big-endian. @example `proc.writeI16BE(address, -2)` */
  writeI16BE(address: number | bigint, value: number): void {
    this.#view.setInt16(0, intRange(value, -0x8000, 0x7fff, "i16"), false);
    this.#put(address, 2);
  }
  /** Big-endian. @example `proc.writeU32BE(address, 999)` */
  writeU32BE(address: number | bigint, value: number): void {
    this.#view.setUint32(0, intRange(value, 0, 0xffffffff, "u32"), false);
    this.#put(address, 4);
  }
  /** Big-endian. @example `proc.writeI32BE(address, -1)` */
  writeI32BE(address: number | bigint, value: number): void {
    this.#view.setInt32(0, intRange(value, -0x80000000, 0x7fffffff, "i32"), false);
    this.#put(address, 4);
  }
  /** Big-endian. @example `proc.writeU64BE(address, 1n << 40n)` */
  writeU64BE(address: number | bigint, value: bigint | number): void {
    this.#view.setBigUint64(0, bigRange(value, false), false);
    this.#put(address, 8);
  }
  /** Big-endian. @example `proc.writeI64BE(address, -1n)` */
  writeI64BE(address: number | bigint, value: bigint | number): void {
    this.#view.setBigInt64(0, bigRange(value, true), false);
    this.#put(address, 8);
  }
  /** Big-endian. @example `proc.writeF32BE(address, 1.5)` */
  writeF32BE(address: number | bigint, value: number): void {
    if (typeof value !== "number") throw new TypeError(`value must be a number (got ${describe(value)})`);
    this.#view.setFloat32(0, value, false);
    this.#put(address, 4);
  }
  /** Big-endian. @example `proc.writeF64BE(address, Math.PI)` */
  writeF64BE(address: number | bigint, value: number): void {
    if (typeof value !== "number") throw new TypeError(`value must be a number (got ${describe(value)})`);
    this.#view.setFloat64(0, value, false);
    this.#put(address, 8);
  }

  // ---- memory map ----------------------------------------------------------

  /**
   * The target's mappings, from `/proc/PID/maps`, after a {@link probe} of the target.
   *
   * @throws {ProcessVmError} `ESRCH` when the process is gone (a zombie too), `EPERM` without permission.
   * @example
   * ```ts
   * const writable = proc.maps().filter((r) => r.writable && r.kind !== "file");
   * ```
   */
  maps(): Region[] {
    // A zombie's maps read empty and a forbidden one EACCES: the probe says what a read would.
    this.probe();
    let text: string;
    try {
      text = readFileSync(`/proc/${this.pid}/maps`, "utf8");
    } catch (error) {
      throw ProcessVmError.fromFsError(error, "read", this.pid);
    }
    return parseMaps(text);
  }

  /**
   * The mapped files, grouped per path.
   *
   * @example
   * ```ts
   * for (const m of proc.modules()) console.log(m.name, m.base.toString(16));
   * ```
   */
  modules(): Module[] {
    return modules(this.maps());
  }

  /**
   * A mapped file by base name (`"libc.so.6"`, or `"libc.so"` for any version)
   * or full path, or `null`.
   *
   * @example
   * ```ts
   * const libc = proc.findModule("libc.so.6");
   * ```
   */
  findModule(name: string): Module | null {
    return findModule(this.maps(), name);
  }

  /**
   * A mapped file by name, with its base and end.
   *
   * @throws {ModuleNotFoundError} when nothing of that name is mapped.
   * @example
   * ```ts
   * const { base, end } = proc.module("libgame.so");
   * ```
   */
  module(name: string): Module {
    const found = this.findModule(name);
    if (!found) throw new ModuleNotFoundError(name, this.pid);
    return found;
  }

  // ---- batches -------------------------------------------------------------

  /**
   * A {@link RemoteReader} over `ranges` of this process.
   *
   * @example
   * ```ts
   * const reader = proc.reader([{ address: a, length: 4 }, { address: b, length: 4 }]);
   * reader.read();
   * ```
   */
  reader(ranges: readonly RemoteRange[], options?: RemoteReaderOptions): RemoteReader {
    return new RemoteReader(this.pid, ranges, options);
  }

  /**
   * A {@link RemoteWriter} over `ranges` of this process. Each `write()` first
   * checks that the pid still runs the same program ({@link verify}).
   *
   * @example
   * ```ts
   * const writer = proc.writer([{ address: a, length: 4 }]);
   * ```
   */
  writer(ranges: readonly RemoteRange[]): RemoteWriter {
    return guardWriter(new RemoteWriter(this.pid, ranges), () => this.verify());
  }

  // ---- scanner -------------------------------------------------------------

  /**
   * Starts a value scan of this process's memory (readable, writable, private
   * mappings by default) on all cores; narrow it with `scan.next(query)`.
   *
   * @example
   * ```ts
   * const hp = await proc.scan("i32", 100);        // or { min: 90, max: 110 }, "unknown", "90..110"
   * await hp.next("decreased");                    // or { eq: 97 }, "< 98", { decreasedBy: 3 }
   * for (const { address, value } of hp) console.log(address.toString(16), value);
   * ```
   */
  scan<T extends ScanValueType>(type: T, query: FirstQuery | string | CompiledPattern, options?: ScanOptions): Promise<Scan<T>> {
    return scan(this, type, query, options);
  }

  /**
   * Every address where a byte pattern occurs: `"48 8b ?? 4? : ff ff 00 f0"`
   * (`??` any byte, `4?`/`?b` nibbles, a mask after ` : `). Overlapping matches are all reported.
   *
   * @throws {PatternSyntaxError} naming the position of a mistake in the pattern.
   * @example
   * ```ts
   * const sites = await proc.findPattern("29 43 08 48 8b", { code: true });
   * ```
   */
  findPattern(pattern: string | CompiledPattern, options?: PatternScanOptions): Promise<number[]> {
    return findPattern(this, pattern, options);
  }

  // ---- trainer -------------------------------------------------------------

  /**
   * Follows a pointer chain: a base (an address, or a module plus offset) and
   * offsets, dereferencing at every step but the last.
   *
   * @throws {PointerChainError} naming the step, the address and why (null, unmapped, no such module).
   * @example
   * ```ts
   * const hp = proc.resolve("libgame.so+0x1a2b0 -> 0x10 -> 0x8");
   * const same = proc.resolve({ base: { module: "libgame.so", offset: 0x1a2b0 }, offsets: [0x10, 0x8] });
   * ```
   */
  resolve(chain: ChainLike): number {
    return trainer.resolve(this, chain);
  }

  /**
   * Resolves many chains level by level, one batched read per level.
   *
   * @example
   * ```ts
   * const { addresses, errors } = proc.resolveAll(entityChains); // null where a link failed
   * ```
   */
  resolveAll(chains: readonly ChainLike[]): ResolvedChains {
    return trainer.resolveAll(this, chains);
  }

  /**
   * Holds a value: all values frozen at one interval are written in one batched
   * write per tick. See {@link FreezeOptions} for `allowIncrease`/`allowDecrease`.
   * A pointer chain is followed again every tick (the freeze moves with the object).
   *
   * @example
   * ```ts
   * using hp = proc.freeze(hpAddress, "i32", 999, { intervalMs: 50 });
   * using ammo = proc.freeze("libgame.so+0x1a2b0 -> 0x10 -> 0x8", "i32", 30, {
   *   onChainChange: (address, error) => console.log(error ? `waiting: ${error.message}` : `holding at ${address}`),
   * });
   * ```
   */
  freeze<T extends ValueType>(address: number | bigint | ChainLike, type: T, value: ValueInput<T>, options?: FreezeOptions): FreezeHandle<T> {
    return trainer.freeze(this, address, type, value, options);
  }

  /**
   * Polls addresses or ranges with batched reads and reports changes, as an
   * async iterator or through `onChange`. A pointer chain is followed again at
   * every poll; a broken link is a change to `null` with `error`.
   *
   * @example
   * ```ts
   * for await (const change of proc.watch([{ address: hpAddress, type: "i32" }])) console.log(change.old, "->", change.new);
   * proc.watch(["libgame.so+0x1a2b0 -> 0x10"], { onChange: (c) => console.log(c.new ?? c.error?.message) });
   * ```
   */
  watch<const Ts extends readonly WatchTarget[], D extends ValueType = "i32">(targets: Ts, options?: WatchOptions<D, WatchChangeOf<Ts, D>>): Watcher<WatchChangeOf<Ts, D>> {
    return trainer.watch(this, targets, options);
  }

  /**
   * Writes over code or data (read-only pages too), keeping the original bytes.
   * Restored at exit and on SIGINT/SIGTERM/SIGHUP unless `{ keep: true }`.
   *
   * @example
   * ```ts
   * const p = proc.patch(code, [0xeb]); // jmp instead of jz
   * p.restore();
   * ```
   */
  patch(address: number | bigint, bytes: ArrayBufferView | ArrayBuffer | readonly number[], options?: PatchOptions): Patch {
    return trainer.patch(this, address, bytes, options);
  }

  /**
   * Replaces `length` bytes of code with no-ops (x86-64 `0x90`; aarch64 `d503201f`).
   *
   * @example
   * ```ts
   * const p = proc.nop(decrementHealth, 3);
   * ```
   */
  nop(address: number | bigint, length: number, options?: NopOptions): Patch {
    return trainer.nop(this, address, length, options);
  }

  /**
   * Finds pointer paths from static memory (module images) to `address`.
   * Aborted (or the target gone mid-scan), it rejects with the paths found so
   * far in the error's `partial` (a `PointerScanError`).
   *
   * @example
   * ```ts
   * const paths = await proc.findPointerPaths(hpAddress, { maxDepth: 4, maxOffset: 0x800 });
   * const survivors = paths.rescan(restartedGame, newHpAddress);
   * ```
   */
  findPointerPaths(address: number | bigint, options?: PointerScanOptions): Promise<PointerPaths> {
    return trainer.findPointerPaths(this, address, options);
  }

  /**
   * Closes the descriptors this object holds: `/proc/PID/mem` (the one a
   * forced write opened, and the one that keeps the identity) and the pidfd.
   * The object stays usable; {@link verify} then compares start times only.
   *
   * @example
   * ```ts
   * using proc = new Process(pid); // closed at the end of the scope
   * ```
   */
  close(): void {
    if (this.#memFd >= 0) {
      closeSync(this.#memFd);
      this.#memFd = -1;
    }
    this.#closeIdentity();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

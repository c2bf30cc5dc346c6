/**
 * The libc symbol table: the only module of the package that imports `bun:ffi`.
 *
 * Each argument is annotated with its C type. Everything above this file works
 * with plain numbers (addresses) and explicitly allocated `ArrayBuffer`s.
 *
 * @module
 */
import { dlopen, FFIType, ptr, read, toArrayBuffer, type Pointer } from "bun:ffi";

/** Candidate sonames for the C library, glibc first, then musl. */
const LIBC_CANDIDATES = [
  "libc.so.6",
  `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`,
  "libc.so",
];

/** The arguments of process_vm_readv and process_vm_writev, which share one prototype. */
const TRANSFER_ARGS = [
  "i32", // pid_t pid
  "ptr", // const struct iovec *local_iov
  "u64", // unsigned long liovcnt
  "ptr", // const struct iovec *remote_iov
  "u64", // unsigned long riovcnt
  "u64", // unsigned long flags
] as const;

const SYMBOLS = {
  /** ssize_t process_vm_readv(pid_t, const struct iovec *, unsigned long, const struct iovec *, unsigned long, unsigned long) */
  process_vm_readv: { args: TRANSFER_ARGS, returns: FFIType.i64_fast /* ssize_t */ },
  /** ssize_t process_vm_writev(pid_t, const struct iovec *, unsigned long, const struct iovec *, unsigned long, unsigned long) */
  process_vm_writev: { args: TRANSFER_ARGS, returns: FFIType.i64_fast /* ssize_t */ },
  /** pid_t getpid(void) */
  getpid: { args: [], returns: "i32" },
  /** long sysconf(int name) */
  sysconf: {
    args: [
      "i32", // int name
    ],
    returns: FFIType.i64_fast, // long
  },
  /** void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) */
  mmap: {
    args: [
      "ptr", // void *addr
      "u64", // size_t length
      "i32", // int prot
      "i32", // int flags
      "i32", // int fd
      "i64", // off_t offset
    ],
    returns: "ptr", // void *
  },
  /** int munmap(void *addr, size_t length) */
  munmap: {
    args: [
      "ptr", // void *addr
      "u64", // size_t length
    ],
    returns: "i32",
  },
  /** long syscall(long number, ...): used with integer arguments only, for pidfd_open and pidfd_send_signal */
  syscall: {
    args: [
      "i64", // long number
      "i64", // first argument
      "i64", // second argument
      "i64", // third argument (a pointer, passed as 0)
      "i64", // fourth argument
    ],
    returns: FFIType.i64_fast, // long
  },
  /** ssize_t pread(int fd, void *buf, size_t count, off_t offset) */
  pread: {
    args: [
      "i32", // int fd
      "ptr", // void *buf
      "u64", // size_t count
      "i64", // off_t offset
    ],
    returns: FFIType.i64_fast, // ssize_t
  },
  /** int mprotect(void *addr, size_t len, int prot) */
  mprotect: {
    args: [
      "ptr", // void *addr
      "u64", // size_t len
      "i32", // int prot
    ],
    returns: "i32",
  },
  /** int ioctl(int fd, unsigned long request, void *arg)  (variadic in C; called with one pointer argument) */
  ioctl: {
    args: [
      "i32", // int fd
      "u64", // unsigned long request
      "ptr", // void *arg
    ],
    returns: "i32",
  },
} as const;

function openLibc() {
  const failures: string[] = [];
  for (const name of LIBC_CANDIDATES) {
    try {
      return { name, lib: dlopen(name, SYMBOLS) };
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    `process-vm: could not load the C library with process_vm_readv (needs Linux 3.2+, glibc 2.15+ or musl):\n  ${failures.join("\n  ")}`,
  );
}

const opened = openLibc();

/** The soname that was loaded. */
export const libcName: string = opened.name;

/** Raw libc functions. Pointers are plain numbers; no argument is checked here. */
export const libc = opened.lib.symbols;

/** `int *__errno_location(void)` (glibc, musl) or `int *__errno(void)` (bionic), per thread. */
function openErrno(): () => Pointer | null {
  for (const symbol of ["__errno_location", "__errno"]) {
    try {
      const lib = dlopen(opened.name, { [symbol]: { args: [], returns: "ptr" } });
      return lib.symbols[symbol] as () => Pointer | null;
    } catch {
      // try the next spelling
    }
  }
  throw new Error(`process-vm: ${opened.name} exports neither __errno_location nor __errno`);
}

/**
 * Address of this thread's `errno`. It is fixed for the life of the thread, and
 * each Worker loads this module anew, so each thread reads its own.
 */
const errnoAddress = openErrno()() as unknown as number;

/** This thread's `errno`. Read it immediately after a call returned -1, never otherwise. */
export function lastErrno(): number {
  return read.i32(errnoAddress as unknown as Pointer, 0);
}

/**
 * The system page size (`sysconf(_SC_PAGESIZE)`): 4096 on x86-64, 4, 16 or 64 KiB on aarch64.
 *
 * @example
 * ```ts
 * const pageEnd = Math.ceil((address + 1) / PAGE_SIZE) * PAGE_SIZE;
 * ```
 */
export const PAGE_SIZE: number = Number(libc.sysconf(30 /* _SC_PAGESIZE */)) || 4096;

/**
 * Native address of byte `byteOffset` of `buffer`. The caller keeps `buffer`
 * reachable for as long as the address is in use. A zero-length buffer has no
 * storage and gives 0.
 */
export function addressOf(buffer: ArrayBufferLike, byteOffset = 0): number {
  if (buffer.byteLength === 0) return 0;
  return (ptr(buffer as ArrayBuffer, byteOffset) as unknown as number);
}

/**
 * Native address of the first byte of a view given as its parts (see
 * `checkView`, which reads the buffer first and so moves a small typed array
 * out of the garbage-collected heap into its own `ArrayBuffer`, where its
 * address cannot move). An empty view gives 0.
 */
export function addressOfView(view: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): number {
  if (view.byteLength === 0) return 0;
  return addressOf(view.buffer, view.byteOffset);
}

/**
 * Memory whose native address may be cached: a `SharedArrayBuffer`, which no
 * caller can detach (it has no `transfer()`, and `postMessage`/`structuredClone`
 * cannot move it), so an address taken once stays valid while it is reachable.
 *
 * @example
 * ```ts
 * const arena = pinnedBuffer(4096);
 * const address = addressOf(arena); // safe to keep in an iovec table
 * ```
 */
export function pinnedBuffer(length: number): SharedArrayBuffer {
  return new SharedArrayBuffer(length);
}

/**
 * `pread(fd, buf, count, offset)` into native memory at `address`: the byte
 * count, or `-errno` on failure (errno read at once, and only then).
 *
 * @example
 * ```ts
 * const r = preadAt(memFd, scratchAddress, 1, 0); // 0: the image is gone; -5 (EIO): it lives
 * ```
 */
export function preadAt(fd: number, address: number, count: number, offset: number): number {
  const result = libc.pread(fd, address as unknown as Pointer, count, offset) as number;
  return result === -1 ? -lastErrno() : result;
}

/** `SYS_pidfd_open` and `SYS_pidfd_send_signal`: the same numbers on x86-64 and aarch64 (Linux 5.3+). */
const SYS_PIDFD_OPEN = 434;
const SYS_PIDFD_SEND_SIGNAL = 424;

/**
 * `pidfd_open(pid, 0)`: a descriptor that refers to this one process, not to
 * whichever process later gets its pid. Returns the descriptor, or `-errno`
 * (`-ENOSYS` before Linux 5.3). Close it with `closeSync`.
 *
 * @example
 * ```ts
 * const fd = pidfdOpen(pid);
 * if (fd >= 0) console.log(pidfdAlive(fd)); // true while that very process lives
 * ```
 */
export function pidfdOpen(pid: number): number {
  const fd = libc.syscall(SYS_PIDFD_OPEN, pid, 0, 0, 0) as number;
  return fd === -1 ? -lastErrno() : fd;
}

/**
 * Whether the process of a pidfd still exists (signal 0 through
 * `pidfd_send_signal`): `true`, `false` once it has exited (even when its pid
 * was reused), or `null` when the kernel cannot tell.
 *
 * @example
 * ```ts
 * if (pidfdAlive(fd) === false) console.log("exited; the pid may belong to another process now");
 * ```
 */
export function pidfdAlive(fd: number): boolean | null {
  const r = libc.syscall(SYS_PIDFD_SEND_SIGNAL, fd, 0, 0, 0) as number;
  if (r === 0) return true;
  const errno = lastErrno();
  return errno === 3 /* ESRCH */ ? false : errno === 1 /* EPERM: it exists */ ? true : null;
}

/** An `ArrayBuffer` over native memory owned by someone else (used by test fixtures over mmap'd pages). */
export function nativeBuffer(address: number, length: number): ArrayBuffer {
  return toArrayBuffer(address as unknown as Pointer, 0, length);
}

/** `PROT_*` and `MAP_*` constants of Linux (the same on x86-64 and aarch64). */
export const PROT = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MAP = { SHARED: 0x01, PRIVATE: 0x02, FIXED: 0x10, ANONYMOUS: 0x20, NORESERVE: 0x4000 } as const;

/** `mmap(NULL, length, prot, flags, fd, 0)`; returns the address, or -1 on failure. */
export function mmap(length: number, prot: number, flags: number, fd = -1): number {
  const address = Number(libc.mmap(null, length, prot, flags, fd, 0) ?? 0);
  return address === 0 || address >= 2 ** 64 - 4096 ? -1 : address;
}

/** `munmap(address, length) === 0`. */
export function munmap(address: number, length: number): boolean {
  return libc.munmap(address as unknown as Pointer, length) === 0;
}

/** `mprotect(address, length, prot) === 0`. */
export function mprotect(address: number, length: number, prot: number): boolean {
  return libc.mprotect(address as unknown as Pointer, length, prot) === 0;
}

/**
 * `ioctl(fd, request, address)` with a pointer argument: the result, or
 * `-errno` when it returned -1 (read at once). `address` is that of an
 * explicitly allocated `ArrayBuffer` the caller keeps alive.
 *
 * @example
 * ```ts
 * const n = ioctlPointer(fd, PAGEMAP_SCAN, addressOf(argBuffer));
 * ```
 */
export function ioctlPointer(fd: number, request: number, address: number): number {
  const result = libc.ioctl(fd, request, address as unknown as Pointer);
  return result === -1 ? -lastErrno() : result;
}

/**
 * The zero-copy hot path: iovec tables marshaled once, reads and writes into
 * one reused arena, views returned without allocation.
 *
 * @module
 */
import { ProcessVmError } from "./errors.ts";
import { IOV_MAX, IovecTable } from "./ffi/iovec.ts";
import { addressOf, lastErrno, PAGE_SIZE, pinnedBuffer } from "./ffi/libc.ts";
import { nativeTransfer, type RemoteRange, type TransferSyscall } from "./syscall.ts";
import { checkAddress, checkLength, checkPid, describe } from "./validate.ts";

const EFAULT = 14;
const TWO_32 = 4294967296;

/** Options of {@link RemoteReader}. */
export interface RemoteReaderOptions {
  /**
   * Ranges whose gap is at most this many bytes are read as one span (one
   * iovec), and their views point into it. One iovec costs the kernel about as
   * much as copying a few KiB, so the default is 4096. `0` merges only ranges
   * that touch or overlap; `-1` never merges.
   */
  coalesce?: number;
}

interface Layout {
  /** Spans in the order they are transferred. */
  spanStart: (number | bigint)[];
  spanLength: number[];
  spanOffset: number[];
  /** Ranges of span s are order[spanFirst[s] .. spanFirst[s + 1]). */
  spanFirst: number[];
  /** Range indices, grouped by span. */
  order: number[];
  /** Arena offset of each range. */
  rangeOffset: number[];
  arenaSize: number;
}

function normalize(ranges: readonly RemoteRange[]): { address: (number | bigint)[]; length: number[] } {
  if (!Array.isArray(ranges)) throw new TypeError(`ranges must be an array of { address, length } (got ${describe(ranges)})`);
  const address: (number | bigint)[] = new Array(ranges.length);
  const length: number[] = new Array(ranges.length);
  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i];
    if (typeof range !== "object" || range === null) throw new TypeError(`ranges[${i}] must be an object { address, length } (got ${describe(range)})`);
    address[i] = checkAddress(range.address, `ranges[${i}].address`);
    length[i] = checkLength(range.length, `ranges[${i}].length`);
  }
  return { address, length };
}

/**
 * Spans over the ranges. With `sort`, ranges are taken in address order and
 * merged when within `gap` bytes (gap < 0: never); without, they keep their
 * order and merge only when one starts where the previous ends.
 */
function layout(address: readonly (number | bigint)[], length: readonly number[], gap: number, sort: boolean): Layout {
  const n = address.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  if (sort) idx.sort((a, b) => Number(address[a]!) - Number(address[b]!) || a - b);
  const L: Layout = { spanStart: [], spanLength: [], spanOffset: [], spanFirst: [], order: idx, rangeOffset: new Array(n), arenaSize: 0 };
  let s = -1;
  let spanEnd = 0;
  for (let k = 0; k < n; k++) {
    const i = idx[k]!;
    const a = address[i]!;
    const len = length[i]!;
    const mergeable = gap >= 0 && s >= 0 && typeof a === "number" && typeof L.spanStart[s] === "number";
    // Sorted ranges merge across gaps; unsorted ones (writes, whose order matters) only when they touch.
    if (mergeable && (sort ? a - spanEnd <= gap : a === spanEnd)) {
      const start = L.spanStart[s] as number;
      if (a + len > spanEnd) spanEnd = a + len;
      L.spanLength[s] = spanEnd - start;
    } else {
      s++;
      // Keep every span 8-byte aligned in the arena like its remote address, so typed views stay aligned.
      const misalign = typeof a === "number" ? a % 8 : 0;
      L.arenaSize = Math.ceil(L.arenaSize / 8) * 8 + misalign;
      L.spanStart.push(a);
      L.spanLength.push(len);
      L.spanOffset.push(L.arenaSize);
      L.spanFirst.push(k);
      spanEnd = typeof a === "number" ? a + len : 0;
    }
    L.arenaSize = L.spanOffset[s]! + L.spanLength[s]!;
  }
  L.spanFirst.push(n);
  for (let t = 0; t < L.spanStart.length; t++) {
    for (let k = L.spanFirst[t]!; k < L.spanFirst[t + 1]!; k++) {
      const i = idx[k]!;
      const delta = typeof address[i] === "number" ? (address[i] as number) - (L.spanStart[t] as number) : 0;
      L.rangeOffset[i] = L.spanOffset[t]! + delta;
    }
  }
  return L;
}

/**
 * Shared machinery of {@link RemoteReader} and {@link RemoteWriter}: the arena,
 * the span tables, the per-range fallback tables, completion flags and the
 * typed accessors.
 */
abstract class RemoteBatch {
  /** Target process id. */
  readonly pid: number;
  /** Number of ranges. */
  readonly count: number;
  /**
   * The arena that every view points into. It is a `SharedArrayBuffer`, which
   * cannot be detached (it has no `transfer()`, and neither `postMessage` nor
   * `structuredClone` can move it): the native address that the iovec tables
   * hold stays the arena's for as long as this object lives.
   */
  readonly buffer: SharedArrayBuffer;
  /** One view per range, in the order the ranges were given; the same objects on every call. */
  readonly views: readonly Uint8Array[];
  /**
   * Per range, 1 if the last transfer moved the whole range, else 0. When a
   * transfer was partial, this says which ranges hold fresh data. Read it; do
   * not write it (it is rewritten only when the outcome changes).
   */
  readonly completed: Uint8Array;
  /** DataView over the whole arena, for typed access at {@link offsetOf}. */
  readonly data: DataView;

  readonly #syscall: TransferSyscall;
  readonly #fn: ReturnType<typeof nativeTransfer>;
  readonly #L: Layout;
  readonly #length: readonly number[];
  readonly #address: readonly (number | bigint)[];
  readonly #local: IovecTable;
  readonly #remote: IovecTable;
  #scratch: { local: IovecTable; remote: IovecTable } | undefined;
  /** Native address of the arena. */
  readonly #arena: number;
  #completedCount = 0;
  /** Sum of span lengths: what one complete transfer returns. */
  readonly #total: number;

  protected constructor(syscall: TransferSyscall, pid: number, ranges: readonly RemoteRange[], gap: number, sort: boolean) {
    this.pid = checkPid(pid);
    this.#syscall = syscall;
    this.#fn = nativeTransfer(syscall);
    const { address, length } = normalize(ranges);
    this.#address = address;
    this.#length = length;
    this.count = address.length;
    const L = (this.#L = layout(address, length, gap, sort));
    try {
      this.buffer = pinnedBuffer(Math.max(8, L.arenaSize));
    } catch {
      throw new RangeError(`the ranges need an arena of ${L.arenaSize} bytes, more than can be allocated`);
    }
    this.data = new DataView(this.buffer);
    this.completed = new Uint8Array(new ArrayBuffer(Math.max(1, this.count))).subarray(0, this.count);
    this.views = Object.freeze(address.map((_, i) => new Uint8Array(this.buffer, L.rangeOffset[i]!, length[i]!)));
    const spans = L.spanStart.length;
    this.#total = L.spanLength.reduce((sum, len) => sum + len, 0);
    this.#local = new IovecTable(spans);
    this.#remote = new IovecTable(spans);
    const arena = (this.#arena = addressOf(this.buffer));
    for (let s = 0; s < spans; s++) {
      this.#local.set(s, arena + L.spanOffset[s]!, L.spanLength[s]!);
      this.#remote.setAny(s, L.spanStart[s]!, L.spanLength[s]!);
    }
  }

  /** Number of ranges moved whole by the last transfer. */
  get completedCount(): number {
    return this.#completedCount;
  }

  /** Byte offset of range `i` in {@link buffer} / {@link data}. */
  offsetOf(i: number): number {
    const offset = typeof i === "number" ? this.#L.rangeOffset[i] : undefined;
    if (offset === undefined) throw this.#badAccess(i, 0, 0);
    return offset;
  }

  /** Issues the transfer; returns the number of ranges moved whole. */
  protected transfer(): number {
    const L = this.#L;
    const spans = L.spanStart.length;
    const pid = this.pid;
    const fn = this.#fn;
    const local = this.#local;
    const remote = this.#remote;
    let done = 0;
    let s = 0;
    while (s < spans) {
      const n = spans - s < IOV_MAX ? spans - s : IOV_MAX;
      let result = fn(pid, local.address + s * 16, n, remote.address + s * 16, n, 0);
      if (result === -1) {
        const errno = lastErrno();
        if (errno !== EFAULT) throw this.#failed(errno, s);
        result = 0;
      }
      if (s === 0) {
        // The common case: one call moved everything. The flags are rewritten only when they change.
        if (n === spans && result === this.#total) {
          if (this.#completedCount !== this.count) {
            this.completed.fill(1);
            this.#completedCount = this.count;
          }
          return this.count;
        }
        this.completed.fill(0);
      }
      // Spans fully covered by `result` bytes, then the one it stopped in.
      let left = result;
      const end = s + n;
      for (; s < end; s++) {
        const len = L.spanLength[s]!;
        if (left < len) break;
        left -= len;
        done += this.#markSpan(s, L.spanFirst[s]!);
      }
      if (s < end) {
        done += this.#resume(s, left);
        s++;
      }
    }
    this.#completedCount = done;
    return done;
  }

  /** Marks the ranges of span `s` from its `k`-th (in address order) on as complete. */
  #markSpan(s: number, k: number): number {
    const L = this.#L;
    const completed = this.completed;
    const last = L.spanFirst[s + 1]!;
    for (let j = k; j < last; j++) completed[L.order[j]!] = 1;
    return last - k;
  }

  /**
   * Span `s` stopped after `covered` bytes, at a page the kernel could not
   * access. Ranges before that point are complete; ranges touching that page
   * are not; the rest of the span is transferred again from the first range
   * past the page, once per fault, so that coalescing never loses a range a
   * plain transfer would have moved.
   */
  #resume(s: number, covered: number): number {
    const L = this.#L;
    const start = L.spanStart[s]!;
    if (typeof start !== "number") return 0; // a lone range above 2^53: nothing more to try
    const spanEnd = start + L.spanLength[s]!;
    const spanOffset = L.spanOffset[s]!;
    const last = L.spanFirst[s + 1]!;
    const scratch = (this.#scratch ??= { local: new IovecTable(1), remote: new IovecTable(1) });
    const arena = this.#arena;
    let faultAt = start + covered;
    let k = L.spanFirst[s]!;
    let done = 0;
    for (;;) {
      const nextPage = (Math.floor(faultAt / PAGE_SIZE) + 1) * PAGE_SIZE;
      for (; k < last; k++) {
        const i = L.order[k]!;
        const address = this.#address[i] as number;
        const len = this.#length[i]!;
        if (len === 0 || address + len <= faultAt) {
          this.completed[i] = 1;
          done++;
        } else if (address >= nextPage) break;
      }
      if (k >= last) return done;
      const from = this.#address[L.order[k]!] as number;
      const length = spanEnd - from;
      scratch.local.set(0, arena + spanOffset + (from - start), length);
      scratch.remote.set(0, from, length);
      let result = this.#fn(this.pid, scratch.local.address, 1, scratch.remote.address, 1, 0);
      if (result === -1) {
        const errno = lastErrno();
        if (errno !== EFAULT) throw this.#failed(errno, s);
        result = 0;
      }
      if (result === length) return done + this.#markSpan(s, k);
      faultAt = from + result;
    }
  }

  /** Resets the completion state after a call failed with `errno`, and makes the error. */
  #failed(errno: number, s: number): ProcessVmError {
    this.completed.fill(0);
    this.#completedCount = 0;
    return this.#error(errno, s, 0);
  }

  #error(errno: number, s: number, offset: number): ProcessVmError {
    const start = this.#L.spanStart[s]!;
    return new ProcessVmError({
      errno,
      syscall: this.#syscall,
      pid: this.pid,
      address: Number(start) + offset,
      length: this.#L.spanLength[s]! - offset,
    });
  }

  /** Arena offset of `size` bytes at `offset` within range `i`, or a TypeError/RangeError naming the bad argument. */
  #at(i: number, offset: number, size: number): number {
    const len = typeof i === "number" ? this.#length[i] : undefined;
    if (len === undefined || typeof offset !== "number" || (offset | 0) !== offset || offset < 0 || offset + size > len) {
      throw this.#badAccess(i, offset, size);
    }
    return (this.#L.rangeOffset[i]! + offset) | 0;
  }

  #badAccess(i: unknown, offset: unknown, size: number): Error {
    if (typeof i !== "number") return new TypeError(`range index must be a number (got ${describe(i)})`);
    const len = this.#length[i];
    if (len === undefined) return new RangeError(`range index ${describe(i)} is not one of the ${this.count} ranges`);
    if (typeof offset !== "number") return new TypeError(`offset must be a number (got ${describe(offset)})`);
    return new RangeError(`offset ${describe(offset)} + ${size} bytes is outside range ${i} (${len} bytes)`);
  }

  /** Unsigned byte at `offset` within range `i`. */
  u8(i: number, offset = 0): number {
    return this.data.getUint8(this.#at(i, offset, 1));
  }
  /** Signed byte at `offset` within range `i`. */
  i8(i: number, offset = 0): number {
    return this.data.getInt8(this.#at(i, offset, 1));
  }
  /** Little-endian u16 at `offset` within range `i`. */
  u16(i: number, offset = 0): number {
    return this.data.getUint16(this.#at(i, offset, 2), true);
  }
  /** Little-endian i16 at `offset` within range `i`. */
  i16(i: number, offset = 0): number {
    return this.data.getInt16(this.#at(i, offset, 2), true);
  }
  /** Little-endian u32 at `offset` within range `i`. */
  u32(i: number, offset = 0): number {
    return this.data.getUint32(this.#at(i, offset, 4), true);
  }
  /** Little-endian i32 at `offset` within range `i`. */
  i32(i: number, offset = 0): number {
    return this.data.getInt32(this.#at(i, offset, 4), true);
  }
  /** Little-endian u64 at `offset` within range `i` (a bigint: allocates). */
  u64(i: number, offset = 0): bigint {
    return this.data.getBigUint64(this.#at(i, offset, 8), true);
  }
  /** Little-endian i64 at `offset` within range `i` (a bigint: allocates). */
  i64(i: number, offset = 0): bigint {
    return this.data.getBigInt64(this.#at(i, offset, 8), true);
  }
  /** Little-endian f32 at `offset` within range `i`. */
  f32(i: number, offset = 0): number {
    return this.data.getFloat32(this.#at(i, offset, 4), true);
  }
  /** Little-endian f64 at `offset` within range `i`. */
  f64(i: number, offset = 0): number {
    return this.data.getFloat64(this.#at(i, offset, 8), true);
  }
  /** A 64-bit pointer at `offset` within range `i`, as a number (exact below 2^53). */
  pointer(i: number, offset = 0): number {
    const o = this.#at(i, offset, 8);
    return this.data.getUint32((o + 4) | 0, true) * TWO_32 + this.data.getUint32(o, true);
  }
}

/**
 * Reads a fixed set of remote ranges again and again with no allocation per
 * call: the iovec tables are marshaled once, ranges within `coalesce` bytes of
 * each other are read as one span, and `read()` returns the same views over
 * one arena every time. A span that faults is read again from the first range
 * past the page that faulted, so coalescing never loses a range that a plain
 * read would get;
 * `completed` tells which ranges hold fresh data.
 *
 * @example
 * ```ts
 * import { RemoteReader } from "process-vm";
 * const reader = new RemoteReader(pid, [
 *   { address: hpAddress, length: 4 },
 *   { address: posAddress, length: 12 },
 * ]);
 * for (;;) {
 *   reader.read();
 *   if (reader.completed[0]) console.log("hp", reader.i32(0), "x", reader.f32(1, 0));
 *   await Bun.sleep(16);
 * }
 * ```
 */
export class RemoteReader extends RemoteBatch {
  /**
   * @param pid Target process id.
   * @param ranges The ranges to read; `views[i]` belongs to `ranges[i]`.
   * @param options See {@link RemoteReaderOptions}.
   */
  constructor(pid: number, ranges: readonly RemoteRange[], options?: RemoteReaderOptions) {
    const gap = options?.coalesce ?? 4096;
    if (typeof gap !== "number") throw new TypeError(`options.coalesce must be a number (got ${describe(gap)})`);
    if (!Number.isInteger(gap) || gap < -1) throw new RangeError(`options.coalesce must be an integer >= -1 (got ${describe(gap)})`);
    super("process_vm_readv", pid, ranges, gap, true);
  }

  /**
   * Reads every range. Returns {@link views} (the same array every time).
   * Ranges that could not be read whole have `completed[i] === 0`; their
   * bytes are stale, or partly fresh where the range ran into an unreadable page.
   *
   * @throws {ProcessVmError} `ESRCH` when the process is gone, `EPERM` without permission.
   */
  read(): readonly Uint8Array[] {
    this.transfer();
    return this.views;
  }
}

let setWriterGuard: (writer: RemoteWriter, guard: () => void) => void = () => {};

/**
 * Makes `writer` call `guard` before every write (used by `Process.writer()`; not part of the public API).
 *
 * @example
 * ```ts
 * return guardWriter(new RemoteWriter(pid, ranges), () => proc.verify());
 * ```
 */
export function guardWriter(writer: RemoteWriter, guard: () => void): RemoteWriter {
  setWriterGuard(writer, guard);
  return writer;
}

/**
 * The mirror of {@link RemoteReader}: fill `views[i]` (or use the typed
 * setters on `data` at `offsetOf(i)`), then `write()`. Only ranges that touch
 * are merged (never the gap between two ranges, which belongs to the target).
 *
 * @example
 * ```ts
 * import { RemoteWriter } from "process-vm";
 * const writer = new RemoteWriter(pid, [{ address: hpAddress, length: 4 }]);
 * writer.data.setInt32(writer.offsetOf(0), 999, true);
 * writer.write(); // 1 range written
 * ```
 */
export class RemoteWriter extends RemoteBatch {
  /** Called before each write: a `Process` that made this writer checks its identity there. */
  #guard: (() => void) | null = null;

  static {
    setWriterGuard = (writer, guard) => {
      writer.#guard = guard;
    };
  }

  /**
   * @param pid Target process id.
   * @param ranges The ranges to write, in the order they are written; `views[i]` belongs to `ranges[i]`.
   */
  constructor(pid: number, ranges: readonly RemoteRange[]) {
    super("process_vm_writev", pid, ranges, 0, false);
  }

  /**
   * Writes every range from its view. Returns the number of ranges written whole;
   * `completed` says which. A writer made by `Process.writer()` first checks
   * that the pid still runs the same program (`Process.verify`).
   *
   * @throws {ProcessVmError} `ESRCH` when the process is gone, `EPERM` without permission.
   */
  write(): number {
    this.#guard?.();
    return this.transfer();
  }
}

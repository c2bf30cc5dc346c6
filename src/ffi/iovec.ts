/**
 * Packed `struct iovec` tables over explicitly allocated `ArrayBuffer`s.
 *
 * On 64-bit Linux an iovec is 16 bytes: `void *iov_base` (u64) then
 * `size_t iov_len` (u64), little-endian on x86-64 and aarch64. 64-bit fields
 * are written as two 32-bit halves so that no BigInt is made on the hot path.
 *
 * @module
 */
import { addressOf, pinnedBuffer } from "./libc.ts";

/**
 * `sizeof(struct iovec)` on 64-bit Linux.
 *
 * @example
 * ```ts
 * const table = new ArrayBuffer(count * IOVEC_SIZE);
 * ```
 */
export const IOVEC_SIZE = 16;
/** `offsetof(struct iovec, iov_base)`. */
export const IOV_BASE_OFFSET = 0;
/** `offsetof(struct iovec, iov_len)`. */
export const IOV_LEN_OFFSET = 8;
/**
 * `IOV_MAX` (`UIO_MAXIOV`): the most entries one call accepts on either side.
 * `readv`/`writev` split longer lists into successive calls.
 *
 * @example
 * ```ts
 * const calls = Math.ceil(ranges.length / IOV_MAX);
 * ```
 */
export const IOV_MAX = 1024;

const TWO_32 = 4294967296;

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error("process-vm: big-endian hosts are not supported");
}

/**
 * A fixed-capacity table of iovec entries. The backing `SharedArrayBuffer` is
 * owned by the table and cannot be detached, so `address` stays valid for as
 * long as the table is reachable.
 *
 * @example
 * ```ts
 * const remote = new IovecTable(2);
 * remote.set(0, 0x7f0000001000, 8);
 * remote.set(1, 0x7f0000002000, 16);
 * ```
 */
export class IovecTable {
  /** Number of entries the table holds. */
  readonly capacity: number;
  /** The packed entries (shared memory: it cannot be detached while `address` is in use). */
  readonly buffer: SharedArrayBuffer;
  /** Native address of entry 0. */
  readonly address: number;
  readonly #words: Uint32Array;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.buffer = pinnedBuffer(Math.max(1, capacity) * IOVEC_SIZE);
    this.#words = new Uint32Array(this.buffer);
    this.address = addressOf(this.buffer);
  }

  /** Sets entry `i` from a base below 2^53 and a length. */
  set(i: number, base: number, length: number): void {
    const w = this.#words;
    const j = (i << 2) | 0;
    w[j] = base >>> 0;
    w[j + 1] = (base / TWO_32) >>> 0;
    w[j + 2] = length >>> 0;
    w[j + 3] = (length / TWO_32) >>> 0;
  }

  /** Sets entry `i` from a base given as a number or a bigint (any 64-bit value). */
  setAny(i: number, base: number | bigint, length: number): void {
    if (typeof base === "number") return this.set(i, base, length);
    const w = this.#words;
    const j = (i << 2) | 0;
    w[j] = Number(base & 0xffffffffn);
    w[j + 1] = Number((base >> 32n) & 0xffffffffn);
    w[j + 2] = length >>> 0;
    w[j + 3] = (length / TWO_32) >>> 0;
  }

  /** Sets only the length of entry `i`. */
  setLength(i: number, length: number): void {
    const j = (i << 2) | 0;
    this.#words[j + 2] = length >>> 0;
    this.#words[j + 3] = (length / TWO_32) >>> 0;
  }

  /** Base of entry `i`, as a number (exact below 2^53). */
  base(i: number): number {
    const j = (i << 2) | 0;
    return this.#words[j + 1]! * TWO_32 + this.#words[j]!;
  }

  /** Length of entry `i`. */
  length(i: number): number {
    const j = (i << 2) | 0;
    return this.#words[j + 3]! * TWO_32 + this.#words[j + 2]!;
  }

  /** Native address of entry `i`. */
  entry(i: number): number {
    return this.address + i * IOVEC_SIZE;
  }
}

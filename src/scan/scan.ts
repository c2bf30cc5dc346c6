/**
 * Value scans (`scan`, `Scan`) and pattern scans (`findPattern`).
 *
 * @module
 */
import { ProcessVmError } from "../errors.ts";
import { PAGE_SIZE } from "../ffi/libc.ts";
import type { Region } from "../maps.ts";
import type { Process } from "../process.ts";
import { getValue, isLittleEndian, isValueType, VALUE_SIZE, type Endian, type Value, type ValueType } from "../types.ts";
import { existingRuns, zeroFilled, type MemoryLayout, type PagemapSource } from "../pagemap.ts";
import { PIECE, CHUNK, SNAP_CHUNK, SNAP_PIECE, ZERO, type Matcher, type Task, type TaskResult } from "./engine.ts";
import { gaps, intersectRuns, logicalRanges, readPositions, unionRuns } from "./layout.ts";
import { compilePattern, patternFromBytes, toPattern, type CompiledPattern } from "./pattern.ts";
import { CORES, runTasks, type RunOutcome } from "./pool.ts";
import {
  EITHER_SIGN_READINGS, isEitherSign, numericSpec, rawQuery, RELATIVE_OPS, type FirstQuery, type NextQuery, type NumericSpec, type RawQuery, type ScanValueType,
} from "./query.ts";
import { snapshotUnalignedRoutine, unalignedRoutine } from "./routines.ts";
import { selectRanges, type MemoryOptions } from "./regions.ts";
import { checkProcess, describe } from "../validate.ts";
import type { ScanMatchType, ScanValueOf } from "../value-map.ts";

/** Options of a scan step (first or next). */
export interface StepOptions {
  /** Stops the step; it rejects with `signal.reason` and the scan keeps its previous results. */
  signal?: AbortSignal;
  /** Called with bytes done and bytes in total, at least once per 16 MiB. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Workers to spread the work over. Default: one per core for large steps
   * (32 MiB or more, or 256 Ki matches), none (the main thread, in slices of
   * a few milliseconds) for small ones. `0` never uses Workers.
   */
  threads?: number;
  /**
   * Absolute tolerance of float comparisons (`eq`, `ne`, `increasedBy`,
   * `decreasedBy`), used when the query carries none. Without any, a float
   * `eq` matches exactly the value rounded to the type (`0.1` finds the `f32`
   * nearest 0.1), a text query such as `"1.5"` matches within half a unit of
   * its last digit (±0.05), and `increasedBy`/`decreasedBy` allow a few units
   * in the last place.
   */
  tolerance?: number;
}

/** Options of {@link scan}. */
export interface ScanOptions extends MemoryOptions, StepOptions {
  /**
   * Alignment of the addresses scanned. Default: the natural alignment of the
   * type (Cheat Engine's "fast scan"); 1 for `bytes` and `string`. `1` scans every offset.
   */
  align?: number;
  /** Encoding of `string` scans: `"utf8"` (default) or `"utf16le"`. */
  encoding?: "utf8" | "utf16le";
  /**
   * Byte order of the numbers scanned for, kept by the next steps: `"little"`
   * (default) or `"big"`, as emulators keep their guest's memory (Dolphin's
   * GameCube/Wii RAM, RPCS3's PS3 memory).
   */
  endian?: Endian;
}

/** Options of {@link findPattern}. */
export interface PatternScanOptions extends MemoryOptions {
  /** Only matches at addresses that are multiples of this. Default 1. */
  align?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** See {@link StepOptions.threads}. */
  threads?: number;
}

/** One reading of an address that matched, in the either-sign types (`int`, `int8` … `int64`). */
export interface ScanReading {
  type: ValueType;
  value: Value;
  /** Value at the step before, or `undefined` after the first step. */
  previous: Value | undefined;
}

/**
 * One match, as iterating a {@link Scan} for `T` yields it: `value` is a
 * `number` for `i32`, a `bigint` for `i64`/`u64`, a `Uint8Array` for `bytes`,
 * a `string` for `string` (see {@link ScanValueOf}).
 */
export interface ScanMatch<T extends ScanValueType = ScanValueType> {
  address: number;
  /** Value at the last scan step: a number, a bigint (64-bit integers), a `Uint8Array` (`bytes`) or a string (`string`). */
  value: ScanValueOf<T>;
  /** Value at the step before, or `undefined` after the first step. */
  previous: ScanValueOf<T> | undefined;
  /**
   * The type the value was read as. In the either-sign types (`int`, `int8` …
   * `int64`), the widest reading that matched (unsigned when both signs did).
   */
  type: ScanMatchType<T>;
  /** In the either-sign types: every reading that matched at this address, narrowest first, signed before unsigned. */
  readings?: ScanReading[];
}

/**
 * A step's matches. Two parts, disjoint, both in address order:
 * - flat matches: addresses and the values' bytes (in SharedArrayBuffers, read by the Workers of the next step);
 * - ranges: every position (at the part's alignment) whose bytes lie within contiguous `pieces` matches, its value
 *   in `data` at the piece's offset, or zeros for a piece without data (never-touched pages, not stored).
 * An `"unknown"` first scan is all ranges (a snapshot); a query that zero bytes satisfy keeps the never-touched
 * pages as zero pieces instead of millions of flat matches.
 */
interface Level {
  addresses: Float64Array;
  values: Uint8Array;
  /** Flat matches. */
  flat: number;
  /** {@link SNAP_PIECE} fields per piece: start, length, offset into `data` ({@link ZERO}: zeros). */
  pieces: Float64Array;
  /** The pieces' bytes, in chunks of {@link SNAP_CHUNK} (offsets run on across them; no piece crosses two). */
  data: SharedArrayBuffer[] | null;
  /** All matches: flat ones and positions in the pieces. */
  count: number;
}

interface Part {
  type: ValueType | "bytes";
  width: number;
  align: number;
  levels: Level[];
}

/** Figures of the last step of a scan. */
export interface ScanStats {
  /** Bytes the step covered: the memory selected (first scans), or the matches' and snapshot ranges' bytes. */
  selected: number;
  /** Bytes read from the target (present or swapped pages, file-backed and shared mappings), summed over the parts of an `"int"` scan. */
  read: number;
  /** Bytes known to hold zeros without reading them: pages of private anonymous mappings that were never touched. */
  untouched: number;
  /**
   * How existing pages were told: `"scan"` (the `PAGEMAP_SCAN` ioctl), `"entries"` (`/proc/PID/pagemap` entries),
   * `"none"` (pagemap could not be read: everything was read), `"off"` (`resident: false`).
   */
  pagemap: PagemapSource | "off";
  /** Why pagemap could not be read, with `pagemap: "none"`. */
  reason?: string;
}

const PARALLEL_BYTES = 32 << 20;
const PARALLEL_MATCHES = 256 << 10;
const ESRCH = 3;

function threadsFor(requested: number | undefined, work: number, threshold: number): number {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 0) throw new RangeError("threads must be an integer >= 0");
    return requested;
  }
  return work >= threshold ? CORES : 0;
}

/** Splits ranges into tasks' pieces of about `size` bytes (small ranges grouped). */
function piecesOf(ranges: readonly { start: number; end: number; limit?: number; offset?: number }[], size: number): Float64Array[] {
  const tasks: Float64Array[] = [];
  let cur: number[] = [];
  let bytes = 0;
  const flush = () => {
    if (cur.length) tasks.push(Float64Array.from(cur));
    cur = [];
    bytes = 0;
  };
  for (const r of ranges) {
    for (let a = r.start; a < r.end; ) {
      const len = Math.min(r.end - a, size - bytes);
      cur.push(a, len, r.limit ?? r.end, (r.offset ?? 0) + (a - r.start));
      bytes += len;
      a += len;
      if (bytes >= size) flush();
    }
  }
  flush();
  return tasks;
}

function taskSize(total: number, threads: number): number {
  if (threads === 0) return CHUNK;
  return Math.min(16 * CHUNK, Math.max(CHUNK, Math.ceil(total / (threads * 16) / CHUNK) * CHUNK));
}

function sharedF64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(8, n * 8)), 0, n);
}
function sharedU8(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(Math.max(8, n)), 0, n);
}
function sharedCopy(a: ArrayLike<number>): Float64Array {
  const out = sharedF64(a.length);
  out.set(a);
  return out;
}

/** Concatenates task results (in address order) into flat matches. */
function concat(results: readonly (TaskResult | undefined)[], width: number): { addresses: Float64Array; values: Uint8Array; flat: number } {
  let count = 0;
  for (const r of results) if (r) count += r.count;
  const addresses = sharedF64(count);
  const values = sharedU8(count * width);
  let at = 0;
  for (const r of results) {
    if (!r || r.count === 0) continue;
    addresses.set(r.addresses.subarray(0, r.count), at);
    values.set(r.values.subarray(0, r.count * width), at * width);
    at += r.count;
  }
  return { addresses, values, flat: count };
}

/** Merges two address-ordered sets of flat matches into one. */
function mergeFlat(
  x: { addresses: Float64Array; values: Uint8Array; flat: number },
  y: { addresses: Float64Array; values: Uint8Array; flat: number },
  w: number,
): { addresses: Float64Array; values: Uint8Array; flat: number } {
  if (y.flat === 0) return x;
  if (x.flat === 0) return y;
  const n = x.flat + y.flat;
  const addresses = sharedF64(n);
  const values = sharedU8(n * w);
  let i = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    const takeX = j >= y.flat || (i < x.flat && x.addresses[i]! < y.addresses[j]!);
    const src = takeX ? x : y;
    const at = takeX ? i++ : j++;
    addresses[k] = src.addresses[at]!;
    values.set(src.values.subarray(at * w, at * w + w), k * w);
  }
  return { addresses, values, flat: n };
}

function makeLevel(flat: { addresses: Float64Array; values: Uint8Array; flat: number }, pieces: Float64Array, data: SharedArrayBuffer[] | null, width: number, align: number): Level {
  return { ...flat, pieces, data, count: flat.flat + snapCount(pieces, width, align) };
}

function sum(results: readonly (TaskResult | undefined)[], key: "skipped" | "resident" | "zeroed"): number {
  let s = 0;
  for (const r of results) if (r) s += r[key];
  return s;
}

function skippedOf(results: readonly (TaskResult | undefined)[]): number {
  return sum(results, "skipped");
}

function emptyLevel(): Level {
  return { addresses: new Float64Array(0), values: new Uint8Array(0), flat: 0, pieces: new Float64Array(0), data: null, count: 0 };
}

/** Positions of `width` bytes at multiples of `align` within the contiguous runs of pieces. */
function snapCount(pieces: Float64Array, width: number, align: number): number {
  let n = 0;
  const lr = logicalRanges(pieces);
  for (let i = 0; i < lr.length; i += 2) n += positions(lr[i]!, lr[i + 1]!, width, align);
  return n;
}

/** Positions of `width` bytes at multiples of `align` within `[start, end)`. */
function positions(start: number, end: number, width: number, align: number): number {
  const last = end - width;
  const first = start + ((align - (start % align)) % align);
  return last >= first ? Math.floor((last - first) / align) + 1 : 0;
}

/** The bytes of a level's pieces at `[address, address + out.length)` (zeros where a piece has no data). */
function pieceBytes(level: Level, address: number, out: Uint8Array): void {
  out.fill(0);
  const p = level.pieces;
  const data = level.data;
  const end = address + out.length;
  // First piece ending after `address` (binary search).
  let lo = 0;
  let hi = p.length / SNAP_PIECE;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (p[mid * SNAP_PIECE]! + p[mid * SNAP_PIECE + 1]! <= address) lo = mid + 1;
    else hi = mid;
  }
  for (let k = lo * SNAP_PIECE; k < p.length && p[k]! < end; k += SNAP_PIECE) {
    const off = p[k + 2]!;
    if (off === ZERO || !data) continue;
    const s0 = Math.max(address, p[k]!);
    const e0 = Math.min(end, p[k]! + p[k + 1]!);
    const chunk = Math.floor(off / SNAP_CHUNK);
    const at = off - chunk * SNAP_CHUNK - p[k]!;
    if (e0 > s0) out.set(new Uint8Array(data[chunk]!, at + s0, e0 - s0), s0 - address);
  }
}

/**
 * Reads the `width` bytes at ascending addresses of a level's pieces: where
 * they lie within one piece, straight from its data (or a zero buffer);
 * across pieces, copied. Returns the DataView and offset to decode from.
 */
function pieceReader(level: Level, width: number): (address: number) => { dv: DataView; offset: number } {
  const p = level.pieces;
  const views = (level.data ?? []).map((b) => new DataView(b));
  const zeros = new DataView(new ArrayBuffer(Math.max(8, width)));
  const bytes = new Uint8Array(Math.max(8, width));
  const bytesDv = new DataView(bytes.buffer);
  const out: { dv: DataView<ArrayBufferLike>; offset: number } = { dv: zeros, offset: 0 };
  let k = 0;
  return (address) => {
    while (k < p.length && p[k]! + p[k + 1]! <= address) k += SNAP_PIECE;
    if (k < p.length && p[k]! <= address && address + width <= p[k]! + p[k + 1]!) {
      const off = p[k + 2]!;
      if (off === ZERO) {
        out.dv = zeros;
        out.offset = 0;
      } else {
        const chunk = Math.floor(off / SNAP_CHUNK);
        out.dv = views[chunk]!;
        out.offset = off - chunk * SNAP_CHUNK + (address - p[k]!);
      }
      return out;
    }
    pieceBytes(level, address, bytes.subarray(0, width));
    out.dv = bytesDv;
    out.offset = 0;
    return out;
  };
}

const ZERO_BYTES = new DataView(new ArrayBuffer(64));
const ZERO_OUT = new Int32Array(8);

/** Whether a first-scan matcher matches `width` zero bytes. */
function matchesZero(matcher: Matcher): boolean {
  if (matcher.kind === "numeric") return unalignedRoutine(matcher.spec)(ZERO_BYTES, 0, 1, 1, ZERO_OUT) > 0;
  if (matcher.op === "eq") return matcher.pattern !== null && matcher.pattern.bytes.every((b) => b === 0);
  return false;
}

/** Whether a next-scan matcher keeps a value that was zero and is zero. */
function keepsZero(matcher: Matcher): boolean {
  if (matcher.kind === "numeric") return snapshotUnalignedRoutine(matcher.spec)(ZERO_BYTES, ZERO_BYTES, 0, 0, 1, 1, ZERO_OUT) > 0;
  switch (matcher.op) {
    case "eq": return matcher.pattern !== null && matcher.pattern.bytes.every((b) => b === 0);
    case "ne": return !(matcher.pattern !== null && matcher.pattern.bytes.every((b) => b === 0));
    case "changed": return false;
    case "unchanged":
    case "any": return true;
  }
}

/** Zero pieces (no data) from flat `[start, end)` pairs. */
function zeroPieces(runs: ArrayLike<number>): Float64Array {
  const out = sharedF64((runs.length / 2) * SNAP_PIECE);
  for (let i = 0, k = 0; i < runs.length; i += 2, k += SNAP_PIECE) {
    out[k] = runs[i]!;
    out[k + 1] = runs[i + 1]! - runs[i]!;
    out[k + 2] = ZERO;
  }
  return out;
}


/** The error of a step stopped by the target's exit, with what was found before. */
export type ScanExitError<T> = ProcessVmError & { partial: T };

function exitError<T>(process: Process, outcome: RunOutcome, partial: T, ranges?: readonly { start: number; end: number }[]): ScanExitError<T> {
  // The length is what was left of the selected range where the scan stopped (unknown for next scans).
  const at = outcome.errAddress;
  const range = at === undefined ? undefined : ranges?.find((r) => r.start <= at && at < r.end);
  const length = range && at !== undefined ? range.end - at : undefined;
  const error = new ProcessVmError({ errno: outcome.errno!, syscall: "process_vm_readv", pid: process.pid, address: at, length });
  return Object.assign(error, { partial });
}

const utf8 = new TextDecoder("utf-8");
const utf16 = new TextDecoder("utf-16le");

/**
 * The matches of a value scan, narrowed step by step with {@link Scan.next}.
 * Matches are kept in flat typed arrays (an address and the value's bytes
 * each), every step's set is kept for {@link Scan.undo}, and iterating yields
 * one match object at a time.
 *
 * In the either-sign types (`"int"`, `"int8"` … `"int64"`) the scan holds one
 * set per reading (`i8`, `u8`, `i16`, …), as scanmem keeps a flag per
 * reading: an address counts once in {@link count}, {@link addresses} and
 * iteration, and its match lists the readings that matched
 * ({@link ScanMatch.readings}).
 *
 * @example
 * ```ts
 * import { Process } from "process-vm";
 * const game = Process.find("game")[0]!;
 * const hp = await game.scan("i32", 100);   // every i32 equal to 100
 * // … take a hit in the game …
 * await hp.next("decreased");
 * await hp.next(93);
 * for (const { address, value, previous } of hp) console.log(address.toString(16), previous, "->", value);
 * ```
 */
export class Scan<T extends ScanValueType = ScanValueType> implements Iterable<ScanMatch<T>> {
  /** The target. */
  readonly process: Process;
  /** The type scanned for. */
  readonly type: T;
  /** Byte order of the values (`"little"` unless the first scan said `endian: "big"`). */
  readonly endian: Endian;
  /** Bytes that could not be read (faults, vanished regions) during the last step. */
  skipped = 0;
  /**
   * Figures of the last step: bytes selected, read, and known to be zeros
   * without reading (never-touched pages), and how pagemap told them apart.
   *
   * @example
   * ```ts
   * const s = await proc.scan("i32", 100);
   * console.log(`read ${s.stats.read} of ${s.stats.selected} bytes (${s.stats.pagemap})`);
   * ```
   */
  stats: ScanStats;
  readonly #parts: Part[];
  readonly #encoding: "utf8" | "utf16le";
  readonly #resident: boolean;
  readonly #either: boolean;
  #busy = false;
  /** Either-sign types: the distinct addresses of the last step (null for snapshots), computed once per step. */
  #distinct: { last: Level[]; addresses: Float64Array | null; count: number } | undefined;
  /** The ranges the first scan read (`start, end` pairs): a reading tried at an address in a later step stays inside them. */
  readonly #ranges: Float64Array | undefined;

  /** @internal Made by {@link scan}. */
  constructor(
    process: Process, type: T, parts: Part[], encoding: "utf8" | "utf16le", skipped: number, stats: ScanStats, resident: boolean,
    endian: Endian = "little", ranges?: Float64Array,
  ) {
    this.#ranges = ranges;
    this.process = process;
    this.type = type;
    this.#parts = parts;
    this.#encoding = encoding;
    this.skipped = skipped;
    this.stats = stats;
    this.#resident = resident;
    this.endian = endian;
    this.#either = isEitherSign(type);
  }

  /**
   * Number of matches: of addresses (in the either-sign types, an address
   * that matches in several readings counts once). After an `"unknown"` first
   * scan, every position scanned.
   *
   * @example
   * ```ts
   * if (scan.count < 10) console.log([...scan]);
   * ```
   */
  get count(): number {
    if (this.#either) return this.#union().count;
    let n = 0;
    for (const p of this.#parts) n += p.levels[p.levels.length - 1]!.count;
    return n;
  }

  /** Either-sign types: the distinct addresses of the last step, cached until the step changes. */
  #union(): { addresses: Float64Array | null; count: number } {
    const last = this.#parts.map((p) => p.levels[p.levels.length - 1]!);
    const d = this.#distinct;
    if (d && d.last.length === last.length && d.last.every((l, i) => l === last[i])) return d;
    let result: { last: Level[]; addresses: Float64Array | null; count: number };
    const flat = unionLevel(last, 0);
    // Positions in pieces (a snapshot, never-touched zeros): the narrowest reading's hold every wider one's, as
    // the readings' pieces cover the same ranges; flat matches there are not counted twice.
    let cover = -1;
    this.#parts.forEach((p, i) => {
      const c = this.#parts[cover];
      if (last[i]!.pieces.length > 0 && (!c || p.width < c.width || (p.width === c.width && p.align < c.align))) cover = i;
    });
    if (cover < 0) {
      result = { last, addresses: flat.addresses, count: flat.flat };
    } else {
      const c = this.#parts[cover]!;
      const level = last[cover]!;
      const outside = flat.flat - countInPieces(flat.addresses, flat.flat, level.pieces, c.width, c.align);
      result = { last, addresses: null, count: level.count - level.flat + outside };
    }
    this.#distinct = result;
    return result;
  }

  /**
   * Number of steps taken (the first scan is step 1); {@link undo} goes back one.
   *
   * @example
   * ```ts
   * scan.steps; // 3 after a first scan and two next scans
   * ```
   */
  get steps(): number {
    return this.#parts[0]?.levels.length ?? 1;
  }

  /**
   * Narrows the matches with `query`, against their values now and at the
   * previous step: a value, `{ eq }`, `{ ne }`, `{ gt }`, `{ lt }`,
   * `{ min, max }`, `"changed"`, `"unchanged"`, `"increased"`, `"decreased"`,
   * `{ increasedBy }`, `{ decreasedBy }`, or scanmem-style text (`"> 5"`, `"+ 1"`…);
   * `"update"` keeps every match and refreshes its value (see {@link update}).
   * Matches are read coalesced: all within 4 KiB of each other in one iovec.
   * Matches that cannot be read any more are dropped (see {@link skipped}).
   *
   * @returns this scan, narrowed.
   * @throws {ProcessVmError} `ESRCH` when the target exits: the scan keeps its previous step, and the error's `partial` holds this step's matches found before the exit.
   * @example
   * ```ts
   * await scan.next("increased");
   * await scan.next({ increasedBy: 5 });
   * await scan.next("1..10");
   * ```
   */
  async next(query: NextQuery | string, options: StepOptions = {}): Promise<this> {
    options ??= {};
    if (typeof options !== "object") throw new TypeError(`options must be an object (got ${describe(options)})`);
    if (this.#busy) throw new Error("a step of this scan is already running");
    this.#busy = true;
    try {
      const update = query === "update" || (typeof query === "string" && query.trim().toLowerCase() === "update");
      const matchers = this.#parts.map((part) => this.#nextMatcher(part, query, options.tolerance, update));
      // Either-sign types, a value query: every reading is tried at every address still matching (scanmem's flags).
      const valueStep = this.#either && !update && matchers.some((m) => m?.kind === "numeric" && !RELATIVE_OPS.has(m.spec.op));
      const parents = this.#parts.map((p) => p.levels[p.levels.length - 1]!);
      const widest = Math.max(...this.#parts.map((p) => p.width));
      const union = valueStep ? unionLevel(parents, widest) : undefined;

      const levels: Level[] = [];
      const skips: number[] = [];
      const stats: ScanStats = { selected: 0, read: 0, untouched: 0, pagemap: this.#resident ? "scan" : "off" };
      const maps = this.#resident ? this.process.maps() : [];
      const snapshots = new Map<Float64Array, Level>();
      const inputs: Level[] = [];
      for (let i = 0; i < this.#parts.length; i++) {
        const part = this.#parts[i]!;
        const matcher = matchers[i]!;
        const prev = this.#parts[i - 1];
        const shared = i > 0 && prev!.width === part.width && prev!.align === part.align;
        const parent = !union ? parents[i]! : shared ? inputs[i - 1]! : restrictLevel(union, part, this.#ranges, piecesFor(this.#parts, parents, i));
        inputs.push(parent);
        if (!matcher) {
          levels.push(emptyLevel());
          continue;
        }
        const twin = twinOf(this.#parts, i, matchers, inputs);
        if (twin >= 0) {
          levels.push(levels[twin]!);
          continue;
        }
        const { level, outcome } = update
          ? await updateLevel(this.process, maps, this.#resident, part, parent, matcher, options, stats, snapshots)
          : await nextLevel(this.process, maps, this.#resident, part, parent, matcher, options, stats);
        skips.push(skippedOf(outcome.results));
        if (outcome.errno !== undefined) throw exitError(this.process, outcome, level);
        levels.push(level);
      }
      this.#parts.forEach((p, i) => p.levels.push(levels[i]!));
      this.stats = stats;
      // Each reading of an either-sign type reads the same addresses: count what none of them could read.
      this.skipped = this.#either ? (skips.length > 0 ? Math.min(...skips) : 0) : skips.reduce((a, b) => a + b, 0);
      return this;
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Keeps every match and refreshes its value, so that a later `"increased"`,
   * `"+ 5"`… compares with the value now (scanmem's `update`). Matches that
   * cannot be read any more are dropped; after an `"unknown"` first scan, the
   * snapshot is taken again. Same as `next("update")`; {@link undo} undoes it.
   *
   * @example
   * ```ts
   * await hp.update();           // values now, whatever they did meanwhile
   * await hp.next("increased");  // compared with the values at update()
   * ```
   */
  update(options: StepOptions = {}): Promise<this> {
    return this.next("update", options);
  }

  #nextMatcher(part: Part, query: NextQuery | string, tolerance: number | undefined, update: boolean): Matcher | null {
    if (part.type === "bytes") {
      if (update) return { kind: "bytes", op: "any", pattern: null, width: part.width };
      if (query === "changed" || query === "unchanged") return { kind: "bytes", op: query, pattern: null, width: part.width };
      const pattern = this.#bytesPattern(query);
      if (pattern.length !== part.width) throw new RangeError(`the new value has ${pattern.length} bytes, the scan's values ${part.width}`);
      return { kind: "bytes", op: "eq", pattern, width: part.width };
    }
    const raw = rawQuery(query);
    if (raw.op === "any" && !update) throw new TypeError(`"unknown" is a first-scan query; use "changed", "unchanged", … in next scans`);
    const spec = numericSpec(part.type, raw, tolerance, !this.#either, this.#either, this.endian === "big");
    return spec && { kind: "numeric", spec };
  }

  #bytesPattern(query: unknown): CompiledPattern {
    if (query instanceof Uint8Array) return patternFromBytes(query);
    if (typeof query === "string") {
      if (this.type === "string") return patternFromBytes(encodeText(query, this.#encoding), undefined, query);
      return compilePattern(query);
    }
    if (typeof query === "object" && query !== null && "eq" in query) return this.#bytesPattern((query as { eq: unknown }).eq);
    throw new TypeError(`a ${this.type} scan takes ${this.type === "string" ? "a string" : "a pattern string or a Uint8Array"}, "changed", "unchanged" or "update"`);
  }

  /**
   * Goes back to the previous step's matches. Returns false when at the first step.
   *
   * @example
   * ```ts
   * await scan.next(42); // oops
   * scan.undo();
   * ```
   */
  undo(): boolean {
    if (this.steps <= 1) return false;
    for (const p of this.#parts) p.levels.pop();
    return true;
  }

  /**
   * Match addresses `start` to `end` (indices, as in `slice`), ascending; in
   * the either-sign types, each address once.
   *
   * @example
   * ```ts
   * const first100 = scan.addresses(0, 100);
   * ```
   */
  addresses(start = 0, end = this.count): Float64Array {
    if (typeof start !== "number" || Number.isNaN(start)) throw new TypeError(`start must be a number (got ${describe(start)})`);
    if (typeof end !== "number" || Number.isNaN(end)) throw new TypeError(`end must be a number (got ${describe(end)})`);
    const count = this.count;
    const s = Math.max(0, Math.min(count, start < 0 ? count + start : start));
    const e = Math.max(s, Math.min(count, end < 0 ? count + end : end));
    if (this.#either) {
      const u = this.#union().addresses;
      if (u) return u.slice(s, e);
    } else if (this.#parts.length === 1) {
      const level = this.#parts[0]!.levels.at(-1)!;
      if (level.pieces.length === 0) return level.addresses.slice(s, e);
    }
    const out = new Float64Array(e - s);
    let i = 0;
    let k = 0;
    for (const m of this.#merged(false)) {
      if (i >= e) break;
      if (i >= s) out[k++] = m.address;
      i++;
    }
    return out;
  }

  /**
   * Iterates over the matches in address order, one object at a time.
   *
   * @example
   * ```ts
   * for (const { address, value } of scan) proc.writeI32(address, 999);
   * ```
   */
  [Symbol.iterator](): Generator<ScanMatch<T>> {
    // The values are decoded by the part's type, which is T's (see ScanValueOf).
    return this.#merged(true) as Generator<ScanMatch<never>>;
  }

  *#merged(withValues: boolean): Generator<ScanMatch> {
    const its = this.#parts.map((p) => this.#partMatches(p, withValues));
    if (its.length === 1) {
      yield* its[0]!;
      return;
    }
    const heads = its.map((it) => it.next());
    let group: ScanMatch[] = [];
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]!;
        if (!h.done && (best < 0 || h.value.address < (heads[best]!.value as ScanMatch).address)) best = i;
      }
      const m = best < 0 ? undefined : (heads[best]!.value as ScanMatch);
      if (this.#either && group.length > 0 && m?.address !== group[0]!.address) {
        yield grouped(group, withValues);
        group = [];
      }
      if (!m) return;
      if (this.#either) group.push(m);
      else yield m;
      heads[best] = its[best]!.next();
    }
  }

  *#partMatches(part: Part, withValues: boolean): Generator<ScanMatch> {
    const level = part.levels[part.levels.length - 1]!;
    const parent = part.levels.length > 1 ? part.levels[part.levels.length - 2]! : undefined;
    const type: ScanMatch["type"] = part.type === "bytes" ? (this.type === "string" ? "string" : "bytes") : part.type;
    const w = part.width;
    const lookup = parent && withValues ? previousLookup(parent, w) : undefined;
    const dv = new DataView(level.values.buffer, level.values.byteOffset, level.values.byteLength);
    const read = pieceReader(level, w);
    const match = (address: number, valueDv: DataView, offset: number): ScanMatch => {
      if (!withValues) return { address, value: 0, previous: undefined, type };
      const value = this.#decode(part, valueDv, offset);
      const prev = lookup?.(address);
      return { address, value, previous: prev ? this.#decode(part, prev.dv, prev.offset) : undefined, type };
    };
    // Flat matches and the positions of the pieces, merged in address order (the two are disjoint).
    const lr = logicalRanges(level.pieces);
    let i = 0;
    for (let r = 0; r < lr.length; r += 2) {
      const last = lr[r + 1]! - w;
      const start = lr[r]!;
      for (let a = start + ((part.align - (start % part.align)) % part.align); a <= last; a += part.align) {
        while (i < level.flat && level.addresses[i]! < a) {
          yield match(level.addresses[i]!, dv, i * w);
          i++;
        }
        if (!withValues) {
          yield match(a, dv, 0);
          continue;
        }
        const at = read(a);
        yield match(a, at.dv, at.offset);
      }
    }
    for (; i < level.flat; i++) yield match(level.addresses[i]!, dv, i * w);
  }

  #decode(part: Part, dv: DataView, offset: number): Value | Uint8Array | string {
    if (part.type !== "bytes") return getValue(dv, offset, part.type, this.endian !== "big");
    const bytes = new Uint8Array(dv.buffer, dv.byteOffset + offset, part.width).slice();
    if (this.type === "string") return (this.#encoding === "utf16le" ? utf16 : utf8).decode(bytes);
    return bytes;
  }
}

/**
 * The part before `i` whose step gives the same matches as part `i`, or -1:
 * the signed and unsigned readings of one width, for `=`/`!=` a value both
 * hold, from the same parent (`parents` empty: one parent shared by all).
 */
function twinOf(parts: readonly Part[], i: number, matchers: readonly (Matcher | null)[], parents: readonly Level[]): number {
  if (i === 0) return -1;
  const a = matchers[i];
  const b = matchers[i - 1];
  const pa = parts[i]!;
  const pb = parts[i - 1]!;
  if (a?.kind !== "numeric" || b?.kind !== "numeric" || pa.width !== pb.width || pa.align !== pb.align) return -1;
  if (parents.length > 0) {
    // The same positions and bytes: one level, or flat matches from one array and the same pieces.
    const x = parents[i]!;
    const y = parents[i - 1]!;
    const same = x === y || (x.addresses === y.addresses && x.flat === y.flat && samePieces(x, y));
    if (!same) return -1;
  }
  const x = a.spec;
  const y = b.spec;
  if (x.op !== y.op || (x.op !== "eq" && x.op !== "ne")) return -1;
  const bits = pa.width * 8;
  return BigInt.asUintN(bits, BigInt(x.a)) === BigInt.asUintN(bits, BigInt(y.a)) ? i - 1 : -1;
}

/** The readings of one address (narrowest first) as one match: the widest reading's value, every reading listed. */
function grouped(group: readonly ScanMatch[], withValues: boolean): ScanMatch {
  const main = group[group.length - 1]!;
  if (!withValues) return main;
  const readings = group.map((m) => ({ type: m.type as ValueType, value: m.value as Value, previous: m.previous as Value | undefined }));
  return { ...main, readings };
}

/** Finds the value of `address` in the previous level: addresses ascend, so moving cursors. */
function previousLookup(level: Level, w: number): (address: number) => { dv: DataView; offset: number } | undefined {
  const dv = new DataView(level.values.buffer, level.values.byteOffset, level.values.byteLength);
  const lr = logicalRanges(level.pieces);
  const read = pieceReader(level, w);
  let i = 0;
  let r = 0;
  return (address) => {
    while (i < level.flat && level.addresses[i]! < address) i++;
    if (i < level.flat && level.addresses[i] === address) return { dv, offset: i * w };
    while (r < lr.length && lr[r + 1]! < address + w) r += 2;
    if (r >= lr.length || address < lr[r]!) return undefined;
    return read(address);
  };
}

function encodeText(text: string, encoding: "utf8" | "utf16le"): Uint8Array {
  if (encoding === "utf16le") {
    const out = new Uint8Array(text.length * 2);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      out[2 * i] = c & 0xff;
      out[2 * i + 1] = c >> 8;
    }
    return out;
  }
  return new TextEncoder().encode(text);
}

type Flat = { addresses: Float64Array; values: Uint8Array; flat: number };

function pairsOf(ranges: readonly { start: number; end: number }[]): number[] {
  const out: number[] = [];
  for (const r of ranges) out.push(r.start, r.end);
  return out;
}
function rangesOf(pairs: ArrayLike<number>): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let i = 0; i < pairs.length; i += 2) out.push({ start: pairs[i]!, end: pairs[i + 1]! });
  return out;
}
function bytesOf(pairs: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < pairs.length; i += 2) n += pairs[i + 1]! - pairs[i]!;
  return n;
}

/** Records how pagemap was read into a step's figures ("none" wins: something was read in full). */
function noteSource(stats: ScanStats, layout: MemoryLayout): void {
  if (layout.source === "none") {
    stats.pagemap = "none";
    stats.reason = layout.reason;
  } else if (stats.pagemap !== "none") {
    stats.pagemap = layout.source;
  }
}

/** The holes handed to the engine (never-touched pages, not to be read): null when there are none. */
function engineHoles(layout: MemoryLayout): Float64Array | null {
  return layout.holes.length === 0 ? null : sharedCopy(layout.holes);
}

/** The first index in `[from, to)` of ascending `a` whose value is >= `x`. */
function lowerBound(a: Float64Array, x: number, from: number, to: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const pageDown = (a: number): number => a - (a % PAGE_SIZE);
const pageUp = (a: number): number => pageDown(a + PAGE_SIZE - 1);

async function nextLevel(
  process: Process,
  maps: readonly Region[],
  resident: boolean,
  part: Part,
  parent: Level,
  matcher: Matcher,
  options: StepOptions,
  stats: ScanStats,
): Promise<{ level: Level; outcome: RunOutcome }> {
  const w = part.width;
  const pid = process.pid;
  let flat: Flat = { addresses: new Float64Array(0), values: new Uint8Array(0), flat: 0 };
  let pieces: Float64Array = new Float64Array(0);
  const results: (TaskResult | undefined)[] = [];
  const control = (total: number, threads: number) => ({ signal: options.signal, onProgress: options.onProgress, threads, total });
  if (parent.flat > 0) {
    let holes: Float64Array | null = null;
    if (resident) {
      // Of each private anonymous mapping, the pages from its first match to its last: only there can a match lie
      // in a hole. Anything else (other mappings, addresses no longer mapped) is read as it is.
      const addresses = parent.addresses;
      const ranges: { start: number; end: number }[] = [];
      let i = 0;
      for (const region of maps) {
        if (!zeroFilled(region)) continue;
        i = lowerBound(addresses, region.start, i, parent.flat);
        if (i >= parent.flat) break;
        if (addresses[i]! >= region.end) continue;
        const j = lowerBound(addresses, region.end, i, parent.flat);
        ranges.push({ start: pageDown(addresses[i]!), end: Math.min(region.end, pageUp(addresses[j - 1]! + w)) });
        i = j;
      }
      if (ranges.length > 0) {
        const layout = existingRuns(pid, maps, ranges, true);
        noteSource(stats, layout);
        holes = engineHoles(layout);
      }
    }
    const total = parent.flat * w;
    stats.selected += total;
    const threads = threadsFor(options.threads, parent.flat, PARALLEL_MATCHES);
    const per = threads === 0 ? 16384 : Math.max(16384, Math.ceil(parent.flat / (threads * 16)));
    const tasks: Task[] = [];
    for (let i = 0; i < parent.flat; i += per) {
      tasks.push({ kind: "next", pid, matcher, width: w, addresses: parent.addresses, values: parent.values, from: i, to: Math.min(parent.flat, i + per), holes });
    }
    const outcome = await runTasks(tasks, control(total, threads));
    results.push(...outcome.results);
    stats.untouched += sum(outcome.results, "zeroed");
    flat = concat(outcome.results, w);
    if (outcome.errno !== undefined) return { level: makeLevel(flat, pieces, null, w, part.align), outcome: { ...outcome, results } };
  }
  if (parent.pieces.length > 0) {
    const ranges = logicalRanges(parent.pieces);
    let holes: Float64Array | null = null;
    let nowZero: ArrayLike<number> = [];
    if (resident) {
      const layout = existingRuns(pid, maps, rangesOf(ranges), true);
      noteSource(stats, layout);
      holes = engineHoles(layout);
      nowZero = layout.holes;
    }
    // Positions whose bytes were zeros without data then and are in holes now still are: the others are compared.
    const thenZero: number[] = [];
    for (let k = 0; k < parent.pieces.length; k += SNAP_PIECE) {
      if (parent.pieces[k + 2] === ZERO) thenZero.push(parent.pieces[k]!, parent.pieces[k]! + parent.pieces[k + 1]!);
    }
    const still = intersectRuns(nowZero, thenZero);
    const read = readPositions(ranges, gaps(ranges, still), w);
    let total = 0;
    for (const r of read) total += r.end - r.start;
    stats.selected += bytesOf(ranges);
    const threads = threadsFor(options.threads, total, PARALLEL_BYTES);
    const tasks: Task[] = piecesOf(read, taskSize(total, threads)).map((p) => ({
      kind: "snapNext", pid, matcher, width: w, align: part.align, pieces: p, holes, parent: parent.pieces, snap: parent.data,
    }));
    const outcome = await runTasks(tasks, control(total, threads));
    results.push(...outcome.results);
    flat = mergeFlat(flat, concat(outcome.results, w), w);
    stats.untouched += bytesOf(still);
    if (keepsZero(matcher)) pieces = zeroPieces(still);
    if (outcome.errno !== undefined) return { level: makeLevel(flat, pieces, null, w, part.align), outcome: { ...outcome, results } };
  }
  stats.read += sum(results, "resident");
  return { level: makeLevel(flat, pieces, null, w, part.align), outcome: { results } };
}

/** Whether two levels hold the same pieces (and their data). */
function samePieces(x: Level, y: Level): boolean {
  return (x.pieces === y.pieces || (x.pieces.length === 0 && y.pieces.length === 0)) && x.data === y.data;
}

/**
 * The flat addresses of the levels, merged, each once, with `width` zero
 * bytes of values each: a value step does not compare with them, but its
 * routine indexes them as the widest reading's values. No pieces.
 */
function unionLevel(levels: readonly Level[], width: number): Level {
  let merged: Float64Array = new Float64Array(0);
  for (const level of levels) {
    const b = level.addresses.subarray(0, level.flat);
    if (b.length === 0) continue;
    const out = new Float64Array(merged.length + b.length);
    let i = 0;
    let j = 0;
    let n = 0;
    while (i < merged.length || j < b.length) {
      const x = i < merged.length ? merged[i]! : Infinity;
      const y = j < b.length ? b[j]! : Infinity;
      if (x <= y) {
        out[n++] = x;
        i++;
        if (x === y) j++;
      } else {
        out[n++] = y;
        j++;
      }
    }
    merged = out.subarray(0, n);
  }
  const addresses = sharedCopy(merged);
  return { addresses, values: sharedU8(merged.length * width), flat: merged.length, pieces: new Float64Array(0), data: null, count: merged.length };
}

/** How many of `addresses[0, n)` (ascending) are positions of `width` bytes at `align` in `pieces`. */
function countInPieces(addresses: Float64Array, n: number, pieces: Float64Array, width: number, align: number): number {
  const lr = logicalRanges(pieces);
  let r = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const a = addresses[i]!;
    while (r < lr.length && lr[r + 1]! <= a) r += 2;
    if (r < lr.length && a >= lr[r]! && a + width <= lr[r + 1]! && a % align === 0) c++;
  }
  return c;
}

/**
 * The pieces reading `i` is tried over in a value step of an either-sign type:
 * the positions, within the readings' pieces (a snapshot, never-touched
 * zeros), that were positions of those readings. All the same pieces (after
 * `"unknown"`): those. Else, as zeros (a value step compares the memory now,
 * and what was not touched then held zeros), the union of the readings'
 * ranges, each shortened by the width its reading has more than reading `i`.
 * That is exact when the readings share an alignment (`align: 1`, as
 * scanmem); with natural alignment a narrower reading is also tried at its
 * own positions between a wider one's (a few more candidates, never fewer).
 */
function piecesFor(parts: readonly Part[], levels: readonly Level[], i: number): { pieces: Float64Array; data: SharedArrayBuffer[] | null } {
  const donors = levels.map((l, k) => k).filter((k) => levels[k]!.pieces.length > 0);
  if (donors.length === 0) return { pieces: new Float64Array(0), data: null };
  const first = levels[donors[0]!]!;
  const same = (l: Level) =>
    l.pieces === first.pieces || (l.data === first.data && l.pieces.length === first.pieces.length && l.pieces.every((x, k) => x === first.pieces[k]));
  const part = parts[i]!;
  if (donors.length === levels.length && levels.every(same)) return { pieces: first.pieces, data: first.data };
  let merged: ArrayLike<number> = [];
  for (const k of donors) {
    const p = parts[k]!;
    const shorter = Math.max(0, p.width - part.width);
    const lr = logicalRanges(levels[k]!.pieces);
    const cut: number[] = [];
    for (let r = 0; r < lr.length; r += 2) if (lr[r + 1]! - shorter > lr[r]!) cut.push(lr[r]!, lr[r + 1]! - shorter);
    merged = unionRuns(merged, cut);
  }
  return { pieces: zeroPieces(merged), data: null };
}

/**
 * `part`'s input to a value step of an either-sign type: the addresses of
 * `union` where `part` has a position (aligned for it, its whole width inside
 * one of the ranges scanned: `start, end` pairs, none: no bound) that is not
 * one of the pieces' positions, plus the pieces (`own`).
 */
function restrictLevel(union: Level, part: Part, ranges: Float64Array | undefined, own: { pieces: Float64Array; data: SharedArrayBuffer[] | null }): Level {
  const w = part.width;
  const align = part.align;
  const lr = logicalRanges(own.pieces);
  const keep = new Float64Array(union.flat);
  let n = 0;
  let r = 0;
  let q = 0;
  for (let i = 0; i < union.flat; i++) {
    const a = union.addresses[i]!;
    if (a % align !== 0) continue;
    if (ranges) {
      while (r < ranges.length && ranges[r + 1]! <= a) r += 2;
      if (r >= ranges.length || a < ranges[r]! || a + w > ranges[r + 1]!) continue;
    }
    while (q < lr.length && lr[q + 1]! <= a) q += 2;
    if (q < lr.length && a >= lr[q]! && a + w <= lr[q + 1]!) continue; // one of its pieces' positions
    keep[n++] = a;
  }
  const addresses = n === union.flat ? union.addresses : sharedCopy(keep.subarray(0, n));
  return { addresses, values: union.values, flat: n, pieces: own.pieces, data: own.data, count: n + snapCount(own.pieces, w, align) };
}

/**
 * `update`: the flat matches read again (kept when readable), and the ranges
 * of the pieces snapshotted again (never-touched pages still kept as zeros);
 * readings whose pieces are the same share one new snapshot (`snapshots`).
 */
async function updateLevel(
  process: Process,
  maps: readonly Region[],
  resident: boolean,
  part: Part,
  parent: Level,
  matcher: Matcher,
  options: StepOptions,
  stats: ScanStats,
  snapshots: Map<Float64Array, Level>,
): Promise<{ level: Level; outcome: RunOutcome }> {
  const w = part.width;
  let level = emptyLevel();
  const results: (TaskResult | undefined)[] = [];
  if (parent.flat > 0) {
    const flatOnly: Level = { ...parent, pieces: new Float64Array(0), data: null, count: parent.flat };
    const r = await nextLevel(process, maps, resident, part, flatOnly, matcher, options, stats);
    if (r.outcome.errno !== undefined) return r;
    level = r.level;
    results.push(...r.outcome.results);
  }
  if (parent.pieces.length === 0) return { level, outcome: { results } };
  let snap = snapshots.get(parent.pieces);
  if (!snap) {
    const ranges = logicalRanges(parent.pieces);
    const layout = existingRuns(process.pid, maps, rangesOf(ranges), resident);
    noteSource(stats, layout);
    const zeroRuns = Array.from(layout.holes);
    stats.selected += bytesOf(ranges);
    stats.untouched += bytesOf(zeroRuns);
    const total = layout.existing;
    const threads = threadsFor(options.threads, total, PARALLEL_BYTES);
    const taken = await takeSnapshot(process, layout.runs, zeroRuns, { signal: options.signal, onProgress: options.onProgress, threads, total });
    stats.read += sum(taken.outcome.results, "resident");
    results.push(...taken.outcome.results);
    if (taken.outcome.errno !== undefined) return { level, outcome: { ...taken.outcome, results } };
    snap = taken.level;
    snapshots.set(parent.pieces, snap);
  }
  return {
    level: { ...level, pieces: snap.pieces, data: snap.data, count: level.flat + snapCount(snap.pieces, w, part.align) },
    outcome: { results },
  };
}

function checkAlign(align: unknown): number | undefined {
  if (align === undefined) return undefined;
  if (typeof align !== "number" || !Number.isInteger(align) || align < 1 || align > 4096) throw new RangeError("align must be an integer from 1 to 4096");
  return align;
}

/**
 * Starts a value scan of `process`'s memory: every address (at the type's
 * natural alignment unless `align` says otherwise) whose value matches `query`.
 *
 * - `type`: `i8` … `u64`, `f32`, `f64`, `"int"` (any integer width), `"bytes"`, `"string"`.
 * - `query`: a value, `{ eq }`, `{ ne }`, `{ gt }`, `{ lt }`, `{ min, max }`,
 *   `"unknown"` (snapshot every position, to compare in the next scan), or
 *   scanmem-style text (`"100"`, `"1..10"`, `"?"`); a pattern (`"48 8b ?? 05"`)
 *   or bytes for `bytes`; the text for `string`.
 * - Memory: readable, writable, private mappings by default (see {@link MemoryOptions}).
 *
 * Large scans run on one Worker per core; small ones on the main thread in
 * slices of a few milliseconds. Regions that fault or vanish are skipped and
 * counted in `scan.skipped`.
 *
 * @throws {ProcessVmError} `ESRCH` when the target exits during the scan; its `partial` is a {@link Scan} of the matches found before.
 * @example
 * ```ts
 * import { Process, scan } from "process-vm";
 * const proc = new Process(pid);
 * const gold = await scan(proc, "u32", 1500, { kinds: ["heap", "anonymous"] });
 * console.log(gold.count, gold.addresses(0, 10));
 * ```
 */
export async function scan<T extends ScanValueType>(
  process: Process,
  type: T,
  query: FirstQuery | string | CompiledPattern,
  options: ScanOptions = {},
): Promise<Scan<T>> {
  checkProcess(process);
  if (!(isValueType(type) || isEitherSign(type) || type === "bytes" || type === "string")) {
    throw new TypeError(`unknown scan type ${describe(type)} (expected i8…u64, f32, f64, int, int8…int64, bytes or string)`);
  }
  const endian: Endian = isLittleEndian(options.endian) ? "little" : "big";
  const align = checkAlign(options.align);
  if (options.tolerance !== undefined && !(typeof options.tolerance === "number" && options.tolerance >= 0)) {
    throw new RangeError(`options.tolerance must be a non-negative number (got ${describe(options.tolerance)})`);
  }
  const encoding = options.encoding ?? "utf8";
  if (encoding !== "utf8" && encoding !== "utf16le") throw new RangeError(`encoding must be "utf8" or "utf16le"`);
  const parts: Part[] = [];
  const matchers: (Matcher | null)[] = [];
  if (type === "bytes" || type === "string") {
    let pattern: CompiledPattern;
    if (query instanceof Uint8Array) pattern = patternFromBytes(query);
    else if (typeof query === "string") pattern = type === "string" ? patternFromBytes(encodeText(query, encoding), undefined, query) : compilePattern(query);
    else if (type === "bytes" && typeof query === "object" && query !== null && "mask" in query) pattern = toPattern(query);
    else throw new TypeError(`a ${type} scan takes ${type === "string" ? "a string" : "a pattern string or a Uint8Array"}`);
    if (pattern.length === 0) throw new RangeError("empty search string");
    parts.push({ type: "bytes", width: pattern.length, align: align ?? 1, levels: [] });
    matchers.push({ kind: "bytes", op: "eq", pattern, width: pattern.length });
  } else {
    if (typeof query === "string" && query.trim().toLowerCase() === "update") {
      throw new TypeError(`"update" refreshes the values of a scan: use it in next steps ("unknown" snapshots every position)`);
    }
    const raw: RawQuery = rawQuery(query);
    if (raw.op !== "any" && raw.op !== "eq" && raw.op !== "ne" && raw.op !== "gt" && raw.op !== "lt" && raw.op !== "range") {
      throw new TypeError(`"${raw.op}" compares with a previous value: start with a value, a range or "unknown"`);
    }
    const either = isEitherSign(type);
    const types: readonly ValueType[] = either ? EITHER_SIGN_READINGS[type] : [type];
    for (const t of types) {
      const spec: NumericSpec | null = numericSpec(t, raw, options.tolerance, !either, either, endian === "big");
      parts.push({ type: t, width: VALUE_SIZE[t], align: align ?? VALUE_SIZE[t], levels: [] });
      matchers.push(spec && { kind: "numeric", spec });
    }
  }
  const resident = residentOption(options.resident);
  const maps = process.maps();
  const ranges = selectRanges(maps, options);
  const rangePairs = pairsOf(ranges);
  const layout = existingRuns(process.pid, maps, ranges, resident);
  const holes = engineHoles(layout);
  const zeroRuns = Array.from(layout.holes);
  const stats: ScanStats = { selected: layout.selected, read: 0, untouched: bytesOf(zeroRuns), pagemap: layout.source };
  if (layout.reason !== undefined) stats.reason = layout.reason;
  const total = layout.existing;
  const threads = threadsFor(options.threads, total, PARALLEL_BYTES);
  const control = { signal: options.signal, onProgress: options.onProgress, threads, total };
  let skipped = 0;
  // Each reading of an either-sign type reads the same memory: count what it could not read once.
  const skip = (n: number) => (skipped = isEitherSign(type) ? Math.max(skipped, n) : skipped + n);
  let snapshot: Level | undefined;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const matcher = matchers[i];
    if (!matcher) {
      part.levels.push(emptyLevel());
      continue;
    }
    if (matcher.kind === "numeric" && matcher.spec.op === "any") {
      if (!snapshot) {
        const { level, outcome } = await takeSnapshot(process, layout.runs, zeroRuns, control);
        skip(skippedOf(outcome.results));
        stats.read += sum(outcome.results, "resident");
        snapshot = level;
        if (outcome.errno !== undefined) {
          const partial = partialScan(process, type, parts, i, level, encoding, skipped, stats, resident, endian);
          throw exitError(process, outcome, partial, ranges);
        }
      }
      part.levels.push({ ...snapshot, count: snapCount(snapshot.pieces, part.width, part.align) });
      continue;
    }
    const twin = twinOf(parts, i, matchers, []);
    if (twin >= 0) {
      part.levels.push(parts[twin]!.levels[0]!);
      continue;
    }
    const read = readPositions(rangePairs, layout.runs, part.width);
    const tasks: Task[] = piecesOf(read, taskSize(total, threads)).map((pieces) => ({
      kind: "first", pid: process.pid, matcher, width: part.width, align: part.align, pieces, holes,
    }));
    const outcome = await runTasks(tasks, control);
    skip(skippedOf(outcome.results));
    stats.read += sum(outcome.results, "resident");
    const zero = matchesZero(matcher) ? zeroPieces(zeroRuns) : new Float64Array(0);
    const level = makeLevel(concat(outcome.results, part.width), zero, null, part.width, part.align);
    if (outcome.errno !== undefined) {
      if (outcome.errno !== ESRCH) throw exitError(process, outcome, undefined, ranges);
      throw exitError(process, outcome, partialScan(process, type, parts, i, level, encoding, skipped, stats, resident, endian), ranges);
    }
    part.levels.push(level);
  }
  return new Scan(process, type, parts, encoding, skipped, stats, resident, endian, Float64Array.from(rangePairs));
}

function residentOption(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== "boolean") throw new TypeError(`options.resident must be a boolean (got ${String(value)})`);
  return value;
}

function partialScan<T extends ScanValueType>(
  process: Process, type: T, parts: Part[], i: number, level: Level, encoding: "utf8" | "utf16le",
  skipped: number, stats: ScanStats, resident: boolean, endian: Endian,
): Scan<T> {
  const done = parts.map((p, k) => ({ ...p, levels: k < i ? p.levels : k === i ? [level] : [emptyLevel()] }));
  if (level.flat === 0 && level.data !== null) done.forEach((p) => (p.levels = [{ ...level, count: snapCount(level.pieces, p.width, p.align) }]));
  return new Scan(process, type, done, encoding, skipped, stats, resident, endian);
}

/**
 * Reads the existing `runs` into one buffer; the never-touched `zeroRuns` are
 * kept as pieces without data. Together they cover the selection.
 */
async function takeSnapshot(
  process: Process,
  runs: Float64Array,
  zeroRuns: readonly number[],
  control: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void; threads: number; total: number },
): Promise<{ level: Level; outcome: RunOutcome }> {
  // Each run at an offset ≡ its address mod 8, so typed views of the snapshot stay aligned; a run that does not
  // fit in what is left of a chunk goes on in the next one.
  let size = 0;
  const placed: { start: number; end: number; offset: number }[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    let start = runs[i]!;
    const end = runs[i + 1]!;
    while (start < end) {
      size += (((start % 8) - size) % 8 + 8) % 8;
      const room = SNAP_CHUNK - (size % SNAP_CHUNK);
      if (room < 8) {
        size += room; // the next chunk
        continue;
      }
      const len = Math.min(end - start, room);
      placed.push({ start, end: start + len, offset: size });
      size += len;
      start += len;
    }
  }
  const data: SharedArrayBuffer[] = [];
  try {
    for (let at = 0; at < size; at += SNAP_CHUNK) data.push(new SharedArrayBuffer(Math.min(SNAP_CHUNK, size - at)));
  } catch (error) {
    throw new RangeError(
      `an unknown-value scan keeps ${(size / 2 ** 30).toFixed(2)} GiB of the target's memory, and that much could not be allocated ` +
        `(${(error as Error).message}): select less memory (within, kinds, module), or scan for a value or a range instead`,
    );
  }
  const piecesList = piecesOf(placed, taskSize(control.total, control.threads));
  const tasks: Task[] = piecesList.map((pieces) => ({ kind: "snapshot", pid: process.pid, pieces, snap: data }));
  const outcome = await runTasks(tasks, control);
  const got: number[] = [];
  outcome.results.forEach((r, t) => {
    if (!r?.read) return;
    const pieces = piecesList[t]!;
    for (let q = 0, k = 0; q < pieces.length; q += PIECE, k++) {
      const n = r.read[k]!;
      if (n <= 0) continue;
      const start = pieces[q]!;
      const offset = pieces[q + 3]!;
      const m = got.length;
      // Contiguous pieces join, except where a chunk of the data begins.
      if (m > 0 && got[m - 3]! + got[m - 2]! === start && got[m - 1]! + got[m - 2]! === offset && offset % SNAP_CHUNK !== 0) got[m - 2]! += n;
      else got.push(start, n, offset);
    }
  });
  // Data pieces and zero pieces, in address order.
  const out: number[] = [];
  let z = 0;
  for (let k = 0; k <= got.length; k += SNAP_PIECE) {
    const next = k < got.length ? got[k]! : Infinity;
    while (z < zeroRuns.length && zeroRuns[z]! < next) {
      out.push(zeroRuns[z]!, zeroRuns[z + 1]! - zeroRuns[z]!, ZERO);
      z += 2;
    }
    if (k < got.length) out.push(got[k]!, got[k + 1]!, got[k + 2]!);
  }
  return { level: { addresses: new Float64Array(0), values: new Uint8Array(0), flat: 0, pieces: sharedCopy(out), data, count: 0 }, outcome };
}

/**
 * Every address where `pattern` matches, ascending (overlapping matches
 * included; a match that straddles two 1 MiB chunks is found once). The
 * pattern is compiled once and searched with a native `indexOf` on its longest
 * exact run, then checked in full. Memory selection as in {@link scan}
 * (readable, writable, private by default); `{ code: true }` searches
 * executable file-backed mappings, `{ module: "libgame.so" }` one module.
 *
 * @throws {PatternSyntaxError} for an invalid pattern.
 * @throws {ProcessVmError} `ESRCH` when the target exits during the scan; its `partial` holds the addresses found before.
 * @example
 * ```ts
 * import { findPattern, Process } from "process-vm";
 * const proc = new Process(pid);
 * const hits = await findPattern(proc, "48 8b 05 ?? ?? ?? ?? 48 85 c0", { module: "game" });
 * ```
 */
export async function findPattern(process: Process, pattern: string | CompiledPattern, options: PatternScanOptions = {}): Promise<number[]> {
  checkProcess(process);
  const compiled = toPattern(pattern);
  const align = checkAlign(options.align) ?? 1;
  const maps = process.maps();
  const ranges = selectRanges(maps, options);
  const layout = existingRuns(process.pid, maps, ranges, residentOption(options.resident));
  const holes = engineHoles(layout);
  const total = layout.existing;
  const threads = threadsFor(options.threads, total, PARALLEL_BYTES);
  const matcher: Matcher = { kind: "bytes", op: "eq", pattern: compiled, width: compiled.length };
  const rangePairs = pairsOf(ranges);
  const tasks: Task[] = piecesOf(readPositions(rangePairs, layout.runs, compiled.length), taskSize(total, threads)).map((pieces) => ({
    kind: "first", pid: process.pid, matcher, width: compiled.length, align, pieces, holes, addressesOnly: true,
  }));
  const outcome = await runTasks(tasks, { signal: options.signal, onProgress: options.onProgress, threads, total });
  const found: number[] = [];
  for (const r of outcome.results) if (r) for (let i = 0; i < r.count; i++) found.push(r.addresses[i]!);
  if (outcome.errno !== undefined) throw exitError(process, outcome, found, ranges);
  if (holes && matchesZero(matcher)) {
    // A pattern that zero bytes satisfy matches all over the never-touched pages: every position there, in order.
    const zero = layout.holes;
    const merged: number[] = [];
    let i = 0;
    for (let z = 0; z < zero.length; z += 2) {
      const last = zero[z + 1]! - compiled.length;
      for (let a = zero[z]! + ((align - (zero[z]! % align)) % align); a <= last; a += align) {
        while (i < found.length && found[i]! < a) merged.push(found[i++]!);
        merged.push(a);
      }
    }
    while (i < found.length) merged.push(found[i++]!);
    return merged;
  }
  return found;
}

/**
 * Value scans (`scan`, `Scan`) and pattern scans (`findPattern`).
 *
 * @module
 */
import { ProcessVmError } from "../errors.ts";
import type { Process } from "../process.ts";
import { getValue, isLittleEndian, isValueType, VALUE_SIZE, type Endian, type Value, type ValueType } from "../types.ts";
import { PIECE, CHUNK, type Matcher, type Task, type TaskResult } from "./engine.ts";
import { compilePattern, patternFromBytes, toPattern, type CompiledPattern } from "./pattern.ts";
import { CORES, runTasks, type RunOutcome } from "./pool.ts";
import {
  EITHER_SIGN_READINGS, isEitherSign, numericSpec, rawQuery, RELATIVE_OPS, type FirstQuery, type NextQuery, type NumericSpec, type RawQuery, type ScanValueType,
} from "./query.ts";
import { selectRanges, type MemoryOptions, type ScanRange } from "./regions.ts";

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

/** One match, as iterating a {@link Scan} yields it. */
export interface ScanMatch {
  address: number;
  /** Value at the last scan step: a number, a bigint (64-bit integers), a `Uint8Array` (`bytes`) or a string (`string`). */
  value: Value | Uint8Array | string;
  /** Value at the step before, or `undefined` after the first step. */
  previous: Value | Uint8Array | string | undefined;
  /**
   * The type the value was read as. In the either-sign types (`int`, `int8` …
   * `int64`), the widest reading that matched (unsigned when both signs did).
   */
  type: ValueType | "bytes" | "string";
  /** In the either-sign types: every reading that matched at this address, narrowest first, signed before unsigned. */
  readings?: ScanReading[];
}

/** A step's matches: flat arrays (in SharedArrayBuffers, read by the Workers of the next step). */
interface MatchLevel {
  kind: "matches";
  addresses: Float64Array;
  values: Uint8Array;
  count: number;
}

/** An unknown-initial-value snapshot: the bytes of the ranges read. */
interface SnapLevel {
  kind: "snapshot";
  /** start, length, offset into `data`, per range. */
  ranges: Float64Array;
  data: SharedArrayBuffer;
  count: number;
}

type Level = MatchLevel | SnapLevel;

interface Part {
  type: ValueType | "bytes";
  width: number;
  align: number;
  levels: Level[];
}

/**
 * The addresses of `union` where `part` has a position: aligned for it, and
 * with its whole width inside one of the ranges scanned (`start, end` pairs;
 * none: no bound). The values are `union`'s (a value step does not read them).
 */
function restrictLevel(union: MatchLevel, part: Part, ranges: Float64Array | undefined): MatchLevel {
  const w = part.width;
  const align = part.align;
  const keep = new Float64Array(union.count);
  let n = 0;
  let r = 0;
  for (let i = 0; i < union.count; i++) {
    const a = union.addresses[i]!;
    if (a % align !== 0) continue;
    if (ranges) {
      while (r < ranges.length && ranges[r + 1]! <= a) r += 2;
      if (r >= ranges.length || a < ranges[r]! || a + w > ranges[r + 1]!) continue;
    }
    keep[n++] = a;
  }
  if (n === union.count) return union;
  const addresses = sharedF64(n);
  addresses.set(keep.subarray(0, n));
  return { kind: "matches", addresses, values: union.values, count: n };
}

/**
 * Every address of the parts' last levels (match levels), once, with `width`
 * zero bytes of values each: a value step does not compare with them, but its
 * routine indexes them as the widest reading's values.
 */
function unionLevel(levels: readonly MatchLevel[], width: number): MatchLevel {
  let merged: Float64Array = new Float64Array(0);
  for (const level of levels) {
    const b = level.addresses.subarray(0, level.count);
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
  const addresses = sharedF64(merged.length);
  addresses.set(merged);
  return { kind: "matches", addresses, values: sharedU8(merged.length * width), count: merged.length };
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

/** Concatenates task results (in address order) into one level. */
function concat(results: readonly (TaskResult | undefined)[], width: number): MatchLevel {
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
  return { kind: "matches", addresses, values, count };
}

function skippedOf(results: readonly (TaskResult | undefined)[]): number {
  let s = 0;
  for (const r of results) if (r) s += r.skipped;
  return s;
}

function emptyLevel(): MatchLevel {
  return { kind: "matches", addresses: new Float64Array(0), values: new Uint8Array(0), count: 0 };
}

/** Positions of `width` bytes at multiples of `align` in a snapshot. */
function snapCount(ranges: Float64Array, width: number, align: number): number {
  let n = 0;
  for (let i = 0; i < ranges.length; i += 3) {
    const start = ranges[i]!;
    const last = start + ranges[i + 1]! - width; // last start position
    const first = start + ((align - (start % align)) % align);
    if (last >= first) n += Math.floor((last - first) / align) + 1;
  }
  return n;
}

/** The error of a step stopped by the target's exit, with what was found before. */
export type ScanExitError<T> = ProcessVmError & { partial: T };

function exitError<T>(process: Process, outcome: RunOutcome, partial: T): ScanExitError<T> {
  const error = new ProcessVmError({ errno: outcome.errno!, syscall: "process_vm_readv", pid: process.pid, address: outcome.errAddress });
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
export class Scan {
  /** The target. */
  readonly process: Process;
  /** The type scanned for. */
  readonly type: ScanValueType;
  /** Byte order of the values (`"little"` unless the first scan said `endian: "big"`). */
  readonly endian: Endian;
  /** Bytes that could not be read (faults, vanished regions) during the last step. */
  skipped = 0;
  readonly #parts: Part[];
  readonly #encoding: "utf8" | "utf16le";
  readonly #either: boolean;
  #busy = false;
  /** Either-sign types: the distinct addresses of the last step (null for snapshots), computed once per step. */
  #distinct: { last: Level[]; addresses: Float64Array | null; count: number } | undefined;
  /** The ranges the first scan read (`start, end` pairs): a reading tried at an address in a later step stays inside them. */
  readonly #ranges: Float64Array | undefined;

  /** @internal Made by {@link scan}. */
  constructor(
    process: Process, type: ScanValueType, parts: Part[], encoding: "utf8" | "utf16le", skipped: number, endian: Endian = "little", ranges?: Float64Array,
  ) {
    this.#ranges = ranges;
    this.process = process;
    this.type = type;
    this.#parts = parts;
    this.#encoding = encoding;
    this.skipped = skipped;
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
    if (last.every((l): l is MatchLevel => l.kind === "matches")) {
      const u = unionLevel(last, 0);
      result = { last, addresses: u.addresses, count: u.count };
    } else {
      // A snapshot: the narrowest reading's positions hold every wider one's.
      result = { last, addresses: null, count: Math.max(0, ...last.map((l) => l.count)) };
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
    if (this.#busy) throw new Error("a step of this scan is already running");
    this.#busy = true;
    try {
      const update = query === "update" || (typeof query === "string" && query.trim().toLowerCase() === "update");
      const matchers = this.#parts.map((part) => this.#nextMatcher(part, query, options.tolerance, update));
      // Either-sign types, a value query: every reading is tried at every address still matching (scanmem's flags).
      const valueStep = this.#either && !update && matchers.some((m) => m?.kind === "numeric" && !RELATIVE_OPS.has(m.spec.op));
      const parents = this.#parts.map((p) => p.levels[p.levels.length - 1]!);
      const widest = Math.max(...this.#parts.map((p) => p.width));
      const union = valueStep && parents.every((l): l is MatchLevel => l.kind === "matches") ? unionLevel(parents, widest) : undefined;
      const levels: Level[] = [];
      const skips: number[] = [];
      let snapshot: SnapLevel | undefined;
      for (let i = 0; i < this.#parts.length; i++) {
        const part = this.#parts[i]!;
        const matcher = matchers[i]!;
        const parent = union ? restrictLevel(union, part, this.#ranges) : parents[i]!;
        if (!matcher) {
          levels.push(emptyLevel());
          continue;
        }
        if (update && parent.kind === "snapshot") {
          // Refreshing a snapshot is taking it again, over the ranges it holds.
          if (!snapshot) {
            const { level, outcome } = await retakeSnapshot(this.process, parent, options);
            skips.push(skippedOf(outcome.results));
            if (outcome.errno !== undefined) throw exitError(this.process, outcome, level);
            snapshot = level;
          }
          levels.push({ ...snapshot, count: snapCount(snapshot.ranges, part.width, part.align) });
          continue;
        }
        const twin = twinOf(this.#parts, i, matchers, union ? [] : parents); // with a union, readings of one width and alignment have the same parent
        if (twin >= 0) {
          levels.push(levels[twin]!);
          continue;
        }
        const { level, outcome } = await nextLevel(this.process, part, parent, matcher, options);
        skips.push(skippedOf(outcome.results));
        if (outcome.errno !== undefined) throw exitError(this.process, outcome, level);
        levels.push(level);
      }
      this.#parts.forEach((p, i) => p.levels.push(levels[i]!));
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
    const count = this.count;
    const s = Math.max(0, Math.min(count, start < 0 ? count + start : start));
    const e = Math.max(s, Math.min(count, end < 0 ? count + end : end));
    if (this.#either) {
      const u = this.#union().addresses;
      if (u) return u.slice(s, e);
    } else if (this.#parts.length === 1) {
      const level = this.#parts[0]!.levels.at(-1)!;
      if (level.kind === "matches") return level.addresses.slice(s, e);
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
  [Symbol.iterator](): Generator<ScanMatch> {
    return this.#merged(true);
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
    const lookup = parent && withValues ? previousLookup(parent) : undefined;
    if (level.kind === "matches") {
      const dv = new DataView(level.values.buffer, level.values.byteOffset, level.values.byteLength);
      for (let i = 0; i < level.count; i++) {
        const address = level.addresses[i]!;
        if (!withValues) {
          yield { address, value: 0, previous: undefined, type };
          continue;
        }
        const value = this.#decode(part, dv, i * w);
        const prev = lookup?.(address);
        yield { address, value, previous: prev ? this.#decode(part, prev.dv, prev.offset) : undefined, type };
      }
      return;
    }
    const dv = new DataView(level.data);
    const r = level.ranges;
    for (let i = 0; i < r.length; i += 3) {
      const start = r[i]!;
      const last = start + r[i + 1]! - w;
      const off = r[i + 2]!;
      for (let a = start + ((part.align - (start % part.align)) % part.align); a <= last; a += part.align) {
        yield { address: a, value: withValues ? this.#decode(part, dv, off + (a - start)) : 0, previous: undefined, type };
      }
    }
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
    const x = parents[i]!;
    const y = parents[i - 1]!;
    const same = x === y || (x.kind === "snapshot" && y.kind === "snapshot" && x.data === y.data);
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

/** Finds the value of `address` in the previous level: addresses ascend, so a moving cursor. */
function previousLookup(level: Level): (address: number) => { dv: DataView; offset: number } | undefined {
  if (level.kind === "matches") {
    const dv = new DataView(level.values.buffer, level.values.byteOffset, level.values.byteLength);
    const w = level.count > 0 ? level.values.length / level.count : 0;
    let i = 0;
    return (address) => {
      while (i < level.count && level.addresses[i]! < address) i++;
      return i < level.count && level.addresses[i] === address ? { dv, offset: i * w } : undefined;
    };
  }
  const dv = new DataView(level.data);
  const r = level.ranges;
  let i = 0;
  return (address) => {
    while (i < r.length && r[i]! + r[i + 1]! <= address) i += 3;
    if (i >= r.length || address < r[i]!) return undefined;
    return { dv, offset: r[i + 2]! + (address - r[i]!) };
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

async function nextLevel(
  process: Process,
  part: Part,
  parent: Level,
  matcher: Matcher,
  options: StepOptions,
): Promise<{ level: MatchLevel; outcome: RunOutcome }> {
  const w = part.width;
  let tasks: Task[];
  let total: number;
  let threads: number;
  if (parent.kind === "matches") {
    total = parent.count * w;
    threads = threadsFor(options.threads, parent.count, PARALLEL_MATCHES);
    const per = threads === 0 ? 16384 : Math.max(16384, Math.ceil(parent.count / (threads * 16)));
    tasks = [];
    for (let i = 0; i < parent.count; i += per) {
      tasks.push({ kind: "next", pid: process.pid, matcher, width: w, addresses: parent.addresses, values: parent.values, from: i, to: Math.min(parent.count, i + per) });
    }
  } else {
    const ranges: { start: number; end: number; limit: number; offset: number }[] = [];
    total = 0;
    for (let i = 0; i < parent.ranges.length; i += 3) {
      const start = parent.ranges[i]!;
      const end = start + parent.ranges[i + 1]!;
      ranges.push({ start, end, limit: end, offset: parent.ranges[i + 2]! });
      total += end - start;
    }
    threads = threadsFor(options.threads, total, PARALLEL_BYTES);
    tasks = piecesOf(ranges, taskSize(total, threads)).map((pieces) => ({
      kind: "snapNext", pid: process.pid, matcher, width: w, align: part.align, pieces, snap: parent.data,
    }));
  }
  const outcome = await runTasks(tasks, { signal: options.signal, onProgress: options.onProgress, threads, total });
  return { level: concat(outcome.results, w), outcome };
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
export async function scan(
  process: Process,
  type: ScanValueType,
  query: FirstQuery | string | CompiledPattern,
  options: ScanOptions = {},
): Promise<Scan> {
  if (!(isValueType(type) || isEitherSign(type) || type === "bytes" || type === "string")) {
    throw new TypeError(`unknown scan type "${String(type)}" (expected i8…u64, f32, f64, int, int8…int64, bytes or string)`);
  }
  const endian: Endian = isLittleEndian(options.endian) ? "little" : "big";
  const align = checkAlign(options.align);
  if (options.tolerance !== undefined && !(typeof options.tolerance === "number" && options.tolerance >= 0)) {
    throw new RangeError(`options.tolerance must be a non-negative number (got ${String(options.tolerance)})`);
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
  const ranges = selectRanges(process.maps(), options);
  let total = 0;
  for (const r of ranges) total += r.end - r.start;
  const threads = threadsFor(options.threads, total, PARALLEL_BYTES);
  const control = { signal: options.signal, onProgress: options.onProgress, threads, total };
  let skipped = 0;
  // Each reading of an either-sign type reads the same memory: count what it could not read once.
  const skip = (n: number) => (skipped = isEitherSign(type) ? Math.max(skipped, n) : skipped + n);
  let snapshot: SnapLevel | undefined;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const matcher = matchers[i];
    if (!matcher) {
      part.levels.push(emptyLevel());
      continue;
    }
    if (matcher.kind === "numeric" && matcher.spec.op === "any") {
      if (!snapshot) {
        const { level, outcome } = await takeSnapshot(process, ranges, total, control);
        skip(skippedOf(outcome.results));
        snapshot = level;
        if (outcome.errno !== undefined) {
          const partial = partialScan(process, type, parts, i, level, encoding, skipped, endian);
          throw exitError(process, outcome, partial);
        }
      }
      part.levels.push({ ...snapshot, count: snapCount(snapshot.ranges, part.width, part.align) });
      continue;
    }
    const twin = twinOf(parts, i, matchers, []);
    if (twin >= 0) {
      part.levels.push(parts[twin]!.levels[0]!);
      continue;
    }
    const tasks: Task[] = piecesOf(ranges, taskSize(total, threads)).map((pieces) => ({
      kind: "first", pid: process.pid, matcher, width: part.width, align: part.align, pieces,
    }));
    const outcome = await runTasks(tasks, control);
    skip(skippedOf(outcome.results));
    const level = concat(outcome.results, part.width);
    if (outcome.errno !== undefined) {
      if (outcome.errno !== ESRCH) throw exitError(process, outcome, undefined);
      throw exitError(process, outcome, partialScan(process, type, parts, i, level, encoding, skipped, endian));
    }
    part.levels.push(level);
  }
  return new Scan(process, type, parts, encoding, skipped, endian, Float64Array.from(ranges.flatMap((r) => [r.start, r.end])));
}

function partialScan(
  process: Process, type: ScanValueType, parts: Part[], i: number, level: Level, encoding: "utf8" | "utf16le", skipped: number, endian: Endian,
): Scan {
  const done = parts.map((p, k) => ({ ...p, levels: k < i ? p.levels : k === i ? [level] : [emptyLevel()] }));
  if (level.kind === "snapshot") done.forEach((p) => (p.levels = [{ ...level, count: snapCount(level.ranges, p.width, p.align) }]));
  return new Scan(process, type, done, encoding, skipped, endian);
}

/** A snapshot taken again over the ranges that `parent` holds (the `update` of an `"unknown"` scan). */
async function retakeSnapshot(process: Process, parent: SnapLevel, options: StepOptions): Promise<{ level: SnapLevel; outcome: RunOutcome }> {
  const ranges: { start: number; end: number }[] = [];
  let total = 0;
  for (let i = 0; i < parent.ranges.length; i += 3) {
    const start = parent.ranges[i]!;
    const end = start + parent.ranges[i + 1]!;
    ranges.push({ start, end });
    total += end - start;
  }
  const threads = threadsFor(options.threads, total, PARALLEL_BYTES);
  return takeSnapshot(process, ranges, total, { signal: options.signal, onProgress: options.onProgress, threads, total });
}

async function takeSnapshot(
  process: Process,
  ranges: readonly ScanRange[],
  total: number,
  control: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void; threads: number; total: number },
): Promise<{ level: SnapLevel; outcome: RunOutcome }> {
  // Each range at an offset ≡ its address mod 8, so typed views of the snapshot stay aligned.
  let size = 0;
  const placed = ranges.map((r) => {
    size += (((r.start % 8) - size) % 8 + 8) % 8;
    const offset = size;
    size += r.end - r.start;
    return { start: r.start, end: r.end, offset };
  });
  const data = new SharedArrayBuffer(Math.max(8, size));
  const piecesList = piecesOf(placed, taskSize(total, control.threads));
  const tasks: Task[] = piecesList.map((pieces) => ({ kind: "snapshot", pid: process.pid, pieces, snap: data }));
  const outcome = await runTasks(tasks, control);
  const out: number[] = [];
  outcome.results.forEach((r, t) => {
    if (!r?.read) return;
    const pieces = piecesList[t]!;
    for (let q = 0, k = 0; q < pieces.length; q += PIECE, k++) {
      const got = r.read[k]!;
      if (got <= 0) continue;
      const start = pieces[q]!;
      const offset = pieces[q + 3]!;
      const n = out.length;
      if (n > 0 && out[n - 3]! + out[n - 2]! === start && out[n - 1]! + out[n - 2]! === offset) out[n - 2]! += got;
      else out.push(start, got, offset);
    }
  });
  return { level: { kind: "snapshot", ranges: Float64Array.from(out), data, count: 0 }, outcome };
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
  const compiled = toPattern(pattern);
  const align = checkAlign(options.align) ?? 1;
  const ranges = selectRanges(process.maps(), options);
  let total = 0;
  for (const r of ranges) total += r.end - r.start;
  const threads = threadsFor(options.threads, total, PARALLEL_BYTES);
  const matcher: Matcher = { kind: "bytes", op: "eq", pattern: compiled, width: compiled.length };
  const tasks: Task[] = piecesOf(ranges, taskSize(total, threads)).map((pieces) => ({
    kind: "first", pid: process.pid, matcher, width: compiled.length, align, pieces,
  }));
  const outcome = await runTasks(tasks, { signal: options.signal, onProgress: options.onProgress, threads, total });
  const found: number[] = [];
  for (const r of outcome.results) if (r) for (let i = 0; i < r.count; i++) found.push(r.addresses[i]!);
  if (outcome.errno !== undefined) throw exitError(process, outcome, found);
  return found;
}

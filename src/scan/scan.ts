/**
 * Value scans (`scan`, `Scan`) and pattern scans (`findPattern`).
 *
 * @module
 */
import { ProcessVmError } from "../errors.ts";
import type { Process } from "../process.ts";
import { getValue, isValueType, VALUE_SIZE, type Value, type ValueType } from "../types.ts";
import { PIECE, CHUNK, type Matcher, type Task, type TaskResult } from "./engine.ts";
import { compilePattern, patternFromBytes, toPattern, type CompiledPattern } from "./pattern.ts";
import { CORES, runTasks, type RunOutcome } from "./pool.ts";
import { intModeType, numericSpec, rawQuery, wrapIntQuery, type FirstQuery, type NextQuery, type NumericSpec, type RawQuery, type ScanValueType } from "./query.ts";
import { selectRanges, type MemoryOptions, type ScanRange } from "./regions.ts";
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
  /** The type the value was read as (in the `"int"` mode, the width that matched). */
  type: ScanMatchType<T>;
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
 * In the `"int"` mode the scan holds one set per width (`i8`/`u8`, `i16`/`u16`,
 * `i32`/`u32`, `i64`/`u64`): an address that matches at several widths counts
 * once per width, in {@link count}, {@link addresses} and iteration.
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
  /** Bytes that could not be read (faults, vanished regions) during the last step. */
  skipped = 0;
  readonly #parts: Part[];
  readonly #encoding: "utf8" | "utf16le";
  #busy = false;

  /** @internal Made by {@link scan}. */
  constructor(process: Process, type: T, parts: Part[], encoding: "utf8" | "utf16le", skipped: number) {
    this.process = process;
    this.type = type;
    this.#parts = parts;
    this.#encoding = encoding;
    this.skipped = skipped;
  }

  /**
   * Number of matches (in the `"int"` mode, of address-and-width pairs). After
   * an `"unknown"` first scan, every position scanned.
   *
   * @example
   * ```ts
   * if (scan.count < 10) console.log([...scan]);
   * ```
   */
  get count(): number {
    let n = 0;
    for (const p of this.#parts) n += p.levels[p.levels.length - 1]!.count;
    return n;
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
   * `{ increasedBy }`, `{ decreasedBy }`, or scanmem-style text (`"> 5"`, `"+ 1"`…).
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
      const levels: Level[] = [];
      let skipped = 0;
      for (const part of this.#parts) {
        const matcher = this.#nextMatcher(part, query, options.tolerance);
        const parent = part.levels[part.levels.length - 1]!;
        if (!matcher) {
          levels.push(emptyLevel());
          continue;
        }
        const { level, outcome } = await nextLevel(this.process, part, parent, matcher, options);
        skipped += skippedOf(outcome.results);
        if (outcome.errno !== undefined) throw exitError(this.process, outcome, level);
        levels.push(level);
      }
      this.#parts.forEach((p, i) => p.levels.push(levels[i]!));
      this.skipped = skipped;
      return this;
    } finally {
      this.#busy = false;
    }
  }

  #nextMatcher(part: Part, query: NextQuery | string, tolerance: number | undefined): Matcher | null {
    if (part.type === "bytes") {
      if (query === "changed" || query === "unchanged") return { kind: "bytes", op: query, pattern: null, width: part.width };
      const pattern = this.#bytesPattern(query);
      if (pattern.length !== part.width) throw new RangeError(`the new value has ${pattern.length} bytes, the scan's values ${part.width}`);
      return { kind: "bytes", op: "eq", pattern, width: part.width };
    }
    let raw = rawQuery(query);
    if (raw.op === "any") throw new TypeError(`"unknown" is a first-scan query; use "changed", "unchanged", … in next scans`);
    if (this.type === "int") raw = wrapIntQuery(part.type, raw);
    const spec = numericSpec(part.type, raw, tolerance, this.type !== "int");
    return spec && { kind: "numeric", spec };
  }

  #bytesPattern(query: unknown): CompiledPattern {
    if (query instanceof Uint8Array) return patternFromBytes(query);
    if (typeof query === "string") {
      if (this.type === "string") return patternFromBytes(encodeText(query, this.#encoding), undefined, query);
      return compilePattern(query);
    }
    if (typeof query === "object" && query !== null && "eq" in query) return this.#bytesPattern((query as { eq: unknown }).eq);
    throw new TypeError(`a ${this.type} scan takes ${this.type === "string" ? "a string" : "a pattern string or a Uint8Array"}, "changed" or "unchanged"`);
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
   * Match addresses `start` to `end` (indices, as in `slice`), ascending.
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
    if (this.#parts.length === 1) {
      const level = this.#parts[0]!.levels.at(-1)!;
      if (level.kind === "matches") return level.addresses.slice(s, e);
    }
    const out = new Float64Array(e - s);
    let i = 0;
    let k = 0;
    for (const address of this.#addressIterator()) {
      if (i >= e) break;
      if (i >= s) out[k++] = address;
      i++;
    }
    return out;
  }

  *#addressIterator(): Generator<number> {
    for (const m of this.#merged(false)) yield m.address;
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
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]!;
        if (!h.done && (best < 0 || h.value.address < (heads[best]!.value as ScanMatch).address)) best = i;
      }
      if (best < 0) return;
      yield heads[best]!.value as ScanMatch;
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
    if (part.type !== "bytes") return getValue(dv, offset, part.type);
    const bytes = new Uint8Array(dv.buffer, dv.byteOffset + offset, part.width).slice();
    if (this.type === "string") return (this.#encoding === "utf16le" ? utf16 : utf8).decode(bytes);
    return bytes;
  }
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
export async function scan<T extends ScanValueType>(
  process: Process,
  type: T,
  query: FirstQuery | string | CompiledPattern,
  options: ScanOptions = {},
): Promise<Scan<T>> {
  if (!(isValueType(type) || type === "int" || type === "bytes" || type === "string")) {
    throw new TypeError(`unknown scan type "${String(type)}" (expected i8…u64, f32, f64, int, bytes or string)`);
  }
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
    const types: ValueType[] = type === "int" ? ([1, 2, 4, 8] as const).map((w) => intModeType(w, raw)) : [type];
    for (const t of types) {
      const spec: NumericSpec | null = numericSpec(t, raw, options.tolerance, type !== "int");
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
        skipped += skippedOf(outcome.results);
        snapshot = level;
        if (outcome.errno !== undefined) {
          const partial = partialScan(process, type, parts, i, level, encoding, skipped);
          throw exitError(process, outcome, partial);
        }
      }
      part.levels.push({ ...snapshot, count: snapCount(snapshot.ranges, part.width, part.align) });
      continue;
    }
    const tasks: Task[] = piecesOf(ranges, taskSize(total, threads)).map((pieces) => ({
      kind: "first", pid: process.pid, matcher, width: part.width, align: part.align, pieces,
    }));
    const outcome = await runTasks(tasks, control);
    skipped += skippedOf(outcome.results);
    const level = concat(outcome.results, part.width);
    if (outcome.errno !== undefined) {
      if (outcome.errno !== ESRCH) throw exitError(process, outcome, undefined);
      throw exitError(process, outcome, partialScan(process, type, parts, i, level, encoding, skipped));
    }
    part.levels.push(level);
  }
  return new Scan(process, type, parts, encoding, skipped);
}

function partialScan<T extends ScanValueType>(process: Process, type: T, parts: Part[], i: number, level: Level, encoding: "utf8" | "utf16le", skipped: number): Scan<T> {
  const done = parts.map((p, k) => ({ ...p, levels: k < i ? p.levels : k === i ? [level] : [emptyLevel()] }));
  if (level.kind === "snapshot") done.forEach((p) => (p.levels = [{ ...level, count: snapCount(level.ranges, p.width, p.align) }]));
  return new Scan(process, type, done, encoding, skipped);
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

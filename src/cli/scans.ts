/**
 * The scans of the command line: a value scan run over the memory in batches
 * of a few hundred MiB, so that Ctrl-C during a first scan keeps the matches
 * of the batches done (the library's abort discards a step's partial work),
 * and matches grouped by address (in the `int` mode an address that matches
 * at several widths is one match, with its widths shown together).
 *
 * @module
 */
import type { Process } from "../process.ts";
import { existingRuns } from "../pagemap.ts";
import { scan, selectRanges, type MemoryOptions, type Scan, type ScanMatch, type ScanOptions, type ScanValueType } from "../scan/index.ts";
import { isValueType, VALUE_SIZE, type Value, type ValueType } from "../types.ts";

/** Bytes of memory per batch of a first scan. */
const BATCH = 256 << 20;

/**
 * Cuts the memory a scan reads into windows of about `batch` bytes of memory
 * that exists, each given to one scan call as `within`. The windows tile the
 * whole span of `ranges` (so zero-filled untouched pages, which a scan for 0
 * counts without reading, are in exactly one window), and each reaches
 * `overlap` bytes into the next (a pattern's length minus one: a match across
 * a cut is found once). With `overlap` null, cuts fall only at the start of a
 * selected range, where nothing can straddle; otherwise at page boundaries
 * (no naturally aligned value straddles one).
 *
 * @param ranges What the scan selects, ascending and disjoint (`selectRanges`).
 * @param runs What it reads: `[start, end)` pairs, ascending (`existingRuns(...).runs`).
 * @example
 * ```ts
 * batchWindows([{ start: 0, end: 2 ** 30 }], [0, 2 ** 30], 0); // four windows of 256 MiB
 * ```
 */
export function batchWindows(
  ranges: readonly { start: number; end: number }[],
  runs: ArrayLike<number>,
  overlap: number | null,
  batch = BATCH,
  page = 4096,
): [number, number][] {
  if (ranges.length === 0) return [];
  const first = ranges[0]!.start;
  const last = ranges[ranges.length - 1]!.end;
  const cuts: number[] = [];
  const lastCut = () => cuts[cuts.length - 1] ?? first;
  let acc = 0;
  if (overlap !== null) {
    for (let i = 0; i + 1 < runs.length; i += 2) {
      let a = runs[i]!;
      const b = runs[i + 1]!;
      while (acc + (b - a) >= batch) {
        const at = a + (batch - acc);
        const cut = at - (at % page);
        if (cut > lastCut() && cut < last) cuts.push(cut);
        acc = 0;
        a = at;
      }
      acc += b - a;
    }
  } else {
    let k = 0;
    for (const r of ranges) {
      if (acc >= batch && r.start > lastCut()) {
        cuts.push(r.start);
        acc = 0;
      }
      while (k + 1 < runs.length && runs[k + 1]! <= r.start) k += 2;
      for (let j = k; j + 1 < runs.length && runs[j]! < r.end; j += 2) acc += Math.min(runs[j + 1]!, r.end) - Math.max(runs[j]!, r.start);
    }
  }
  const edges = [first, ...cuts, last];
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < edges.length; i++) out.push([edges[i]!, Math.min(last, edges[i + 1]! + (i + 2 < edges.length ? (overlap ?? 0) : 0))]);
  return out;
}

/**
 * The windows of a scan of `options`' memory in `process` (see {@link batchWindows}),
 * and the bytes it will read.
 *
 * @example
 * ```ts
 * const { windows, total } = planBatches(proc, { kinds: ["heap"] }, 0);
 * ```
 */
export function planBatches(process: Process, options: MemoryOptions, overlap: number | null): { windows: [number, number][]; total: number } {
  const maps = process.maps();
  const ranges = selectRanges(maps, options);
  const layout = existingRuns(process.pid, maps, ranges, options.resident ?? true);
  return { windows: batchWindows(ranges, layout.runs, overlap), total: layout.existing };
}

/** One address and every width (type) it matched at. */
export interface AddressMatch {
  address: number;
  /**
   * The types that matched here, narrowest first (one type outside the `int`
   * mode); a width that matched with both signs is shown as `int8` … `int64`.
   */
  types: string[];
  /** Every reading that matched (`i32`, `u32`, …), narrowest first, signed before unsigned. */
  readings: string[];
  /** The type its value is read and written as: the widest that matched. */
  type: ScanMatch["type"];
  /** The value at the last step, as the widest matching type reads it. */
  value: ScanMatch["value"];
  /** The value at the step before, as the widest matching type read it. */
  previous: ScanMatch["previous"];
}

/** Progress of a step: done and total, in bytes for first scans and matches for next scans. */
export type StepProgress = (done: number, total: number, unit: "bytes" | "matches") => void;

/** Options of one step. */
export interface BatchStepOptions {
  signal?: AbortSignal;
  onProgress?: StepProgress;
}

/**
 * A value scan split over address batches; narrowed, listed and undone as one.
 *
 * @example
 * ```ts
 * const { scan, interrupted } = await BatchedScan.start(proc, "i32", "100", {}, { signal });
 * await scan.next("decreased");
 * for (const m of scan.byAddress()) console.log(m.address, m.types, m.value);
 * ```
 */
export class BatchedScan {
  readonly process: Process;
  readonly type: ScanValueType;
  readonly #scans: Scan[];

  private constructor(process: Process, type: ScanValueType, scans: Scan[]) {
    this.process = process;
    this.type = type;
    this.#scans = scans;
  }

  /**
   * Runs a first scan. When `signal` aborts it, resolves with the batches
   * done so far and `interrupted: true`; other errors reject.
   */
  static async start(
    process: Process,
    type: ScanValueType,
    query: string,
    options: MemoryOptions & Pick<ScanOptions, "align" | "encoding" | "tolerance" | "endian">,
    step: BatchStepOptions = {},
  ): Promise<{ scan: BatchedScan; interrupted: boolean }> {
    // Cutting inside a range is exact only where no match can straddle the cut: aligned numeric values.
    const width = isValueType(type) ? VALUE_SIZE[type] : /^int\d+$/.test(type) ? Number(type.slice(3)) / 8 : 0;
    const natural = type !== "bytes" && type !== "string" && (options.align === undefined || (width > 0 && options.align % width === 0));
    const { windows: batches, total } = planBatches(process, options, natural ? 0 : null);
    const scans: Scan[] = [];
    let offset = 0;
    if (batches.length <= 1) {
      // One call with the caller's own selection: errors and empty selections as the library reports them.
      try {
        scans.push(await scan(process, type, query, { ...options, signal: step.signal, onProgress: (d, t) => step.onProgress?.(d, t, "bytes") }));
      } catch (error) {
        if (step.signal?.aborted) return { scan: new BatchedScan(process, type, []), interrupted: true };
        throw error;
      }
      return { scan: new BatchedScan(process, type, scans), interrupted: false };
    }
    for (const [start, end] of batches) {
      const within: [number, number] = [start, end];
      let batchTotal = 0;
      try {
        scans.push(
          await scan(process, type, query, {
            ...options,
            within,
            signal: step.signal,
            onProgress: (d, t) => {
              batchTotal = t;
              step.onProgress?.(offset + d, total, "bytes");
            },
          }),
        );
      } catch (error) {
        if (step.signal?.aborted) return { scan: new BatchedScan(process, type, scans), interrupted: true };
        throw error;
      }
      offset += batchTotal;
    }
    return { scan: new BatchedScan(process, type, scans), interrupted: false };
  }

  /** Matches: of addresses (an address that matches in several readings counts once). */
  get count(): number {
    let n = 0;
    for (const s of this.#scans) n += s.count;
    return n;
  }

  /** Addresses that match (the same as {@link count}: the library counts each address once). */
  get addressCount(): number {
    return this.count;
  }

  /** Match addresses in order. */
  addresses(): Float64Array {
    const parts = this.#scans.map((s) => s.addresses());
    const out = new Float64Array(parts.reduce((n, a) => n + a.length, 0));
    let k = 0;
    for (const a of parts) {
      out.set(a, k);
      k += a.length;
    }
    return out;
  }

  /** Steps taken (the first scan is 1). */
  get steps(): number {
    return this.#scans[0]?.steps ?? 1;
  }

  /** Bytes of the last step: selected, read, and known to be zero without reading (summed over the batches). */
  get stats(): { selected: number; read: number; untouched: number } {
    const out = { selected: 0, read: 0, untouched: 0 };
    for (const s of this.#scans) {
      out.selected += s.stats.selected;
      out.read += s.stats.read;
      out.untouched += s.stats.untouched;
    }
    return out;
  }

  /** Bytes that could not be read during the last step. */
  get skipped(): number {
    let n = 0;
    for (const s of this.#scans) n += s.skipped;
    return n;
  }

  /**
   * Narrows every batch with `query`. When aborted (or on an error) the scan
   * keeps its previous matches, and the promise rejects.
   */
  async next(query: string, step: BatchStepOptions = {}): Promise<void> {
    const counts = this.#scans.map((s) => s.count);
    const total = counts.reduce((a, b) => a + b, 0);
    let before = 0;
    let done = 0;
    try {
      for (const [i, s] of this.#scans.entries()) {
        await s.next(query, { signal: step.signal, onProgress: (d, t) => step.onProgress?.(before + (t > 0 ? (d / t) * counts[i]! : 0), total, "matches") });
        done++;
        before += counts[i]!;
      }
    } catch (error) {
      for (let i = 0; i < done; i++) this.#scans[i]!.undo();
      throw error;
    }
  }

  /** Back one step; false at the first. */
  undo(): boolean {
    if (this.steps <= 1) return false;
    for (const s of this.#scans) s.undo();
    return true;
  }

  /** Every match, in address order (one per width in the `int` mode). */
  *[Symbol.iterator](): Generator<ScanMatch> {
    for (const s of this.#scans) yield* s;
  }

  /**
   * The matches, each with the types it matched at (its readings in the
   * either-sign types, narrowest first), as people see them.
   */
  *byAddress(): Generator<AddressMatch> {
    for (const m of this) {
      const types = m.readings ? m.readings.map((r) => r.type as string) : [m.type];
      yield finish({ address: m.address, types, readings: [...types], type: m.type, value: m.value, previous: m.previous });
    }
  }
}

/** Types in order, a width that matched with both signs written `intN`. */
function finish(m: AddressMatch): AddressMatch {
  const out: string[] = [];
  for (const t of m.types) {
    const twin = /^[iu](8|16|32|64)$/.exec(t) && `${t[0] === "i" ? "u" : "i"}${t.slice(1)}`;
    if (out.includes(t) || out.includes(`int${t.slice(1)}`)) continue;
    if (twin && m.types.includes(twin)) out.push(`int${t.slice(1)}`);
    else out.push(t);
  }
  m.types = out;
  return m;
}

/**
 * The type to write VALUE as at a match: its type, or, in a scan of either
 * sign (`int`), the signed type of its width for a negative value.
 *
 * @example
 * ```ts
 * writeType({ type: "u32", types: ["u8", "u32"] } as AddressMatch, "int", "-5"); // "i32"
 * ```
 */
export function writeType(m: AddressMatch, scanType: ScanValueType, valueText: string): ValueType | null {
  const t = m.type;
  if (t === "bytes" || t === "string") return null;
  if (/^int/.test(scanType) && /^\s*-/.test(valueText) && t.startsWith("u")) return `i${t.slice(1)}` as ValueType;
  return t;
}

/**
 * Whether two values are the same (numbers, bigints, bytes, strings).
 *
 * @example
 * ```ts
 * sameValue(Uint8Array.of(1), Uint8Array.of(1)); // true
 * ```
 */
export function sameValue(a: Value | Uint8Array | string | undefined, b: Value | Uint8Array | string | undefined): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  return Object.is(a, b) || (typeof a === "number" && a === b);
}

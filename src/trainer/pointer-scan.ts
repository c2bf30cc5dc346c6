/**
 * The pointer scanner: from a target address back to static memory.
 *
 * 1. The writable regions are read in batches (only their resident pages, per
 *    `/proc/PID/pagemap`, so that a JIT's multi-GiB reservations are not faulted in).
 * 2. Every aligned word of the target's pointer size (8 bytes, or 4 in a
 *    32-bit program) whose value points into a writable region is a
 *    pointer; a reverse map from value to slot is built in two passes as flat
 *    typed arrays bucketed by the page the value points into (a counting sort:
 *    6 bytes per pointer plus 4 per page, no objects, no comparison sort).
 * 3. A breadth-first search from the target finds, level by level, the slots
 *    whose value is at most `maxOffset` below the current node; a slot in static
 *    memory ends a path. A target that is itself in static memory gives a path
 *    without dereferences, and the search goes on from it all the same.
 *
 * Static memory is the writable mappings of files (module images: `.data`,
 * `.got`), plus the part of a module's `.bss` beyond the file, which the loader
 * maps anonymously right after the module's last file page. The kernel merges
 * later anonymous mappings of the same rights into that one (a heap object
 * `mmap`ed there), so its extent is taken from the image itself: the module's
 * ELF header and program headers are read from its first mapping, and of an
 * anonymous mapping only what lies within a writable `PT_LOAD` segment
 * (`load_bias + p_vaddr` to `+ p_memsz`) is static. A file that is not an ELF
 * image keeps its writable mappings static but has no `.bss`. Offsets are given
 * from the module's base (its first mapping), which `resolve` adds back, so
 * they survive a restart like the module's own.
 *
 * @module
 */
import { IovecTable } from "../ffi/iovec.ts";
import { addressOf, PAGE_SIZE } from "../ffi/libc.ts";
import { ProcessVmError } from "../errors.ts";
import type { Region } from "../maps.ts";
import { existingRuns } from "../pagemap.ts";
import type { Process } from "../process.ts";
import { formatChain, PointerChainList, type PointerChainSpec } from "./chain.ts";
import { transferBatch } from "./batch.ts";
import { type ElfImage, elfHeadersLength, parseElf, writableRanges } from "./elf.ts";
import { checkProcess, describe } from "../validate.ts";

const TWO_32 = 4294967296;
const SENTINEL = 0xffffffff;
const CHUNK = 4 << 20;
const MAX_BATCH = 1024;

/** A path found by {@link findPointerPaths}: a chain whose base is a module offset. */
export interface PointerPath extends PointerChainSpec {
  readonly base: { readonly module: string; readonly offset: number };
  readonly offsets: readonly number[];
}

/** Progress of a pointer scan. */
export interface PointerScanProgress {
  /** `"count"` and `"index"`: the two passes over memory (`done`/`total` in bytes); `"search"`: levels (`done`/`total` of `maxDepth`). */
  phase: "count" | "index" | "search";
  done: number;
  total: number;
}

/** Options of {@link findPointerPaths}. */
export interface PointerScanOptions {
  /** Most dereferences in a path (default 4). */
  maxDepth?: number;
  /** Largest offset added after a dereference; offsets are 0 to this (default 0x1000). */
  maxOffset?: number;
  /** Paths to return at most, shortest first (default 10,000). */
  maxResults?: number;
  /** Nodes the search may visit at most, a bound on time and memory (default 2,000,000). */
  maxNodes?: number;
  /** Only paths based in these modules (base names), e.g. the game's own image. Default: any module. */
  modules?: readonly string[];
  /** Called now and then with the progress. */
  onProgress?: (progress: PointerScanProgress) => void;
  /**
   * Aborts the scan: the promise rejects with the signal's reason, which then
   * holds the paths found so far in `partial` (see {@link PointerScanError}).
   */
  signal?: AbortSignal;
}

/**
 * What a pointer scan that stopped early rejects with: the abort signal's
 * reason, or the `ProcessVmError` `ESRCH` of a target that exited, with the
 * paths found until then in `partial` (possibly none). Every one of them led
 * to the address when it was found. A reason that cannot hold a property (a
 * string, a frozen object) is wrapped in an `AbortError` `DOMException` whose
 * `cause` is the reason. The same reason object reused for several scans holds
 * the last one's paths.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 5000);
 * let paths: PointerPaths;
 * try {
 *   paths = await findPointerPaths(proc, hpAddress, { maxDepth: 6, signal: controller.signal });
 * } catch (error) {
 *   const partial = (error as Partial<PointerScanError> | null)?.partial;
 *   if (!partial) throw error;
 *   paths = partial; // the shallow paths, found before the abort
 * }
 * ```
 */
export type PointerScanError = { readonly partial: PointerPaths } & (Error | DOMException);

/** Figures of a scan. */
export interface PointerScanStats {
  /** Bytes read (resident pages of writable regions), per pass. */
  bytes: number;
  /** Writable regions scanned. */
  regions: number;
  /** Pointers in the reverse map. */
  pointers: number;
  /** Of those, found only by the second pass (the target ran in between): kept in a small sorted list. */
  spilled: number;
  /** Nodes the search visited. */
  nodes: number;
  /** Milliseconds the scan took. */
  ms: number;
}

/**
 * The paths found by {@link findPointerPaths}: chains in the form `resolve`
 * takes, shortest first. Indexable like an array (`paths[0]`, `paths.length`)
 * and iterable.
 *
 * @example
 * ```ts
 * const paths = await findPointerPaths(proc, hpAddress);
 * for (const path of paths) console.log(formatChain(path), resolve(proc, path));
 * if (paths.length > 0) console.log(formatChain(paths[0]!));
 * ```
 */
export class PointerPaths implements Iterable<PointerPath> {
  /** The `i`-th path (`undefined` past the end), as in {@link paths}. */
  readonly [index: number]: PointerPath;
  /** The paths, as an array. */
  readonly paths: readonly PointerPath[];
  /** The address the paths lead to. */
  readonly address: number;
  /** `true` when `maxResults` or `maxNodes` cut the search short. */
  readonly truncated: boolean;
  /** Figures of the scan that found them (of the first scan, after a rescan). */
  readonly stats: PointerScanStats;

  constructor(paths: readonly PointerPath[], address: number, truncated: boolean, stats: PointerScanStats) {
    this.paths = paths;
    this.address = address;
    this.truncated = truncated;
    this.stats = stats;
    const indexed = this as { [index: number]: PointerPath };
    for (let i = 0; i < paths.length; i++) indexed[i] = paths[i]!;
  }

  /** Number of paths. */
  get length(): number {
    return this.paths.length;
  }

  [Symbol.iterator](): Iterator<PointerPath> {
    return this.paths[Symbol.iterator]();
  }

  /** The paths in arrow form, `"libgame.so+0x1a2b0 -> 0x10 -> 0x8"`. */
  toStrings(): string[] {
    return this.paths.map((p) => formatChain(p));
  }

  /**
   * The paths that, resolved in `process` now (the game restarted, or rebuilt
   * its objects), still lead to `newAddress`: Cheat Engine's rescan. All paths
   * are resolved together, one batched read per level.
   *
   * @example
   * ```ts
   * const paths = await findPointerPaths(game, hpAddress);
   * // restart the game, find the health again by value scanning, then:
   * const kept = paths.rescan(newGame, newHpAddress);
   * ```
   */
  rescan(process: Process, newAddress: number): PointerPaths {
    const list = new PointerChainList(process, this.paths);
    const out = list.resolve();
    const kept = this.paths.filter((_, i) => out[i] === newAddress);
    return new PointerPaths(kept, newAddress, this.truncated, this.stats);
  }
}

/** A writable region (or a page-aligned piece of one): where pointers are looked for, and what they may point into. */
interface Scanned {
  start: number;
  end: number;
  /** Index of its first page in the value space. */
  pageBase: number;
  /** Index of its first word in the slot space. */
  wordBase: number;
  /** The module its static part belongs to, or null when it has none. */
  module: string | null;
  moduleBase: number;
  /** Its static part, `[staticStart, staticEnd)`: all of a file mapping, the module's `.bss` of an anonymous one. */
  staticStart: number;
  staticEnd: number;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

const pageDown = (a: number): number => a - (a % PAGE_SIZE);
const pageUp = (a: number): number => pageDown(a + PAGE_SIZE - 1);

/** Most bytes of program headers read from a module (a few hundred in practice). */
const MAX_ELF_HEADERS = 64 * 1024;

/** The writable segments of the ELF image whose first mapping is `first`, or null when it is not one (or cannot be read). */
function elfImage(process: Process, first: Region): ElfImage | null {
  if (first.offset !== 0 || !first.readable) return null;
  try {
    const head = new Uint8Array(new ArrayBuffer(Math.min(PAGE_SIZE, first.size)));
    const got = process.readInto(first.start, head);
    const need = elfHeadersLength(head.subarray(0, got));
    if (need === null || need > Math.min(MAX_ELF_HEADERS, first.size)) return null;
    const bytes = need <= got ? head.subarray(0, got) : process.read(first.start, need);
    return parseElf(bytes);
  } catch {
    return null; // unreadable or malformed: not an image whose .bss can be told
  }
}

/** Static ranges beyond the files: each ELF module's writable segments, sorted. */
function moduleRanges(process: Process, maps: readonly Region[], firstOf: Map<string, Region>): { start: number; end: number; path: string }[] {
  const ranges: { start: number; end: number; path: string }[] = [];
  // The loader maps a module's .bss beyond the file right after the module's last file page:
  // only modules followed by an anonymous writable mapping need their headers read.
  const wanted = new Set<string>();
  for (let i = 1; i < maps.length; i++) {
    const r = maps[i]!;
    const prev = maps[i - 1]!;
    if (r.kind === "anonymous" && r.writable && prev.kind === "file" && prev.end === r.start) wanted.add(prev.path);
  }
  for (const path of wanted) {
    const first = firstOf.get(path)!;
    const image = elfImage(process, first);
    if (image === null) continue;
    for (const range of writableRanges(image, first.start, PAGE_SIZE)) ranges.push({ ...range, path });
  }
  return ranges.sort((a, b) => a.start - b.start);
}

/**
 * The writable regions, with their static parts marked: a file's writable
 * mappings whole; of an anonymous mapping, only what lies within an ELF
 * module's writable `PT_LOAD` segments (its `.bss`). An anonymous mapping is
 * cut at page boundaries into pieces, each with at most one static part.
 */
function writableRegions(process: Process, maps: readonly Region[], only: readonly string[] | undefined, size: number): Scanned[] {
  const firstOf = new Map<string, Region>();
  for (const r of maps) if (r.kind === "file" && !firstOf.has(r.path)) firstOf.set(r.path, r);
  const ranges = moduleRanges(process, maps, firstOf);
  const out: Scanned[] = [];
  let pageBase = 0;
  let wordBase = 0;
  const push = (start: number, end: number, path: string | null, staticStart: number, staticEnd: number): void => {
    let module: string | null = path === null ? null : baseName(path);
    if (module !== null && only && !only.includes(module)) module = null;
    out.push({ start, end, pageBase, wordBase, module, moduleBase: path === null ? 0 : firstOf.get(path)!.start, staticStart, staticEnd });
    pageBase += Math.ceil((end - start) / PAGE_SIZE);
    wordBase += Math.ceil((end - start) / size);
  };
  for (const r of maps) {
    if (!r.readable || !r.writable || r.kind === "vvar" || r.kind === "vsyscall" || r.kind === "vdso") continue;
    if (r.kind === "file") {
      push(r.start, r.end, r.path, r.start, r.end);
      continue;
    }
    let cursor = r.start;
    if (r.kind === "anonymous") {
      for (const range of ranges) {
        if (range.end <= r.start) continue;
        if (range.start >= r.end) break;
        const a = Math.max(cursor, pageDown(Math.max(r.start, range.start)));
        const b = Math.min(r.end, pageUp(range.end));
        if (a >= b) continue;
        if (a > cursor) push(cursor, a, null, 0, 0);
        push(a, b, range.path, Math.max(a, range.start), Math.min(b, range.end));
        cursor = b;
      }
    }
    if (cursor < r.end) push(cursor, r.end, null, 0, 0);
  }
  if (wordBase >= SENTINEL) throw new RangeError("more than 32 GiB of writable memory: too large for the pointer scanner");
  return out;
}

/**
 * The runs of each region to read: only existing pages of private anonymous
 * mappings (see `existingRuns`), file-backed ones whole; everything when
 * pagemap cannot be read. Runs longer than a chunk are cut to fit the read buffer.
 */
function residentRuns(pid: number, maps: readonly Region[], regions: readonly Scanned[]): { start: number; length: number; region: number }[] {
  const ranges: { start: number; end: number }[] = [];
  for (const r of regions) {
    const last = ranges[ranges.length - 1];
    if (last && last.end === r.start) last.end = r.end;
    else ranges.push({ start: r.start, end: r.end });
  }
  const { runs } = existingRuns(pid, maps, ranges, true);
  const cut: { start: number; length: number; region: number }[] = [];
  let k = 0;
  for (let i = 0; i < runs.length; i += 2) {
    let start = runs[i]!;
    const end = runs[i + 1]!;
    while (start < end) {
      while (regions[k]!.end <= start) k++;
      const stop = Math.min(end, regions[k]!.end, start + CHUNK);
      cut.push({ start, length: stop - start, region: k });
      start = stop;
    }
  }
  return cut;
}

/** `reason` (or an `AbortError` wrapping it, when it cannot hold a property) with `partial` attached. */
function withPartial(reason: unknown, partial: PointerPaths): PointerScanError {
  if ((typeof reason === "object" && reason !== null) || typeof reason === "function") {
    try {
      Object.defineProperty(reason, "partial", { value: partial, writable: true, configurable: true, enumerable: true });
      return reason as PointerScanError;
    } catch {
      // frozen, or a partial that cannot be redefined: wrapped below
    }
  }
  return Object.assign(new DOMException("The pointer scan was aborted", "AbortError"), { cause: reason, partial });
}

const abortReason = (signal: AbortSignal): unknown => signal.reason ?? new DOMException("The pointer scan was aborted", "AbortError");

const isExit = (error: unknown): error is ProcessVmError => error instanceof ProcessVmError && error.code === "ESRCH";

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Finds pointer paths from static memory (module images) to `address`, as
 * chains in the form `resolve` takes, shortest first. Keep the result and call
 * `rescan` after the game restarted to keep only the paths that still work.
 *
 * Static memory, where a path starts:
 * - every writable mapping of a file (`.data`, `.got` of a module, or a mapped data file);
 * - of an anonymous writable mapping, only the part within a writable `PT_LOAD`
 *   segment of an ELF module: its `.bss` beyond the file. The segments come from
 *   the ELF header and program headers in the module's first mapping (file
 *   offset 0), at `load_bias + p_vaddr` to `load_bias + p_vaddr + p_memsz`, the
 *   load bias being the module's base for a shared object or PIE (`ET_DYN`) and
 *   0 for a fixed-address executable (`ET_EXEC`). Whatever the kernel merged
 *   into the same mapping beyond that (later `mmap`s of the same rights) is
 *   not static. A file that is not ELF has no such part.
 *
 * When `address` is itself in static memory, the path without dereferences
 * (`"libgame.so+0x1a2b0"`) comes first, and the deeper paths follow.
 *
 * Stopped early, it keeps what it found: an abort (checked between read
 * batches, at each level of the search and every 1,024 nodes) rejects with the
 * signal's reason holding the paths found so far in `partial`, the shallow
 * ones (the search goes level by level; none while memory is still being read,
 * but the path without dereferences). A target that exits while its memory is
 * read rejects with `ESRCH`, its `partial` holding the paths found in what was
 * read before (the search still runs over that). See {@link PointerScanError}.
 *
 * Memory: 6 bytes per pointer found in writable memory, 4 bytes per page of it,
 * plus the search's nodes (bounded by `maxNodes`).
 *
 * @throws {ProcessVmError} when the target cannot be read (`ESRCH`, `EPERM`); `ESRCH` during the scan carries `partial`.
 * @example
 * ```ts
 * const paths = await findPointerPaths(proc, hpAddress, { maxDepth: 4, maxOffset: 0x800, onProgress: (p) => console.log(p) });
 * console.log(paths.toStrings().slice(0, 10)); // ["libgame.so+0x1a2b0 -> 0x10 -> 0x8", ...]
 * // aborted: the paths found so far are in the rejection's `partial`
 * const controller = new AbortController();
 * const early = await findPointerPaths(proc, hpAddress, { maxDepth: 8, signal: controller.signal })
 *   .catch((error: PointerScanError) => error.partial);
 * ```
 */
export async function findPointerPaths(process: Process, address: number | bigint, options: PointerScanOptions = {}): Promise<PointerPaths> {
  checkProcess(process);
  const started = performance.now();
  const target = Number(address);
  if (!Number.isSafeInteger(target) || target <= 0) throw new RangeError(`address must be a positive safe integer (got ${describe(address)})`);
  const maxDepth = options.maxDepth ?? 4;
  const maxOffset = options.maxOffset ?? 0x1000;
  const maxResults = options.maxResults ?? 10_000;
  const maxNodes = options.maxNodes ?? 2_000_000;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > 16) throw new RangeError("maxDepth must be an integer from 1 to 16");
  if (!Number.isInteger(maxOffset) || maxOffset < 0 || maxOffset > 1 << 30) throw new RangeError("maxOffset must be an integer from 0 to 2^30");
  const { signal, onProgress } = options;
  if (signal?.aborted) throw withPartial(abortReason(signal), new PointerPaths([], target, false, { bytes: 0, regions: 0, pointers: 0, spilled: 0, nodes: 0, ms: 0 }));

  // Pointers are words of the target's size (4 bytes in a 32-bit program), aligned to it.
  const size = process.pointerSize;
  const maps = process.maps();
  const regions = writableRegions(process, maps, options.modules, size);
  const R = regions.length;
  const rStart = new Float64Array(R);
  const rEnd = new Float64Array(R);
  const rPage = new Float64Array(R);
  const rWord = new Float64Array(R);
  for (let k = 0; k < R; k++) {
    rStart[k] = regions[k]!.start;
    rEnd[k] = regions[k]!.end;
    rPage[k] = regions[k]!.pageBase;
    rWord[k] = regions[k]!.wordBase;
  }
  const pages = R === 0 ? 0 : regions[R - 1]!.pageBase + Math.ceil((rEnd[R - 1]! - rStart[R - 1]!) / PAGE_SIZE);
  const minV = R === 0 ? 0 : rStart[0]!;
  const maxV = R === 0 ? 0 : rEnd[R - 1]!;
  const minHi = Math.floor(minV / TWO_32);
  const maxHi = Math.floor(maxV / TWO_32);

  /** Region index holding v, or -1. */
  const regionOf = (v: number): number => {
    let lo = 0;
    let hi = R - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (rStart[mid]! <= v) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && v < rEnd[hi]! ? hi : -1;
  };

  /** Region of slot word `word`. */
  const slotRegion = (word: number): number => {
    let lo = 0;
    let hi = R - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (rWord[mid]! <= word) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  const nodeAddress: number[] = [target];
  const nodeLevel: number[] = [0];
  const nodeStatic: number[] = [-1]; // region index of a static slot, -1 otherwise
  const index = new Map<number, number>([[target, 0]]);
  const edgeFrom: number[] = [];
  const edgeTo: number[] = [];
  const edgeOffset: number[] = [];
  let truncated = false;
  /** Whether `address`, in region `region`, is static memory. */
  const isStaticAt = (region: number, address: number): boolean => {
    const r = regions[region]!;
    return r.module !== null && address >= r.staticStart && address < r.staticEnd;
  };
  // A target in static memory is a path of its own (no dereference), and the search goes on from it all the same.
  const targetRegion = regionOf(target);
  if (targetRegion >= 0 && isStaticAt(targetRegion, target)) nodeStatic[0] = targetRegion;

  // ---- paths: from each static node down the edges to the target (also of a scan stopped early) ----
  let total = 0;
  let pointers = 0;
  let spillV = new Float64Array(0);
  let spillW = new Uint32Array(0);
  const collect = (): PointerPaths => {
    const nodes = nodeAddress.length;
    const outStart = new Int32Array(nodes + 1);
    for (const from of edgeFrom) outStart[from + 1]!++;
    for (let k = 0; k < nodes; k++) outStart[k + 1]! += outStart[k]!;
    const fillAt = outStart.slice(0, nodes);
    const outTo = new Int32Array(edgeFrom.length);
    const outOffset = new Float64Array(edgeFrom.length);
    for (let e = 0; e < edgeFrom.length; e++) {
      const at = fillAt[edgeFrom[e]!]!++;
      outTo[at] = edgeTo[e]!;
      outOffset[at] = edgeOffset[e]!;
    }
    const roots: number[] = [];
    for (let k = 0; k < nodes; k++) if (nodeStatic[k]! >= 0) roots.push(k);
    roots.sort((a, b) => nodeLevel[a]! - nodeLevel[b]! || nodeAddress[a]! - nodeAddress[b]!);
    const paths: PointerPath[] = [];
    const offsets: number[] = [];
    const walk = (node: number, root: number): void => {
      if (paths.length >= maxResults) {
        truncated = true;
        return;
      }
      if (node === 0) {
        const region = regions[nodeStatic[root]!]!;
        paths.push({ base: { module: region.module!, offset: nodeAddress[root]! - region.moduleBase }, offsets: offsets.slice() });
        return;
      }
      for (let e = outStart[node]!; e < outStart[node + 1]!; e++) {
        offsets.push(outOffset[e]!);
        walk(outTo[e]!, root);
        offsets.pop();
      }
    };
    for (const root of roots) {
      if (paths.length >= maxResults) {
        truncated = true;
        break;
      }
      walk(root, root);
    }
    const stats: PointerScanStats = { bytes: total, regions: R, pointers: pointers + spillV.length, spilled: spillV.length, nodes, ms: performance.now() - started };
    return new PointerPaths(paths, target, truncated, stats);
  };
  /** Stops the scan when the signal aborted: its reason, holding the paths found so far. */
  const checkAbort = (): void => {
    if (signal?.aborted) throw withPartial(abortReason(signal), collect());
  };

  const runs = residentRuns(process.pid, maps, regions);
  for (const run of runs) total += run.length;

  // Reading: batches of runs into one buffer, one batched call per batch.
  const buffer = new ArrayBuffer(CHUNK);
  const words = new Uint32Array(buffer);
  const bufferAddress = addressOf(buffer);
  const local = new IovecTable(MAX_BATCH);
  const remote = new IovecTable(MAX_BATCH);
  const ok = new Uint8Array(MAX_BATCH);
  const offsetIn = new Float64Array(MAX_BATCH);

  const counts = new Uint32Array(pages + 1);
  let slots = new Uint32Array(0);
  let lows = new Uint16Array(0);
  let cursor = new Uint32Array(0);
  const spillValue: number[] = [];
  const spillSlot: number[] = [];

  const pass = async (fill: boolean): Promise<void> => {
    let done = 0;
    let i = 0;
    let lastR = 0;
    while (i < runs.length) {
      checkAbort();
      let used = 0;
      let c = 0;
      while (i + c < runs.length && c < MAX_BATCH && used + runs[i + c]!.length <= CHUNK) {
        const run = runs[i + c]!;
        local.set(c, bufferAddress + used, run.length);
        remote.set(c, run.start, run.length);
        offsetIn[c] = used;
        used += run.length;
        c++;
      }
      transferBatch("process_vm_readv", process.pid, local, remote, c, ok);
      for (let j = 0; j < c; j++) {
        if (ok[j] === 0) continue;
        const run = runs[i + j]!;
        const region = regions[run.region]!;
        const slotBase = region.wordBase + (run.start - region.start) / size;
        const w0 = offsetIn[j]! / 4;
        const nWords = run.length / size;
        if (size === 8) {
          for (let k = 0; k < nWords; k++) {
            const h = words[w0 + 2 * k + 1]!;
            if (h < minHi || h > maxHi) continue;
            const v = h * TWO_32 + words[w0 + 2 * k]!;
            if (v < minV || v >= maxV) continue;
            let r = lastR;
            if (v < rStart[r]! || v >= rEnd[r]!) {
              r = regionOf(v);
              if (r < 0) continue;
              lastR = r;
            }
            const off = v - rStart[r]!;
            const page = rPage[r]! + Math.floor(off / PAGE_SIZE);
            if (!fill) counts[page]!++;
            else {
              const at = cursor[page]!;
              if (at < counts[page + 1]!) {
                slots[at] = slotBase + k;
                lows[at] = off % PAGE_SIZE;
                cursor[page] = at + 1;
              } else {
                // The target ran between the passes and now has more pointers into this page: spill them.
                spillValue.push(v);
                spillSlot.push(slotBase + k);
              }
            }
          }
        } else {
          // 4-byte pointers (a 32-bit target): the same, one word per slot.
          for (let k = 0; k < nWords; k++) {
            const v = words[w0 + k]!;
            if (v < minV || v >= maxV) continue;
            let r = lastR;
            if (v < rStart[r]! || v >= rEnd[r]!) {
              r = regionOf(v);
              if (r < 0) continue;
              lastR = r;
            }
            const off = v - rStart[r]!;
            const page = rPage[r]! + Math.floor(off / PAGE_SIZE);
            if (!fill) counts[page]!++;
            else {
              const at = cursor[page]!;
              if (at < counts[page + 1]!) {
                slots[at] = slotBase + k;
                lows[at] = off % PAGE_SIZE;
                cursor[page] = at + 1;
              } else {
                // The target ran between the passes and now has more pointers into this page: spill them.
                spillValue.push(v);
                spillSlot.push(slotBase + k);
              }
            }
          }
        }
        done += run.length;
      }
      i += c;
      onProgress?.({ phase: fill ? "index" : "count", done, total });
      await tick();
    }
  };

  try {
    await pass(false);
  } catch (error) {
    throw isExit(error) ? withPartial(error, collect()) : error;
  }
  // Counts to bucket starts (exclusive prefix sums, with the total at the end).
  let sum = 0;
  for (let p = 0; p <= pages; p++) {
    const n = counts[p]!;
    counts[p] = sum;
    sum += n;
  }
  pointers = sum;
  slots = new Uint32Array(pointers).fill(SENTINEL);
  lows = new Uint16Array(pointers);
  cursor = counts.slice(0, pages);
  // A target that exits now leaves part of the reverse map filled: the search runs over that part.
  let exit: ProcessVmError | null = null;
  try {
    await pass(true);
  } catch (error) {
    if (!isExit(error)) throw error;
    exit = error;
  }
  cursor = new Uint32Array(0);
  // Spilled pointers, sorted by value.
  const spillOrder = spillValue.map((_, i) => i).sort((a, b) => spillValue[a]! - spillValue[b]!);
  spillV = Float64Array.from(spillOrder, (i) => spillValue[i]!);
  spillW = Uint32Array.from(spillOrder, (i) => spillSlot[i]!);

  // ---- search ----
  /** A slot `word` holding `v`, which is `n - v` below node `node` (at `level`). */
  const visit = (node: number, n: number, v: number, word: number, level: number, last: boolean, next: number[]): void => {
    const region = slotRegion(word);
    const address = rStart[region]! + (word - rWord[region]!) * size;
    const isStatic = isStaticAt(region, address);
    let child = index.get(address);
    if (child === undefined) {
      if (last && !isStatic) return; // could not reach static memory within maxDepth
      if (nodeAddress.length >= maxNodes) {
        truncated = true;
        return;
      }
      child = nodeAddress.length;
      nodeAddress.push(address);
      nodeLevel.push(level + 1);
      nodeStatic.push(isStatic ? region : -1);
      index.set(address, child);
      if (!isStatic) next.push(child);
    } else if (nodeLevel[child] !== level + 1) {
      return; // reached at a shallower level already
    }
    edgeFrom.push(child);
    edgeTo.push(node);
    edgeOffset.push(n - v);
  };

  let frontier: number[] = [0];
  for (let level = 0; level < maxDepth && frontier.length > 0; level++) {
    checkAbort();
    const next: number[] = [];
    const last = level + 1 === maxDepth;
    for (let f = 0; f < frontier.length; f++) {
      if ((f & 1023) === 1023) {
        checkAbort();
        await tick();
      }
      const node = frontier[f]!;
      const n = nodeAddress[node]!;
      const lo = Math.max(n - maxOffset, minV);
      let r = regionOf(lo);
      if (r < 0) {
        // lo falls in a gap: start at the first region above it
        let a = 0;
        let b = R;
        while (a < b) {
          const mid = (a + b) >> 1;
          if (rStart[mid]! <= lo) a = mid + 1;
          else b = mid;
        }
        r = a;
      }
      for (; r < R && rStart[r]! <= n; r++) {
        const from = Math.max(lo, rStart[r]!);
        const to = Math.min(n, rEnd[r]! - 1);
        if (from > to) continue;
        const p0 = rPage[r]! + Math.floor((from - rStart[r]!) / PAGE_SIZE);
        const p1 = rPage[r]! + Math.floor((to - rStart[r]!) / PAGE_SIZE);
        for (let p = p0; p <= p1; p++) {
          const pageAddress = rStart[r]! + (p - rPage[r]!) * PAGE_SIZE;
          const end = counts[p + 1]!;
          for (let e = counts[p]!; e < end; e++) {
            const word = slots[e]!;
            if (word === SENTINEL) continue;
            const v = pageAddress + lows[e]!;
            if (v < from || v > to) continue;
            visit(node, n, v, word, level, last, next);
          }
        }
      }
      if (spillV.length > 0) {
        let a = 0;
        let b = spillV.length;
        while (a < b) {
          const mid = (a + b) >> 1;
          if (spillV[mid]! < lo) a = mid + 1;
          else b = mid;
        }
        for (; a < spillV.length && spillV[a]! <= n; a++) visit(node, n, spillV[a]!, spillW[a]!, level, last, next);
      }
    }
    onProgress?.({ phase: "search", done: level + 1, total: maxDepth });
    frontier = next;
  }

  const found = collect();
  if (exit) throw withPartial(exit, found);
  return found;
}

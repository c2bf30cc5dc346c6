/**
 * The pointer scanner: from a target address back to static memory.
 *
 * 1. The writable regions are read in batches (only their resident pages, per
 *    `/proc/PID/pagemap`, so that a JIT's multi-GiB reservations are not faulted in).
 * 2. Every aligned 64-bit word whose value points into a writable region is a
 *    pointer; a reverse map from value to slot is built in two passes as flat
 *    typed arrays bucketed by the page the value points into (a counting sort:
 *    6 bytes per pointer plus 4 per page, no objects, no comparison sort).
 * 3. A breadth-first search from the target finds, level by level, the slots
 *    whose value is at most `maxOffset` below the current node; a slot in static
 *    memory ends a path.
 *
 * Static memory is the writable mappings of files (module images: `.data`,
 * `.got`), plus an anonymous writable mapping that starts right where a file
 * mapping ends: that is the part of a module's `.bss` beyond the file, which the
 * loader maps anonymously. Its offsets are given from the module's base, which
 * `resolve` adds back, so they survive a restart like the module's own.
 *
 * @module
 */
import { closeSync, openSync, readSync } from "node:fs";
import { IovecTable } from "../ffi/iovec.ts";
import { addressOf, PAGE_SIZE } from "../ffi/libc.ts";
import type { Region } from "../maps.ts";
import type { Process } from "../process.ts";
import { formatChain, PointerChainList, type PointerChainSpec } from "./chain.ts";
import { transferBatch } from "./batch.ts";

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
  /** Aborts the scan: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

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
 * The paths found by {@link findPointerPaths}: iterable chains in the form
 * `resolve` takes, shortest first.
 *
 * @example
 * ```ts
 * const paths = await findPointerPaths(proc, hpAddress);
 * for (const path of paths) console.log(formatChain(path), resolve(proc, path));
 * ```
 */
export class PointerPaths implements Iterable<PointerPath> {
  /** The paths. */
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
  }

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

/** A writable region: where pointers are looked for, and what they may point into. */
interface Scanned {
  start: number;
  end: number;
  /** Index of its first page in the value space. */
  pageBase: number;
  /** Index of its first word in the slot space. */
  wordBase: number;
  /** Static: module name and base; otherwise null. */
  module: string | null;
  moduleBase: number;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The writable regions, with static ones marked. */
function writableRegions(maps: readonly Region[], only: readonly string[] | undefined): Scanned[] {
  const moduleBase = new Map<string, number>();
  for (const r of maps) if (r.kind === "file" && !moduleBase.has(r.path)) moduleBase.set(r.path, r.start);
  const out: Scanned[] = [];
  let pageBase = 0;
  let wordBase = 0;
  for (let i = 0; i < maps.length; i++) {
    const r = maps[i]!;
    if (!r.readable || !r.writable || r.kind === "vvar" || r.kind === "vsyscall" || r.kind === "vdso") continue;
    let path: string | null = null;
    if (r.kind === "file") path = r.path;
    else if (r.kind === "anonymous" && i > 0) {
      const prev = maps[i - 1]!;
      if (prev.kind === "file" && prev.end === r.start) path = prev.path; // .bss beyond the file
    }
    let module: string | null = path === null ? null : baseName(path);
    if (module !== null && only && !only.includes(module)) module = null;
    out.push({
      start: r.start,
      end: r.end,
      pageBase,
      wordBase,
      module,
      moduleBase: path === null ? 0 : moduleBase.get(path)!,
    });
    pageBase += Math.ceil(r.size / PAGE_SIZE);
    wordBase += Math.ceil(r.size / 8);
  }
  if (wordBase >= SENTINEL) throw new RangeError("more than 32 GiB of writable memory: too large for the pointer scanner");
  return out;
}

/** Resident page runs of each region, from /proc/PID/pagemap; whole regions when pagemap cannot be read. */
function residentRuns(pid: number, regions: readonly Scanned[]): { start: number; length: number; region: number }[] {
  const runs: { start: number; length: number; region: number }[] = [];
  let fd = -1;
  try {
    fd = openSync(`/proc/${pid}/pagemap`, "r");
  } catch {
    fd = -1;
  }
  const buf = new BigUint64Array(64 * 1024);
  const bytes = new Uint8Array(buf.buffer);
  const hi = new Uint32Array(buf.buffer);
  for (let k = 0; k < regions.length; k++) {
    const r = regions[k]!;
    const size = r.end - r.start;
    if (fd < 0 || size <= 256 * 1024) {
      runs.push({ start: r.start, length: size, region: k });
      continue;
    }
    let runStart = -1;
    const pages = size / PAGE_SIZE;
    for (let p = 0; p < pages; p += buf.length) {
      const n = Math.min(buf.length, pages - p);
      let got = 0;
      try {
        got = readSync(fd, bytes, 0, n * 8, ((r.start / PAGE_SIZE) + p) * 8) / 8;
      } catch {
        got = 0;
      }
      for (let i = 0; i < n; i++) {
        // bit 63 present, bit 62 swapped; an unreadable entry is taken as present
        const present = i >= got || (hi[2 * i + 1]! & 0xc0000000) !== 0;
        const addr = r.start + (p + i) * PAGE_SIZE;
        if (present && runStart < 0) runStart = addr;
        else if (!present && runStart >= 0) {
          runs.push({ start: runStart, length: addr - runStart, region: k });
          runStart = -1;
        }
      }
    }
    if (runStart >= 0) runs.push({ start: runStart, length: r.end - runStart, region: k });
  }
  if (fd >= 0) closeSync(fd);
  // Runs longer than a chunk are cut, so that each fits the read buffer.
  const cut: typeof runs = [];
  for (const run of runs) {
    for (let o = 0; o < run.length; o += CHUNK) cut.push({ start: run.start + o, length: Math.min(CHUNK, run.length - o), region: run.region });
  }
  return cut;
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException("The pointer scan was aborted", "AbortError");
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Finds pointer paths from static memory (module images) to `address`, as
 * chains in the form `resolve` takes, shortest first. Keep the result and call
 * `rescan` after the game restarted to keep only the paths that still work.
 *
 * Memory: 6 bytes per pointer found in writable memory, 4 bytes per page of it,
 * plus the search's nodes (bounded by `maxNodes`).
 *
 * @throws {ProcessVmError} when the target cannot be read (`ESRCH`, `EPERM`).
 * @example
 * ```ts
 * const paths = await findPointerPaths(proc, hpAddress, { maxDepth: 4, maxOffset: 0x800, onProgress: (p) => console.log(p) });
 * console.log(paths.toStrings().slice(0, 10)); // ["libgame.so+0x1a2b0 -> 0x10 -> 0x8", ...]
 * ```
 */
export async function findPointerPaths(process: Process, address: number | bigint, options: PointerScanOptions = {}): Promise<PointerPaths> {
  const started = performance.now();
  const target = Number(address);
  if (!Number.isSafeInteger(target) || target <= 0) throw new RangeError(`address must be a positive safe integer (got ${String(address)})`);
  const maxDepth = options.maxDepth ?? 4;
  const maxOffset = options.maxOffset ?? 0x1000;
  const maxResults = options.maxResults ?? 10_000;
  const maxNodes = options.maxNodes ?? 2_000_000;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > 16) throw new RangeError("maxDepth must be an integer from 1 to 16");
  if (!Number.isInteger(maxOffset) || maxOffset < 0 || maxOffset > 1 << 30) throw new RangeError("maxOffset must be an integer from 0 to 2^30");
  const { signal, onProgress } = options;
  aborted(signal);

  const regions = writableRegions(process.maps(), options.modules);
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

  const runs = residentRuns(process.pid, regions);
  let total = 0;
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
      aborted(signal);
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
        const slotBase = region.wordBase + (run.start - region.start) / 8;
        const w0 = offsetIn[j]! / 4;
        const nWords = run.length / 8;
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
        done += run.length;
      }
      i += c;
      onProgress?.({ phase: fill ? "index" : "count", done, total });
      await tick();
    }
  };

  await pass(false);
  // Counts to bucket starts (exclusive prefix sums, with the total at the end).
  let sum = 0;
  for (let p = 0; p <= pages; p++) {
    const n = counts[p]!;
    counts[p] = sum;
    sum += n;
  }
  const pointers = sum;
  slots = new Uint32Array(pointers).fill(SENTINEL);
  lows = new Uint16Array(pointers);
  cursor = counts.slice(0, pages);
  await pass(true);
  cursor = new Uint32Array(0);
  // Spilled pointers, sorted by value.
  const spillOrder = spillValue.map((_, i) => i).sort((a, b) => spillValue[a]! - spillValue[b]!);
  const spillV = Float64Array.from(spillOrder, (i) => spillValue[i]!);
  const spillW = Uint32Array.from(spillOrder, (i) => spillSlot[i]!);

  // ---- search ----
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
  const targetRegion = regionOf(target);
  if (targetRegion >= 0 && regions[targetRegion]!.module !== null) nodeStatic[0] = targetRegion;

  /** A slot `word` holding `v`, which is `n - v` below node `node` (at `level`). */
  const visit = (node: number, n: number, v: number, word: number, level: number, last: boolean, next: number[]): void => {
    const region = slotRegion(word);
    const address = rStart[region]! + (word - rWord[region]!) * 8;
    const isStatic = regions[region]!.module !== null;
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

  let frontier: number[] = nodeStatic[0]! >= 0 ? [] : [0];
  for (let level = 0; level < maxDepth && frontier.length > 0; level++) {
    const next: number[] = [];
    const last = level + 1 === maxDepth;
    for (let f = 0; f < frontier.length; f++) {
      if ((f & 1023) === 1023) {
        aborted(signal);
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

  // ---- paths: from each static node down the edges to the target ----
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
}

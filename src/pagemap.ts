/**
 * What exists in another process: the pages of its mappings that are present
 * in memory or swapped out, from `/proc/PID/pagemap`.
 *
 * Reading a page that a process never touched, with `process_vm_readv` or
 * through `/proc/PID/mem`, makes the kernel allocate it in that process. In a
 * private anonymous mapping (heap, stacks, anonymous and `[anon:NAME]`
 * mappings) such a page holds zeros by definition, so a scan can know its
 * bytes without reading it. This module tells which pages those are:
 *
 * - with the `PAGEMAP_SCAN` ioctl (Linux 6.7+), which returns runs of pages
 *   by category (present, swapped, mapping the shared zero page) in one call;
 * - else by reading the 8-byte entries of `/proc/PID/pagemap` in large
 *   `pread`s (bit 63 present, bit 62 swapped);
 * - where pagemap cannot be opened at all (no permission, no file), everything
 *   is taken as existing (`source: "none"`), so a scan reads all of it.
 *
 * The decoders ({@link decodePageRegions}, {@link decodePagemapEntries}) are
 * pure; the I/O is in {@link residentRuns}.
 *
 * @module
 */
import { closeSync, openSync, readSync } from "node:fs";
import { addressOf, ioctlPointer, PAGE_SIZE } from "./ffi/libc.ts";
import type { Region } from "./maps.ts";
import { describe } from "./validate.ts";

/**
 * `PAGEMAP_SCAN`: `_IOWR('f', 16, struct pm_scan_arg)` with a 96-byte argument (linux/fs.h), 0xc0606610.
 *
 * @example
 * ```ts
 * const n = ioctlPointer(pagemapFd, PAGEMAP_SCAN, addressOf(pmScanArg));
 * ```
 */
export const PAGEMAP_SCAN = ((3 << 30) >>> 0) + (96 << 16) + (0x66 << 8) + 16;
/**
 * `sizeof(struct pm_scan_arg)`: twelve `__u64` (size, flags, start, end, walk_end, vec, vec_len, max_pages,
 * category_inverted, category_mask, category_anyof_mask, return_mask).
 *
 * @example
 * ```ts
 * const arg = new ArrayBuffer(PM_SCAN_ARG_SIZE);
 * ```
 */
export const PM_SCAN_ARG_SIZE = 96;
/**
 * `sizeof(struct page_region)`: start, end, categories (three `__u64`).
 *
 * @example
 * ```ts
 * const vec = new ArrayBuffer(4096 * PAGE_REGION_SIZE);
 * ```
 */
export const PAGE_REGION_SIZE = 24;
/**
 * `PAGE_IS_*` categories of `PAGEMAP_SCAN` (linux/fs.h).
 *
 * @example
 * ```ts
 * const anyof = PAGE_IS.PRESENT | PAGE_IS.SWAPPED;
 * ```
 */
export const PAGE_IS = { FILE: 1 << 2, PRESENT: 1 << 3, SWAPPED: 1 << 4, PFNZERO: 1 << 5, HUGE: 1 << 6 } as const;

const TWO_32 = 4294967296;
/** Bits 63 (present) and 62 (swapped) of a pagemap entry, in its high 32-bit word. */
const ENTRY_EXISTS = 0xc0000000;

/** How existing pages were told: the ioctl, the entries, or not at all (everything is read). */
export type PagemapSource = "scan" | "entries" | "none";

/** Appends `[start, end)` to flat `runs` (start, end pairs), merged with the last run when they touch. */
function pushRun(runs: number[], start: number, end: number): void {
  const n = runs.length;
  if (n > 0 && runs[n - 1]! >= start) {
    if (end > runs[n - 1]!) runs[n - 1] = end;
  } else {
    runs.push(start, end);
  }
}

/**
 * Decodes the `struct page_region` array that `PAGEMAP_SCAN` fills: appends
 * each region's `[start, end)` to `runs` (flat start, end pairs), merging
 * regions that touch (the kernel reports present and swapped pages as
 * separate regions). Pure.
 *
 * @param words the array as 32-bit little-endian words (6 per region).
 * @param count regions filled (the ioctl's return value).
 * @example
 * ```ts
 * const runs: number[] = [];
 * decodePageRegions(new Uint32Array(vec), filled, runs); // [start0, end0, start1, end1, …]
 * ```
 */
export function decodePageRegions(words: Uint32Array, count: number, runs: number[]): void {
  for (let i = 0; i < count; i++) {
    const j = i * 6;
    const start = words[j + 1]! * TWO_32 + words[j]!;
    const end = words[j + 3]! * TWO_32 + words[j + 2]!;
    if (end > start) pushRun(runs, start, end);
  }
}

/**
 * Decodes `/proc/PID/pagemap` entries (8 bytes per page, as read at file
 * offset `firstAddress / pageSize * 8`): appends the runs of pages that are
 * present (bit 63) or swapped (bit 62) to `runs` (flat start, end pairs),
 * merged with the last run when they touch. Pure.
 *
 * @param words the entries as 32-bit little-endian words (2 per entry).
 * @param count entries to decode.
 * @param firstAddress the address of the page of entry 0.
 * @example
 * ```ts
 * const runs: number[] = [];
 * decodePagemapEntries(new Uint32Array(bytes.buffer), bytes.length / 8, 0x7f0000000000, 4096, runs);
 * ```
 */
export function decodePagemapEntries(words: Uint32Array, count: number, firstAddress: number, pageSize: number, runs: number[]): void {
  let runStart = -1;
  for (let i = 0; i < count; i++) {
    const exists = (words[2 * i + 1]! & ENTRY_EXISTS) !== 0;
    if (exists) {
      if (runStart < 0) runStart = firstAddress + i * pageSize;
    } else if (runStart >= 0) {
      pushRun(runs, runStart, firstAddress + i * pageSize);
      runStart = -1;
    }
  }
  if (runStart >= 0) pushRun(runs, runStart, firstAddress + count * pageSize);
}

/** What {@link residentRuns} found. */
export interface ResidentRuns {
  /** How: the `PAGEMAP_SCAN` ioctl, the entries, or `"none"` (pagemap could not be opened: every page taken as existing). */
  source: PagemapSource;
  /** Per range asked: its existing pages as flat `[start, end)` pairs, ascending, clipped to the range. */
  runs: Float64Array[];
  /** Why pagemap could not be used (with `source: "none"`). */
  reason?: string;
}

/** Options of {@link residentRuns}. */
export interface ResidentRunsOptions {
  /** Read the entries even where `PAGEMAP_SCAN` works. */
  entries?: boolean;
  /**
   * The pagemap file to open instead of `/proc/PID/pagemap`. Another process's
   * pagemap is what it is for; a path that cannot be opened gives `source: "none"`.
   */
  path?: string;
}

// Buffers handed to the kernel: allocated once, kept alive by this module, never exposed.
let argBuffer: ArrayBuffer | undefined;
let argWords: Uint32Array;
let argAddress = 0;
const VEC_REGIONS = 4096;
let vecBuffer: ArrayBuffer | undefined;
let vecWords: Uint32Array;
let vecAddress = 0;
const ENTRY_BATCH = 64 * 1024;
let entryBuffer: Uint8Array | undefined;
/** The ioctl answered ENOTTY or EINVAL once (a kernel before 6.7): use the entries from then on. */
let scanUnsupported = false;

function setU64(words: Uint32Array, index: number, value: number): void {
  words[2 * index] = value >>> 0;
  words[2 * index + 1] = Math.floor(value / TWO_32) >>> 0;
}

/** Pagemap opened but could not be read (the process exited, …): everything is taken as existing. */
class PagemapUnreadable extends Error {}

const ENOTTY = 25;
const EINVAL = 22;

/** Runs of `[start, end)` (page aligned) by `PAGEMAP_SCAN`; false when the ioctl is not supported. */
function scanIoctl(fd: number, start: number, end: number, runs: number[]): boolean {
  if (!argBuffer) {
    argBuffer = new ArrayBuffer(PM_SCAN_ARG_SIZE);
    argWords = new Uint32Array(argBuffer);
    argAddress = addressOf(argBuffer);
    vecBuffer = new ArrayBuffer(VEC_REGIONS * PAGE_REGION_SIZE);
    vecWords = new Uint32Array(vecBuffer);
    vecAddress = addressOf(vecBuffer);
  }
  let at = start;
  while (at < end) {
    argWords.fill(0);
    setU64(argWords, 0, PM_SCAN_ARG_SIZE); // size
    setU64(argWords, 2, at); // start
    setU64(argWords, 3, end); // end
    setU64(argWords, 5, vecAddress); // vec
    setU64(argWords, 6, VEC_REGIONS); // vec_len
    // Pages present or swapped, except those mapping the shared zero page (they read as zeros too).
    setU64(argWords, 8, PAGE_IS.PFNZERO); // category_inverted
    setU64(argWords, 9, PAGE_IS.PFNZERO); // category_mask: not the zero page
    setU64(argWords, 10, PAGE_IS.PRESENT | PAGE_IS.SWAPPED); // category_anyof_mask
    setU64(argWords, 11, PAGE_IS.PRESENT | PAGE_IS.SWAPPED); // return_mask
    const n = ioctlPointer(fd, PAGEMAP_SCAN, argAddress);
    if (n < 0) {
      if (-n === ENOTTY || -n === EINVAL) return false;
      throw new PagemapUnreadable(`PAGEMAP_SCAN failed with errno ${-n}`);
    }
    decodePageRegions(vecWords, n, runs);
    const walkEnd = argWords[9]! * TWO_32 + argWords[8]!;
    if (walkEnd <= at) break; // no progress: never loop
    at = walkEnd;
  }
  return true;
}

/** Runs of `[start, end)` (page aligned) from the entries, read in batches. */
function readEntries(fd: number, start: number, end: number, runs: number[]): void {
  entryBuffer ??= new Uint8Array(ENTRY_BATCH * 8);
  const words = new Uint32Array(entryBuffer.buffer);
  const pages = (end - start) / PAGE_SIZE;
  for (let p = 0; p < pages; p += ENTRY_BATCH) {
    const n = Math.min(ENTRY_BATCH, pages - p);
    const first = start + p * PAGE_SIZE;
    let got = 0;
    while (got < n * 8) {
      let r: number;
      try {
        r = readSync(fd, entryBuffer, got, n * 8 - got, (first / PAGE_SIZE) * 8 + got);
      } catch (error) {
        throw new PagemapUnreadable(`reading the pagemap entries failed: ${(error as Error).message}`);
      }
      if (r <= 0) break;
      got += r;
    }
    const entries = Math.floor(got / 8);
    decodePagemapEntries(words, entries, first, PAGE_SIZE, runs);
    // Entries that could not be read: taken as existing, so that they are read rather than assumed zero.
    if (entries < n) pushRun(runs, first + entries * PAGE_SIZE, first + n * PAGE_SIZE);
  }
}

const pageDown = (a: number): number => a - (a % PAGE_SIZE);
const pageUp = (a: number): number => pageDown(a + PAGE_SIZE - 1);

/** Clips flat runs to `[start, end)`. */
function clip(runs: number[], start: number, end: number): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    const s = Math.max(start, runs[i]!);
    const e = Math.min(end, runs[i + 1]!);
    if (e > s) out.push(s, e);
  }
  return Float64Array.from(out);
}

/**
 * The pages of `ranges` in process `pid` that exist: present in memory or
 * swapped out (and, with `PAGEMAP_SCAN`, not mapping the shared zero page).
 * Per range, runs as flat `[start, end)` pairs. Reads in large batches: one
 * ioctl per 4,096 runs, or 512 KiB of entries per `pread`. Where pagemap cannot
 * be opened, each range is one run and `source` is `"none"`.
 *
 * @example
 * ```ts
 * import { residentRuns } from "process-vm";
 * const heap = proc.maps().find((r) => r.kind === "heap")!;
 * const { source, runs } = residentRuns(proc.pid, [heap]);
 * let resident = 0;
 * for (let i = 0; i < runs[0]!.length; i += 2) resident += runs[0]![i + 1]! - runs[0]![i]!;
 * ```
 */
export function residentRuns(pid: number, ranges: readonly { start: number; end: number }[], options: ResidentRunsOptions = {}): ResidentRuns {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`pid must be a positive integer (got ${describe(pid)})`);
  if (!Array.isArray(ranges)) throw new TypeError(`ranges must be an array of { start, end } (got ${describe(ranges)})`);
  options ??= {};
  if (typeof options !== "object") throw new TypeError(`options must be an object (got ${describe(options)})`);
  ranges.forEach((r, i) => {
    if (typeof r !== "object" || r === null) throw new TypeError(`ranges[${i}] must be an object { start, end } (got ${describe(r)})`);
    if (!(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end) && r.start >= 0 && r.end >= r.start)) {
      throw new RangeError(`invalid range [${describe(r.start)}, ${describe(r.end)})`);
    }
  });
  const whole = (reason: string): ResidentRuns => ({
    source: "none",
    runs: ranges.map((r) => (r.end > r.start ? Float64Array.of(r.start, r.end) : new Float64Array(0))),
    reason,
  });
  let fd: number;
  try {
    fd = openSync(options.path ?? `/proc/${pid}/pagemap`, "r");
  } catch (error) {
    return whole(`cannot open ${options.path ?? `/proc/${pid}/pagemap`}: ${(error as Error).message}`);
  }
  try {
    let useScan = !options.entries && !scanUnsupported;
    const out: Float64Array[] = [];
    for (const r of ranges) {
      if (r.end <= r.start) {
        out.push(new Float64Array(0));
        continue;
      }
      const start = pageDown(r.start);
      const end = pageUp(r.end);
      const runs: number[] = [];
      if (useScan && !scanIoctl(fd, start, end, runs)) {
        scanUnsupported = true;
        useScan = false;
        runs.length = 0;
      }
      if (!useScan) readEntries(fd, start, end, runs);
      out.push(clip(runs, r.start, r.end));
    }
    return { source: useScan ? "scan" : "entries", runs: out };
  } catch (error) {
    if (error instanceof PagemapUnreadable) return whole(error.message);
    throw error;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether a never-touched page of `region` holds zeros without existing: a
 * private anonymous mapping (`heap`, `stack`, `thread-stack`, `anonymous`,
 * `[anon:NAME]`, or a private mapping of `/dev/zero`). File-backed and shared mappings hold data that is not in the
 * page tables, so they are always read.
 *
 * @example
 * ```ts
 * proc.maps().filter(zeroFilled); // the mappings whose untouched pages a scan skips
 * ```
 */
export function zeroFilled(region: Region): boolean {
  if (region.shared) return false;
  switch (region.kind) {
    case "heap":
    case "stack":
    case "thread-stack":
    case "anonymous":
      return true;
    case "named":
      return region.path.startsWith("[anon:");
    case "file":
      return region.path === "/dev/zero"; // a private mapping of /dev/zero is anonymous memory
    default:
      return false;
  }
}

/** Where the bytes of a selection are, as {@link existingRuns} tells. */
export interface MemoryLayout {
  /** Flat `[start, end)` pairs, ascending and disjoint: what must be read (existing pages, and all of file-backed and shared mappings). */
  runs: Float64Array;
  /** The rest of the ranges: never-touched pages of private anonymous mappings, which hold zeros. Flat pairs, ascending. */
  holes: Float64Array;
  /** How pagemap was read; `"off"` when not asked (`resident: false`). */
  source: PagemapSource | "off";
  /** Why pagemap could not be used, with `source: "none"`. */
  reason?: string;
  /** Bytes selected. */
  selected: number;
  /** Bytes in `runs`. */
  existing: number;
}

/**
 * The parts of `ranges` (ascending, disjoint, as `selectRanges` gives them)
 * whose bytes must be read: all of file-backed and shared mappings (and of
 * any kind other than private anonymous), and of private anonymous mappings
 * only the pages that are present or swapped. The rest holds zeros.
 * With `resident` false, everything selected.
 *
 * @example
 * ```ts
 * const layout = existingRuns(proc.pid, proc.maps(), selectRanges(proc.maps()), true);
 * console.log(`${layout.existing} of ${layout.selected} bytes to read (${layout.source})`);
 * ```
 */
export function existingRuns(
  pid: number,
  maps: readonly Region[],
  ranges: readonly { start: number; end: number }[],
  resident: boolean,
  options: ResidentRunsOptions = {},
): MemoryLayout {
  let selected = 0;
  for (const r of ranges) selected += r.end - r.start;
  if (!resident) {
    const runs: number[] = [];
    for (const r of ranges) if (r.end > r.start) pushRun(runs, r.start, r.end);
    return { runs: Float64Array.from(runs), holes: new Float64Array(0), source: "off", selected, existing: selected };
  }
  // Cut the ranges along the mappings: zero-filled pieces are asked of pagemap, the others are read whole.
  const pieces: { start: number; end: number; zero: boolean }[] = [];
  let m = 0;
  for (const r of ranges) {
    let at = r.start;
    while (m < maps.length && maps[m]!.end <= at) m++;
    for (let k = m; k < maps.length && at < r.end; k++) {
      const region = maps[k]!;
      if (region.start >= r.end) break;
      if (region.end <= at) continue;
      if (region.start > at) {
        pieces.push({ start: at, end: Math.min(region.start, r.end), zero: false }); // not in the maps read: read it
        at = Math.min(region.start, r.end);
      }
      const end = Math.min(region.end, r.end);
      pieces.push({ start: at, end, zero: zeroFilled(region) });
      at = end;
    }
    if (at < r.end) pieces.push({ start: at, end: r.end, zero: false });
  }
  const zero = pieces.filter((p) => p.zero);
  const found = zero.length > 0 ? residentRuns(pid, zero, options) : { source: "scan" as PagemapSource, runs: [] };
  const runs: number[] = [];
  const holes: number[] = [];
  let z = 0;
  for (const p of pieces) {
    if (!p.zero) {
      pushRun(runs, p.start, p.end);
      continue;
    }
    const rr = found.runs[z++]!;
    let at = p.start;
    for (let i = 0; i < rr.length; i += 2) {
      if (rr[i]! > at) pushRun(holes, at, rr[i]!);
      pushRun(runs, rr[i]!, rr[i + 1]!);
      at = rr[i + 1]!;
    }
    if (at < p.end) pushRun(holes, at, p.end);
  }
  let existing = 0;
  for (let i = 0; i < runs.length; i += 2) existing += runs[i + 1]! - runs[i]!;
  return { runs: Float64Array.from(runs), holes: Float64Array.from(holes), source: found.source, reason: found.reason, selected, existing };
}

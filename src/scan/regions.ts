/**
 * Which memory a scan reads: the selection options and their application to
 * the target's maps.
 *
 * @module
 */
import type { Region, RegionKind } from "../maps.ts";

/** The memory selection shared by value scans and pattern scans. */
export interface MemoryOptions {
  /**
   * Region kinds to scan (`"heap"`, `"stack"`, `"anonymous"`, `"file"`,
   * `"named"`, …). Default: every kind. `[vvar]`, `[vsyscall]` and mappings of
   * device files (`/dev/…` other than `/dev/shm` and `/dev/zero`) are never scanned.
   */
  kinds?: readonly RegionKind[];
  /**
   * Permissions a region must have, in the `/proc/PID/maps` form with `?` for
   * "either": `"rw?p"` (the default: readable, writable, private), `"r-x?"`,
   * `"r???"` (anything readable). A shorter string lists required flags
   * (`"rw"`, `"rx"`).
   */
  permissions?: string;
  /** Only the mappings of this module (a base name such as `"libc.so.6"`, or a full path). */
  module?: string;
  /** Only executable file-backed mappings (code); implies `permissions: "r?x?"` unless given. */
  code?: boolean;
  /** Only this address range, `[start, end)`; regions are clipped to it. */
  within?: readonly [number, number];
  /** Any further test of a region. */
  filter?: (region: Region) => boolean;
  /**
   * Read only memory that exists (default `true`): of private anonymous
   * mappings, only the pages present or swapped out, per `/proc/PID/pagemap`;
   * never-touched pages hold zeros and are known without reading them (reading
   * them would make the kernel allocate them in the target). File-backed and
   * shared mappings are read whole. `false` reads everything selected.
   */
  resident?: boolean;
}

function permissionTest(text: string): (r: Region) => boolean {
  if (/^[r?-][w?-][x?-][ps?]$/.test(text)) {
    const want = (c: string, has: boolean, yes: string) => c === "?" || (c === yes) === has;
    return (r) =>
      want(text[0]!, r.readable, "r") && want(text[1]!, r.writable, "w") && want(text[2]!, r.executable, "x") &&
      (text[3] === "?" || (text[3] === "s") === r.shared);
  }
  if (/^[rwxsp]*$/.test(text)) {
    return (r) =>
      (!text.includes("r") || r.readable) && (!text.includes("w") || r.writable) && (!text.includes("x") || r.executable) &&
      (!text.includes("s") || r.shared) && (!text.includes("p") || !r.shared);
  }
  throw new SyntaxError(`invalid permissions "${text}" (expected e.g. "rw?p", "r-x?" or "rw")`);
}

/** A device mapping (`/dev/dri/card0`…): reading it can have side effects. */
function isDevice(r: Region): boolean {
  return r.kind === "file" && r.path.startsWith("/dev/") && !r.path.startsWith("/dev/shm/") && r.path !== "/dev/zero";
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** A range to scan: `[start, end)`. */
export interface ScanRange {
  start: number;
  end: number;
}

/**
 * The ranges that `options` select out of `regions`, in address order, with
 * adjacent ones merged (a value that straddles two selected mappings is found).
 * This is what `scan` and `findPattern` read.
 *
 * @example
 * ```ts
 * import { selectRanges } from "process-vm";
 * const ranges = selectRanges(proc.maps(), { kinds: ["heap", "anonymous"] });
 * const bytes = ranges.reduce((n, r) => n + r.end - r.start, 0);
 * ```
 */
export function selectRanges(regions: readonly Region[], options: MemoryOptions = {}): ScanRange[] {
  if (!Array.isArray(regions)) throw new TypeError("regions must be an array of Regions (from parseMaps or proc.maps())");
  options ??= {};
  regions.forEach((r, i) => {
    if (typeof r !== "object" || r === null) throw new TypeError(`regions[${i}] must be a Region (got ${r === null ? "null" : typeof r})`);
  });
  const perms = permissionTest(options.permissions ?? (options.code ? "r?x?" : options.module ? "r???" : "rw?p"));
  const kinds = options.code ? ["file"] : options.kinds;
  const within = options.within;
  if (within && !(Array.isArray(within) && within.length === 2 && within[0] <= within[1])) {
    throw new RangeError("within must be [start, end] with start <= end");
  }
  const moduleName = options.module;
  let modulePath: string | undefined;
  if (moduleName !== undefined) {
    const exact = regions.find((r) => r.kind === "file" && (r.path === moduleName || baseName(r.path) === moduleName));
    const loose = exact ?? regions.find((r) => r.kind === "file" && baseName(r.path).startsWith(`${moduleName}.`) && /^[\d.]+$/.test(baseName(r.path).slice(moduleName.length + 1)));
    modulePath = loose?.path;
    if (modulePath === undefined) return [];
  }
  const out: ScanRange[] = [];
  for (const r of regions) {
    if (!r.readable || r.kind === "vvar" || r.kind === "vsyscall" || isDevice(r)) continue;
    if (kinds && !kinds.includes(r.kind)) continue;
    if (!perms(r)) continue;
    if (modulePath !== undefined && r.path !== modulePath) continue;
    if (options.filter && !options.filter(r)) continue;
    let start = r.start;
    let end = r.end;
    if (within) {
      start = Math.max(start, within[0]);
      end = Math.min(end, within[1]);
      if (start >= end) continue;
    }
    const last = out[out.length - 1];
    if (last && last.end === start) last.end = end;
    else out.push({ start, end });
  }
  return out;
}

/**
 * `/proc/PID/maps`: a pure parser and the `Region` type. No I/O here.
 *
 * @module
 */
import { describe } from "./validate.ts";

/**
 * What a mapping holds, from its path field:
 * - `file`: a mapped file (the `path` is absolute);
 * - `heap`: `[heap]`; `stack`: `[stack]`; `thread-stack`: `[stack:TID]` (old kernels);
 * - `anonymous`: no path;
 * - `named`: an anonymous mapping named with `prctl(PR_SET_VMA_ANON_NAME)`, `[anon:NAME]` or `[anon_shmem:NAME]`;
 * - `vdso`, `vvar` (also `[vvar_vclock]`), `vsyscall`: the kernel's special pages;
 * - `other`: any other bracketed name (`[uprobes]`, …) or a relative path such as a SysV shm key.
 */
export type RegionKind =
  | "file"
  | "heap"
  | "stack"
  | "thread-stack"
  | "anonymous"
  | "named"
  | "vdso"
  | "vvar"
  | "vsyscall"
  | "other";

/** Access rights of a mapping, the structure behind `"rw-p"`. */
export interface Permissions {
  readonly read: boolean;
  readonly write: boolean;
  readonly execute: boolean;
  /** `s` (shared) rather than `p` (private, copy-on-write). */
  readonly shared: boolean;
}

/** One line of `/proc/PID/maps`. */
export interface Region {
  /** First address. */
  readonly start: number;
  /** One past the last address. */
  readonly end: number;
  /** `end - start`. */
  readonly size: number;
  /** As printed, e.g. `"r-xp"`. */
  readonly permissions: string;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly executable: boolean;
  readonly shared: boolean;
  /** Offset into the file (or page offset for anonymous mappings). */
  readonly offset: number;
  /** `major:minor`, hex, as printed, e.g. `"08:01"`. */
  readonly device: string;
  /** Inode of the file; 0 for anonymous mappings. */
  readonly inode: number;
  /** Path field as printed, without a trailing ` (deleted)`; `""` for anonymous mappings. */
  readonly path: string;
  readonly kind: RegionKind;
  /** The file was deleted after it was mapped (the kernel appended ` (deleted)`). */
  readonly deleted: boolean;
  /** `NAME` of `[anon:NAME]`, the thread id of `[stack:TID]`, or the bracketed name of `other` kinds. */
  readonly name?: string;
}

/**
 * Parses `"rw-p"` into a {@link Permissions}.
 *
 * @example
 * ```ts
 * parsePermissions("r-xp"); // { read: true, write: false, execute: true, shared: false }
 * ```
 */
export function parsePermissions(text: string): Permissions {
  if (typeof text !== "string") throw new TypeError(`text must be a string such as "rw-p" (got ${describe(text)})`);
  if (!/^[r-][w-][x-][ps]$/.test(text)) throw new SyntaxError(`invalid permissions ${describe(text)}`);
  return { read: text[0] === "r", write: text[1] === "w", execute: text[2] === "x", shared: text[3] === "s" };
}

/**
 * Formats a {@link Permissions} as `/proc/PID/maps` prints it.
 *
 * @example
 * ```ts
 * formatPermissions({ read: true, write: true, execute: false, shared: false }); // "rw-p"
 * ```
 */
export function formatPermissions(p: Permissions): string {
  return `${p.read ? "r" : "-"}${p.write ? "w" : "-"}${p.execute ? "x" : "-"}${p.shared ? "s" : "p"}`;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+)(?: +(.*))?$/;
const DELETED = " (deleted)";

function classify(path: string): { kind: RegionKind; name?: string } {
  if (path === "") return { kind: "anonymous" };
  if (path.startsWith("/")) return { kind: "file" };
  if (path === "[heap]") return { kind: "heap" };
  if (path === "[stack]") return { kind: "stack" };
  if (path === "[vdso]") return { kind: "vdso" };
  if (path === "[vvar]" || path.startsWith("[vvar_")) return { kind: "vvar" };
  if (path === "[vsyscall]") return { kind: "vsyscall" };
  let m = /^\[stack:(\d+)\]$/.exec(path);
  if (m) return { kind: "thread-stack", name: m[1] };
  m = /^\[anon(?:_shmem)?:(.*)\]$/.exec(path);
  if (m) return { kind: "named", name: m[1] };
  m = /^\[(.*)\]$/.exec(path);
  if (m) return { kind: "other", name: m[1] };
  return { kind: "other" };
}

/**
 * Parses one line of `/proc/PID/maps`, or returns `null` when the line is not
 * a mapping. Paths may contain spaces; a trailing ` (deleted)` sets `deleted`.
 *
 * @example
 * ```ts
 * parseMapsLine("7f12a000-7f12c000 rw-p 00000000 00:00 0          [anon:game heap]")!.name; // "game heap"
 * ```
 */
export function parseMapsLine(line: string): Region | null {
  if (typeof line !== "string") throw new TypeError(`line must be a string (got ${describe(line)})`);
  const m = LINE.exec(line);
  if (!m) return null;
  const start = parseInt(m[1]!, 16);
  const end = parseInt(m[2]!, 16);
  const permissions = m[3]!;
  let path = m[7] ?? "";
  let deleted = false;
  if (path.endsWith(DELETED) && path.startsWith("/")) {
    path = path.slice(0, -DELETED.length);
    deleted = true;
  }
  const { kind, name } = classify(path);
  const region: Region = {
    start,
    end,
    size: end - start,
    permissions,
    readable: permissions[0] === "r",
    writable: permissions[1] === "w",
    executable: permissions[2] === "x",
    shared: permissions[3] === "s",
    offset: parseInt(m[4]!, 16),
    device: m[5]!,
    inode: Number(m[6]!),
    path,
    kind,
    deleted,
    ...(name === undefined ? {} : { name }),
  };
  return region;
}

/**
 * Parses the text of `/proc/PID/maps` into regions, in address order. Lines
 * that are not mappings are skipped.
 *
 * @example
 * ```ts
 * import { parseMaps } from "process-vm";
 * const regions = parseMaps(await Bun.file(`/proc/${pid}/maps`).text());
 * const heap = regions.find((r) => r.kind === "heap");
 * ```
 */
export function parseMaps(text: string): Region[] {
  if (typeof text !== "string") throw new TypeError(`text must be the string of a /proc/PID/maps file (got ${describe(text)})`);
  const regions: Region[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const region = parseMapsLine(line);
    if (region) regions.push(region);
  }
  return regions;
}

/** A mapped file: all its regions, from the lowest start to the highest end. */
export interface Module {
  /** Base name of the file, e.g. `"libc.so.6"`. */
  readonly name: string;
  /** Full path. */
  readonly path: string;
  /** Lowest start address of its mappings (the load base of an ELF image). */
  readonly base: number;
  /** Highest end address of its mappings. */
  readonly end: number;
  /** `end - base`. */
  readonly size: number;
  /** Its mappings, in address order. */
  readonly regions: readonly Region[];
}

function baseName(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? path : path.slice(slash + 1);
}

/**
 * Groups the file-backed regions into modules, in order of base address: one
 * per loaded image of a file (a file mapped twice, as two images, gives two
 * modules; a new image starts at a mapping of file offset 0), and a deleted
 * file apart from the file that replaced it.
 *
 * @example
 * ```ts
 * modules(parseMaps(text)).map((m) => m.name); // ["cat", "libc.so.6", "ld-linux-x86-64.so.2"]
 * ```
 */
export function modules(regions: readonly Region[]): Module[] {
  if (!Array.isArray(regions)) throw new TypeError(`regions must be an array of Regions (got ${describe(regions)})`);
  checkRegions(regions);
  const open = new Map<string, Region[]>();
  const images: { path: string; list: Region[] }[] = [];
  for (const region of [...regions].sort((a, b) => a.start - b.start)) {
    if (region.kind !== "file") continue;
    const key = `${region.deleted ? "D" : "F"}${region.path}`;
    let list = open.get(key);
    if (!list || region.offset === 0) {
      open.set(key, (list = []));
      images.push({ path: region.path, list });
    }
    list.push(region);
  }
  return images.map(({ path, list }) => {
    const base = list[0]!.start;
    const end = list[list.length - 1]!.end;
    return { name: baseName(path), path, base, end, size: end - base, regions: list };
  });
}

/** Each element must be a Region-like object with numeric bounds. */
function checkRegions(regions: readonly unknown[]): void {
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i] as Region | null;
    if (typeof r !== "object" || r === null || typeof r.start !== "number" || typeof r.end !== "number") {
      throw new TypeError(`regions[${i}] must be a Region { start, end, … } (got ${describe(r)})`);
    }
  }
}

/** Windows image extensions: such names are matched without regard to case, as Windows does. */
const PE_NAME = /\.(exe|dll|sys|drv|ocx|cpl|scr|acm|ax|efi|mui|tlb)$/i;

/**
 * Whether `name` is named like a Windows (PE) image (`Game.exe`, `d3d11.DLL`):
 * such module names are matched without regard to case.
 *
 * @example
 * ```ts
 * isPeName("Game.EXE"); // true
 * ```
 */
export function isPeName(name: string): boolean {
  return PE_NAME.test(name);
}

/**
 * Finds a module by base name (`"libc.so.6"`) or full path, or returns `null`.
 * A name without a version suffix also matches a versioned file
 * (`"libc.so"` finds `libc.so.6`), after exact matches. Names of Windows
 * images (`.exe`, `.dll`, … as Wine maps them) match without regard to case,
 * as Windows and Cheat Engine write them (`"game.exe"` finds `Game.exe`),
 * after exact matches.
 *
 * @example
 * ```ts
 * findModule(parseMaps(text), "libc.so.6")?.base;
 * findModule(parseMaps(wineMaps), "game.exe")?.path; // ".../Game.exe"
 * ```
 */
export function findModule(regions: readonly Region[], name: string): Module | null {
  if (typeof name !== "string") throw new TypeError(`name must be a string (got ${describe(name)})`);
  const all = modules(regions);
  const exact = all.find((m) => m.name === name || m.path === name);
  if (exact) return exact;
  if (PE_NAME.test(name)) {
    const lower = name.toLowerCase();
    const folded = all.find((m) => PE_NAME.test(m.name) && (m.name.toLowerCase() === lower || m.path.toLowerCase() === lower));
    if (folded) return folded;
  }
  return all.find((m) => m.name.startsWith(`${name}.`) && /^[\d.]+$/.test(m.name.slice(name.length + 1))) ?? null;
}

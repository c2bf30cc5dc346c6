/**
 * ELF program headers, as far as the pointer scanner needs them: which address
 * ranges of a loaded image are its writable segments (`.data`, `.got`, `.bss`).
 * Pure functions over bytes; the caller reads them (from the target's memory,
 * where the first mapping of a module holds its ELF header, or from a file).
 *
 * @module
 */

/** `e_type` of a fixed-address executable: segments are at their `p_vaddr`. */
export const ET_EXEC = 2;
/** `e_type` of a position-independent executable or shared object: segments are at base + `p_vaddr`. */
export const ET_DYN = 3;
/** `p_type` of a loadable segment. */
export const PT_LOAD = 1;
/** `p_flags` bit: the segment is writable. */
export const PF_W = 2;

/** Size of the ELF header of a 64-bit image (a 32-bit one is 52 bytes). */
export const ELF_HEADER_SIZE = 64;

/** A `PT_LOAD` program header. */
export interface ElfSegment {
  /** `p_vaddr`: where the segment starts, before the load bias is added. */
  readonly vaddr: number;
  /** `p_memsz`: its size in memory; beyond `filesz` it is zero-filled (`.bss`). */
  readonly memsz: number;
  /** `p_offset` in the file. */
  readonly offset: number;
  /** `p_filesz`: the bytes that come from the file. */
  readonly filesz: number;
  /** `p_flags`: `PF_X` 1, `PF_W` 2, `PF_R` 4. */
  readonly flags: number;
}

/** What {@link parseElf} finds in an ELF image's header and program headers. */
export interface ElfImage {
  /** `e_type`: {@link ET_EXEC}, {@link ET_DYN}, or another (relocatable, core). */
  readonly type: number;
  readonly bits: 32 | 64;
  readonly littleEndian: boolean;
  /** All `PT_LOAD` segments, in header order. */
  readonly loads: readonly ElfSegment[];
  /** The `PT_LOAD` segments with `PF_W`: where the image's static data lives. */
  readonly writable: readonly ElfSegment[];
}

interface Header {
  bits: 32 | 64;
  le: boolean;
  type: number;
  phoff: number;
  phentsize: number;
  phnum: number;
}

function safe(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`ELF ${what} 0x${value.toString(16)} is too large`);
  return Number(value);
}

/** The header's fields, or null when `bytes` do not start with an ELF header. */
function header(bytes: Uint8Array): Header | null {
  if (bytes.length < 52) return null;
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return null;
  const cls = bytes[4];
  const data = bytes[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2) || bytes[6] !== 1) return null;
  const bits = cls === 2 ? 64 : 32;
  if (bits === 64 && bytes.length < ELF_HEADER_SIZE) return null;
  const le = data === 1;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = v.getUint16(16, le);
  if (bits === 64) {
    return { bits, le, type, phoff: safe(v.getBigUint64(32, le), "e_phoff"), phentsize: v.getUint16(54, le), phnum: v.getUint16(56, le) };
  }
  return { bits, le, type, phoff: v.getUint32(28, le), phentsize: v.getUint16(42, le), phnum: v.getUint16(44, le) };
}

/**
 * How many bytes from the start of an ELF image {@link parseElf} needs (the
 * header and all program headers), or `null` when `bytes` (at least the first
 * 64) do not start with an ELF header.
 *
 * @example
 * ```ts
 * const first = proc.read(base, 64);
 * const need = elfHeadersLength(first); // e.g. 0x2d8 for a shared object with 14 program headers
 * if (need !== null) image = parseElf(proc.read(base, need));
 * ```
 */
export function elfHeadersLength(bytes: Uint8Array): number | null {
  const h = header(bytes);
  if (h === null) return null;
  return Math.max(h.bits === 64 ? ELF_HEADER_SIZE : 52, h.phoff + h.phnum * h.phentsize);
}

/**
 * Parses an ELF header and its program headers: the image's type and its
 * `PT_LOAD` segments, the writable ones apart. `bytes` start at the image's
 * first byte (file offset 0) and must reach the end of the program headers
 * (see {@link elfHeadersLength}).
 *
 * Returns `null` when `bytes` are not an ELF image.
 *
 * @throws {RangeError} when the program headers lie beyond `bytes`, or are malformed.
 * @example
 * ```ts
 * const image = parseElf(readFileSync("/usr/lib/x86_64-linux-gnu/libc.so.6"));
 * image?.writable; // e.g. [{ flags: 6, offset: 0x1cf8d0, vaddr: 0x1cf8d0, filesz: 0x4f98, memsz: 0x12680 }]
 * ```
 */
export function parseElf(bytes: Uint8Array): ElfImage | null {
  const h = header(bytes);
  if (h === null) return null;
  const size = h.bits === 64 ? 56 : 32;
  if (h.phnum === 0xffff) throw new RangeError("ELF image with more than 65534 program headers (PN_XNUM) is not supported");
  if (h.phnum > 0 && h.phentsize < size) throw new RangeError(`ELF e_phentsize ${h.phentsize} is smaller than ${size}`);
  const end = h.phoff + h.phnum * h.phentsize;
  if (end > bytes.length) throw new RangeError(`ELF program headers end at ${end}, beyond the ${bytes.length} bytes given`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = h.le;
  const loads: ElfSegment[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const at = h.phoff + i * h.phentsize;
    if (v.getUint32(at, le) !== PT_LOAD) continue;
    const segment: ElfSegment =
      h.bits === 64
        ? {
            flags: v.getUint32(at + 4, le),
            offset: safe(v.getBigUint64(at + 8, le), "p_offset"),
            vaddr: safe(v.getBigUint64(at + 16, le), "p_vaddr"),
            filesz: safe(v.getBigUint64(at + 32, le), "p_filesz"),
            memsz: safe(v.getBigUint64(at + 40, le), "p_memsz"),
          }
        : {
            offset: v.getUint32(at + 4, le),
            vaddr: v.getUint32(at + 8, le),
            filesz: v.getUint32(at + 16, le),
            memsz: v.getUint32(at + 20, le),
            flags: v.getUint32(at + 24, le),
          };
    loads.push(segment);
  }
  return { type: h.type, bits: h.bits, littleEndian: le, loads, writable: loads.filter((s) => (s.flags & PF_W) !== 0) };
}

/**
 * The load bias of an image whose first mapping (file offset 0) starts at
 * `base`: 0 for {@link ET_EXEC}; for {@link ET_DYN}, `base` less the
 * page-aligned `p_vaddr` of the lowest `PT_LOAD` (which is 0 for ordinary
 * shared objects and PIEs, making the bias the base).
 *
 * @example
 * ```ts
 * loadBias(image, 0x7f0000000000); // 0x7f0000000000 for a shared object
 * ```
 */
export function loadBias(image: ElfImage, base: number, pageSize = 4096): number {
  if (image.type === ET_EXEC) return 0;
  let lowest = Infinity;
  for (const s of image.loads) lowest = Math.min(lowest, s.vaddr);
  if (lowest === Infinity) return base;
  return base - (lowest - (lowest % pageSize));
}

/**
 * The address ranges, `[start, end)`, of an image's writable segments once
 * loaded with its first mapping at `base`: `load_bias + p_vaddr` to
 * `load_bias + p_vaddr + p_memsz`, `.bss` included.
 *
 * @example
 * ```ts
 * writableRanges(image, libcBase); // e.g. [{ start: libcBase + 0x1cf8d0, end: libcBase + 0x1e1f50 }]
 * ```
 */
export function writableRanges(image: ElfImage, base: number, pageSize = 4096): { start: number; end: number }[] {
  const bias = loadBias(image, base, pageSize);
  return image.writable.filter((s) => s.memsz > 0).map((s) => ({ start: bias + s.vaddr, end: bias + s.vaddr + s.memsz }));
}

/**
 * The pointer size of a target: 8 bytes for a 64-bit program, 4 for an i386
 * Linux program or a 32-bit Windows program under Wine (WoW64), told by its
 * main image: the PE machine type of the `.exe` a Wine process maps, else the
 * ELF class of `/proc/PID/exe`.
 *
 * @module
 */
import { closeSync, openSync, readSync } from "node:fs";
import { isPeName, modules, type Region } from "../maps.ts";

/** `IMAGE_FILE_MACHINE_I386`. */
const MACHINE_I386 = 0x014c;
/** 64-bit PE machines: AMD64, ARM64, IA64, ARM64EC. */
const MACHINE_64 = new Set([0x8664, 0xaa64, 0x0200, 0xa641]);
/** 32-bit PE machines besides i386: ARM Thumb-2, ARM. */
const MACHINE_32 = new Set([MACHINE_I386, 0x01c4, 0x01c0]);

/**
 * The pointer size an ELF image's header says (its class: `ELFCLASS32` 4,
 * `ELFCLASS64` 8), or `null` when `bytes` do not start with an ELF header.
 *
 * @example
 * ```ts
 * elfPointerSize(readFileSync("/proc/self/exe").subarray(0, 16)); // 8
 * ```
 */
export function elfPointerSize(bytes: Uint8Array): 4 | 8 | null {
  if (bytes.length < 5 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return null;
  return bytes[4] === 1 ? 4 : bytes[4] === 2 ? 8 : null;
}

/**
 * The pointer size a PE image's header says (its COFF machine type: i386 and
 * ARM 4; AMD64 and ARM64 8), or `null` when `bytes` (the file's first bytes,
 * through the `PE\0\0` signature and machine field) are not a PE image.
 *
 * @example
 * ```ts
 * pePointerSize(firstKilobytesOf("Game.exe")); // 4 for a 32-bit game
 * ```
 */
export function pePointerSize(bytes: Uint8Array): 4 | 8 | null {
  if (bytes.length < 0x40 || bytes[0] !== 0x4d || bytes[1] !== 0x5a) return null; // "MZ"
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pe = v.getUint32(0x3c, true);
  if (pe + 6 > bytes.length) return null;
  if (v.getUint32(pe, true) !== 0x00004550) return null; // "PE\0\0"
  const machine = v.getUint16(pe + 4, true);
  if (MACHINE_64.has(machine)) return 8;
  if (MACHINE_32.has(machine)) return 4;
  return null;
}

function head(path: string, length: number): Uint8Array | null {
  let fd = -1;
  try {
    fd = openSync(path, "r");
    const buf = new Uint8Array(length);
    const n = readSync(fd, buf, 0, length, 0);
    return buf.subarray(0, n);
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * The pointer size of process `pid`, from its main image: when a Windows
 * executable (`*.exe`, a PE image) is mapped, as in a Wine or Proton process,
 * its machine type; otherwise the ELF class of `/proc/PID/exe`. `null` when
 * neither can be read (the process is gone, or not ours to look at).
 *
 * @example
 * ```ts
 * detectPointerSize(pid, proc.maps()); // 4 for a 32-bit game
 * ```
 */
export function detectPointerSize(pid: number, regions: readonly Region[] | null): 4 | 8 | null {
  if (regions) {
    for (const m of modules(regions)) {
      if (!isPeName(m.name) || !/\.exe$/i.test(m.name)) continue;
      const bytes = head(m.path, 4096) ?? head(`/proc/${pid}/map_files/${m.base.toString(16)}-${m.regions[0]!.end.toString(16)}`, 4096);
      const size = bytes && pePointerSize(bytes);
      if (size) return size;
    }
  }
  const bytes = head(`/proc/${pid}/exe`, 64);
  return bytes ? elfPointerSize(bytes) : null;
}


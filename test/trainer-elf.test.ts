import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { Process } from "../src/process.ts";
import { elfHeadersLength, ET_DYN, ET_EXEC, loadBias, parseElf, PF_W, PT_LOAD, writableRanges } from "../src/trainer/elf.ts";

const PF_R = 4;
const PF_X = 1;
const PT_PHDR = 6;
const PT_DYNAMIC = 2;
const PT_GNU_RELRO = 0x6474e552;

interface Ph {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

/** An ELF header and program headers, built by hand. */
function elf(type: number, phdrs: Ph[], options: { bits?: 32 | 64; le?: boolean; phoff?: number; phentsize?: number } = {}): Uint8Array {
  const bits = options.bits ?? 64;
  const le = options.le ?? true;
  const ehsize = bits === 64 ? 64 : 52;
  const phoff = options.phoff ?? ehsize;
  const phentsize = options.phentsize ?? (bits === 64 ? 56 : 32);
  const bytes = new Uint8Array(phoff + phdrs.length * phentsize);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, le ? 1 : 2, 1]);
  v.setUint16(16, type, le);
  v.setUint16(18, bits === 64 ? 62 : 3, le); // x86-64, i386
  v.setUint32(20, 1, le);
  if (bits === 64) {
    v.setBigUint64(32, BigInt(phoff), le);
    v.setUint16(52, ehsize, le);
    v.setUint16(54, phentsize, le);
    v.setUint16(56, phdrs.length, le);
  } else {
    v.setUint32(28, phoff, le);
    v.setUint16(40, ehsize, le);
    v.setUint16(42, phentsize, le);
    v.setUint16(44, phdrs.length, le);
  }
  phdrs.forEach((p, i) => {
    const at = phoff + i * phentsize;
    v.setUint32(at, p.type, le);
    if (bits === 64) {
      v.setUint32(at + 4, p.flags, le);
      v.setBigUint64(at + 8, BigInt(p.offset), le);
      v.setBigUint64(at + 16, BigInt(p.vaddr), le);
      v.setBigUint64(at + 24, BigInt(p.vaddr), le);
      v.setBigUint64(at + 32, BigInt(p.filesz), le);
      v.setBigUint64(at + 40, BigInt(p.memsz), le);
      v.setBigUint64(at + 48, 0x1000n, le);
    } else {
      v.setUint32(at + 4, p.offset, le);
      v.setUint32(at + 8, p.vaddr, le);
      v.setUint32(at + 12, p.vaddr, le);
      v.setUint32(at + 16, p.filesz, le);
      v.setUint32(at + 20, p.memsz, le);
      v.setUint32(at + 24, p.flags, le);
      v.setUint32(at + 28, 0x1000, le);
    }
  });
  return bytes;
}

/** A shared object's usual program headers, laid out from `vaddr0`. */
function sharedObject(vaddr0 = 0): Ph[] {
  return [
    { type: PT_PHDR, flags: PF_R, offset: 0x40, vaddr: vaddr0 + 0x40, filesz: 0x1c0, memsz: 0x1c0 },
    { type: PT_LOAD, flags: PF_R, offset: 0, vaddr: vaddr0, filesz: 0x800, memsz: 0x800 },
    { type: PT_LOAD, flags: PF_R | PF_X, offset: 0x1000, vaddr: vaddr0 + 0x1000, filesz: 0x3000, memsz: 0x3000 },
    { type: PT_LOAD, flags: PF_R | PF_W, offset: 0x4e10, vaddr: vaddr0 + 0x5e10, filesz: 0x230, memsz: 0x2300 },
    { type: PT_DYNAMIC, flags: PF_R | PF_W, offset: 0x4e20, vaddr: vaddr0 + 0x5e20, filesz: 0x1b0, memsz: 0x1b0 },
    { type: PT_GNU_RELRO, flags: PF_R, offset: 0x4e10, vaddr: vaddr0 + 0x5e10, filesz: 0x1f0, memsz: 0x1f0 },
  ];
}

test("a shared object: the writable PT_LOAD, at the base (RELRO, DYNAMIC and PHDR are not loads)", () => {
  const bytes = elf(ET_DYN, sharedObject());
  expect(elfHeadersLength(bytes)).toBe(0x40 + 6 * 56);
  const image = parseElf(bytes)!;
  expect(image.type).toBe(ET_DYN);
  expect(image.bits).toBe(64);
  expect(image.loads.length).toBe(3);
  expect(image.writable).toEqual([{ flags: PF_R | PF_W, offset: 0x4e10, vaddr: 0x5e10, filesz: 0x230, memsz: 0x2300 }]);
  const base = 0x7f12_3456_7000;
  expect(loadBias(image, base)).toBe(base);
  expect(writableRanges(image, base)).toEqual([{ start: base + 0x5e10, end: base + 0x5e10 + 0x2300 }]);
});

test("a fixed-address executable: no load bias", () => {
  const image = parseElf(elf(ET_EXEC, sharedObject(0x400000)))!;
  expect(image.type).toBe(ET_EXEC);
  expect(loadBias(image, 0x400000)).toBe(0);
  expect(writableRanges(image, 0x400000)).toEqual([{ start: 0x405e10, end: 0x405e10 + 0x2300 }]);
});

test("a shared object linked at a non-zero address: the bias is the base less that address", () => {
  const image = parseElf(elf(ET_DYN, sharedObject(0x10000)))!;
  const base = 0x7f00_0000_0000;
  expect(loadBias(image, base)).toBe(base - 0x10000);
  expect(writableRanges(image, base)).toEqual([{ start: base + 0x5e10, end: base + 0x5e10 + 0x2300 }]);
});

test("e_phoff and e_phentsize are honoured; several writable segments; empty ones skipped", () => {
  const phdrs: Ph[] = [
    { type: PT_LOAD, flags: PF_R | PF_W, offset: 0, vaddr: 0, filesz: 0x100, memsz: 0x100 },
    { type: PT_LOAD, flags: PF_R | PF_W, offset: 0x2000, vaddr: 0x3000, filesz: 0, memsz: 0 },
    { type: PT_LOAD, flags: PF_W, offset: 0x2000, vaddr: 0x4000, filesz: 0, memsz: 0x9000 },
  ];
  const bytes = elf(ET_DYN, phdrs, { phoff: 0x200, phentsize: 64 });
  expect(elfHeadersLength(bytes)).toBe(0x200 + 3 * 64);
  const image = parseElf(bytes)!;
  expect(image.writable.map((s) => s.vaddr)).toEqual([0, 0x3000, 0x4000]);
  expect(writableRanges(image, 0x10000)).toEqual([
    { start: 0x10000, end: 0x10100 },
    { start: 0x14000, end: 0x1d000 },
  ]);
});

test("32-bit and big-endian images", () => {
  const phdrs = sharedObject(0x8048000);
  const i386 = parseElf(elf(ET_EXEC, phdrs, { bits: 32 }))!;
  expect(i386.bits).toBe(32);
  expect(elfHeadersLength(elf(ET_EXEC, phdrs, { bits: 32 }))).toBe(52 + 6 * 32);
  expect(writableRanges(i386, 0x8048000)).toEqual([{ start: 0x804de10, end: 0x804de10 + 0x2300 }]);
  const be = parseElf(elf(ET_DYN, sharedObject(), { le: false }))!;
  expect(be.littleEndian).toBe(false);
  expect(be.writable).toEqual(parseElf(elf(ET_DYN, sharedObject()))!.writable);
});

test("not ELF: null; program headers beyond the bytes: RangeError", () => {
  expect(parseElf(new Uint8Array(4096))).toBeNull();
  expect(elfHeadersLength(new Uint8Array(4096))).toBeNull();
  expect(parseElf(new TextEncoder().encode("#!/bin/sh\necho not an image, just text that is long enough to be a header\n"))).toBeNull();
  const bad = elf(ET_DYN, sharedObject());
  bad[4] = 3; // no such class
  expect(parseElf(bad)).toBeNull();
  const good = elf(ET_DYN, sharedObject());
  expect(parseElf(good.subarray(0, 40))).toBeNull(); // not even a whole header
  expect(() => parseElf(good.subarray(0, 0x40 + 56))).toThrow(RangeError);
  expect(elfHeadersLength(good.subarray(0, 0x40))).toBe(good.length);
  const small = elf(ET_DYN, sharedObject());
  new DataView(small.buffer).setUint16(54, 40, true); // e_phentsize too small for a 64-bit program header
  expect(() => parseElf(small)).toThrow("e_phentsize");
});

test("this process's libc, read from its own memory: the same as the file, and its .bss extends past the file", () => {
  const self = Process.self();
  const maps = self.maps();
  const first = maps.find((r) => r.kind === "file" && /\/libc\.so\.6$/.test(r.path) && r.offset === 0);
  if (!first) throw new Error("libc.so.6 is not mapped in this process");
  const head = self.read(first.start, 64);
  const need = elfHeadersLength(head)!;
  expect(need).toBeGreaterThan(64);
  const image = parseElf(self.read(first.start, need))!;
  expect(image.type).toBe(ET_DYN);
  expect(image.writable.length).toBeGreaterThanOrEqual(1);
  // the same program headers as the file on disk
  const file = new Uint8Array(readFileSync(first.path));
  expect(image).toEqual(parseElf(file)!);

  const ranges = writableRanges(image, first.start);
  const mine = maps.filter((r) => r.path === first.path);
  const last = mine.at(-1)!;
  const data = mine.find((r) => r.writable)!;
  // the writable file mapping lies within the writable segments (RELRO pages before it are read-only now)
  expect(ranges.some((g) => g.start < data.end && g.end > data.start)).toBe(true);
  // .bss beyond the file: the last range ends past the last file page, inside the anonymous mapping after it
  const end = Math.max(...ranges.map((g) => g.end));
  const bss = maps.find((r) => r.start === last.end);
  expect(end).toBeGreaterThan(last.end);
  expect(bss?.kind).toBe("anonymous");
  expect(end).toBeLessThanOrEqual(bss!.end);
});

/**
 * First value scans against a real target: planted values found exactly (none
 * missed, no false ones) at chunk boundaries, unaligned, in several regions;
 * every type; floats and their tolerance; the "int" mode; strings and bytes;
 * the memory selection.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Process } from "../src/process.ts";
import { scan } from "../src/scan/index.ts";
import { setValue, VALUE_SIZE, type ValueType } from "../src/types.ts";
import { Target } from "./helpers/target.ts";

const MiB = 1 << 20;
let t: Target;
let proc: Process;

beforeAll(async () => {
  t = await Target.start();
  proc = new Process(t.pid);
});
afterAll(() => t.kill());

function encode(type: ValueType, value: number | bigint): Uint8Array {
  const b = new Uint8Array(VALUE_SIZE[type]);
  setValue(new DataView(b.buffer), 0, type, value);
  return b;
}

const MAGIC: Record<ValueType, number | bigint> = {
  i8: -77, u8: 0xa7, i16: -12345, u16: 0xbeef, i32: -123456789, u32: 0xdeadbeef,
  i64: -1234567890123456789n, u64: 0xfedcba9876543210n, f32: 1234.5677490234375, f64: -98765.4321,
};

describe("planted values are found exactly", () => {
  let a: number;
  let b: number;
  const SIZE_A = 3 * MiB;
  const SIZE_B = 64 * 1024;
  beforeAll(async () => {
    a = await t.map(SIZE_A);
    b = await t.map(SIZE_B);
  });

  for (const type of Object.keys(MAGIC) as ValueType[]) {
    test(`${type}: aligned and unaligned, across 1 MiB chunk boundaries, in two regions`, async () => {
      const size = VALUE_SIZE[type];
      const bytes = encode(type, MAGIC[type]);
      await t.cmd(`fill ${a.toString(16)} ${SIZE_A.toString(16)} 0`);
      await t.cmd(`fill ${b.toString(16)} ${SIZE_B.toString(16)} 0`);
      // Aligned: region starts and ends, on both sides of each chunk boundary.
      const aligned = [a, a + 64, a + MiB - size, a + MiB, a + SIZE_A - size, b, b + SIZE_B - size];
      // Unaligned (only found with align: 1); one straddles the second chunk boundary when the type is wider than a byte.
      const unaligned = size === 1 ? [] : [a + 1001, a + 2 * MiB - 1, a + 2 * MiB + 13, b + 77];
      for (const at of [...aligned, ...unaligned]) await t.write(at, bytes);
      const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
      for (const threads of [0, 2]) {
        const inA = await scan(proc, type, MAGIC[type], { within: [a, a + SIZE_A], threads });
        expect(Array.from(inA.addresses())).toEqual(sorted(aligned.filter((x) => x < a + SIZE_A && x >= a)));
        const both = await scan(proc, type, MAGIC[type], { filter: (r) => r.start <= a && r.end >= a + SIZE_A || r.start <= b && r.end >= b + SIZE_B, within: undefined, threads });
        const region = (x: number) => (x >= a && x < a + SIZE_A) || (x >= b && x < b + SIZE_B);
        expect(Array.from(both.addresses()).filter(region)).toEqual(sorted(aligned));
        const every = await scan(proc, type, MAGIC[type], { within: [Math.min(a, b), Math.max(a + SIZE_A, b + SIZE_B)], align: 1, threads });
        expect(Array.from(every.addresses()).filter(region)).toEqual(sorted([...aligned, ...unaligned]));
        expect(every.skipped).toBeGreaterThanOrEqual(0);
      }
      // Values read back as the type.
      const s = await scan(proc, type, MAGIC[type], { within: [b, b + SIZE_B] });
      const matches = [...s];
      expect(matches.map((m) => m.value)).toEqual([MAGIC[type], MAGIC[type]]);
      expect(matches.every((m) => m.previous === undefined && m.type === type)).toBe(true);
    });
  }

  test("the default memory selection finds planted values", async () => {
    const value = 0x5ca1ab1e;
    await t.write(a + 4096, encode("u32", value));
    await t.write(b + 128, encode("u32", value));
    const s = await scan(proc, "u32", value);
    const found = Array.from(s.addresses());
    expect(found).toContain(a + 4096);
    expect(found).toContain(b + 128);
  });

  test("a value scan reads the same matches as a text query", async () => {
    await t.write(b + 256, encode("i32", -5));
    const s = await scan(proc, "i32", "-5", { within: [b, b + SIZE_B] });
    expect(Array.from(s.addresses())).toEqual([b + 256]);
    const r = await scan(proc, "i32", "-6..-4", { within: [b, b + SIZE_B] });
    expect(Array.from(r.addresses())).toEqual([b + 256]);
  });
});

describe("floats", () => {
  let r: number;
  beforeAll(async () => {
    r = await t.map(4096);
  });

  test("f32 equality rounds the query to f32; a tolerance widens it", async () => {
    await t.write(r, encode("f32", 0.1));
    await t.write(r + 4, encode("f32", 0.1 + 1e-6));
    await t.write(r + 8, encode("f32", 100.25));
    const within: [number, number] = [r, r + 4096];
    expect(Array.from((await scan(proc, "f32", 0.1, { within })).addresses())).toEqual([r]);
    expect(Array.from((await scan(proc, "f32", 0.1, { within, tolerance: 1e-5 })).addresses())).toEqual([r, r + 4]);
    expect(Array.from((await scan(proc, "f32", { eq: 0.1, tolerance: 1e-5 }, { within })).addresses())).toEqual([r, r + 4]);
    // Text: half a unit of the last digit typed.
    expect(Array.from((await scan(proc, "f32", "100.1", { within })).addresses())).toEqual([]);
    expect(Array.from((await scan(proc, "f32", "100.3", { within })).addresses())).toEqual([r + 8]);
    expect(Array.from((await scan(proc, "f32", "100.25", { within })).addresses())).toEqual([r + 8]);
    expect(Array.from((await scan(proc, "f32", "100", { within })).addresses())).toEqual([r + 8]); // ±0.5
    expect(Array.from((await scan(proc, "f32", "99", { within })).addresses())).toEqual([]);
    expect(Array.from((await scan(proc, "f32", { min: 100, max: 101 }, { within })).addresses())).toEqual([r + 8]);
  });

  test("f64 exact and zero (both signs)", async () => {
    await t.cmd(`fill ${r.toString(16)} 1000 1`);
    await t.write(r + 16, encode("f64", Math.PI));
    await t.write(r + 24, encode("f64", -0));
    await t.write(r + 32, encode("f64", 0));
    const within: [number, number] = [r, r + 4096];
    expect(Array.from((await scan(proc, "f64", Math.PI, { within })).addresses())).toEqual([r + 16]);
    expect(Array.from((await scan(proc, "f64", 0, { within })).addresses())).toEqual([r + 24, r + 32]);
    expect(Array.from((await scan(proc, "f64", NaN, { within })).addresses())).toEqual([]);
  });
});

describe("int mode, strings and bytes", () => {
  let r: number;
  beforeAll(async () => {
    r = await t.map(8192);
  });

  test('"int" finds a value at every width that holds it, each address once', async () => {
    await t.cmd(`fill ${r.toString(16)} 2000 0`);
    await t.write(r + 16, encode("u8", 200)); // as u8, u16, u32, u64 (zeros above)
    await t.write(r + 40, encode("i32", 200)); // same
    await t.write(r + 67, encode("u8", 200)); // only as u8 (odd address)
    await t.cmd(`fill ${r.toString(16)} ${(8).toString(16)} ff`);
    const s = await scan(proc, "int", 200, { within: [r, r + 8192] });
    // 200 fits u8 but not i8, and both readings of the wider widths (same bits there).
    const readings = [...s].map((m) => [m.address - r, m.type, m.readings!.map((x) => x.type)]);
    expect(readings).toEqual([
      [16, "u64", ["u8", "i16", "u16", "i32", "u32", "i64", "u64"]],
      [40, "u64", ["u8", "i16", "u16", "i32", "u32", "i64", "u64"]],
      [67, "u8", ["u8"]],
    ]);
    expect(s.count).toBe(3);
    expect(Array.from(s.addresses())).toEqual([r + 16, r + 40, r + 67]);
    const neg = await scan(proc, "int", -1, { within: [r, r + 8192] });
    expect([...neg].map((m) => [m.address - r, m.type])).toEqual([
      [0, "i64"], [1, "i8"], [2, "i16"], [3, "i8"], [4, "i32"], [5, "i8"], [6, "i16"], [7, "i8"],
    ]);
    expect(neg.count).toBe(8);
  });

  test("UTF-8 and UTF-16LE strings", async () => {
    await t.cmd(`fill ${r.toString(16)} 2000 0`);
    await t.write(r + 100, new TextEncoder().encode("héllo wörld"));
    await t.write(r + 301, new Uint8Array(Buffer.from("héllo wörld", "utf16le")));
    const within: [number, number] = [r, r + 8192];
    const u8 = await scan(proc, "string", "héllo wörld", { within });
    expect(Array.from(u8.addresses())).toEqual([r + 100]);
    expect([...u8][0]!.value).toBe("héllo wörld");
    const u16 = await scan(proc, "string", "héllo wörld", { within, encoding: "utf16le" });
    expect(Array.from(u16.addresses())).toEqual([r + 301]);
    expect([...u16][0]!.value).toBe("héllo wörld");
  });

  test("bytes with wildcards", async () => {
    await t.write(r + 500, new Uint8Array([0xde, 0xad, 0x12, 0xef, 0x42]));
    await t.write(r + 600, new Uint8Array([0xde, 0xad, 0x99, 0xef, 0x43]));
    const within: [number, number] = [r, r + 8192];
    const s = await scan(proc, "bytes", "de ad ?? ef 4?", { within });
    expect(Array.from(s.addresses())).toEqual([r + 500, r + 600]);
    expect([...s].map((m) => Array.from(m.value as Uint8Array))).toEqual([[0xde, 0xad, 0x12, 0xef, 0x42], [0xde, 0xad, 0x99, 0xef, 0x43]]);
    const exact = await scan(proc, "bytes", new Uint8Array([0xde, 0xad, 0x99]), { within });
    expect(Array.from(exact.addresses())).toEqual([r + 600]);
  });
});

describe("memory selection", () => {
  test("kinds, permissions, module and within", async () => {
    const ro = t.info.ro;
    // "read-only!" lives in a read-only page: not scanned by default, found with permissions "r???".
    const text = "read-only!";
    expect(Array.from((await scan(proc, "string", text, { within: [ro, ro + 4096] })).addresses())).toEqual([]);
    expect(Array.from((await scan(proc, "string", text, { within: [ro, ro + 4096], permissions: "r???" })).addresses())).toEqual([ro]);
    expect(Array.from((await scan(proc, "string", text, { within: [ro, ro + 4096], permissions: "r--p" })).addresses())).toEqual([ro]);
    expect(Array.from((await scan(proc, "string", text, { within: [ro, ro + 4096], permissions: "r", kinds: ["heap"] })).addresses())).toEqual([]);
    // A module: the ELF magic at the base of libc.
    const libc = proc.modules().find((m) => m.name.startsWith("libc.so"))!;
    const elf = await scan(proc, "bytes", "7f 45 4c 46", { module: libc.name });
    expect(Array.from(elf.addresses())).toContain(libc.base);
    expect(Array.from(elf.addresses()).every((x) => x >= libc.base && x < libc.end)).toBe(true);
    // Never vvar / vsyscall.
    const maps = proc.maps();
    const special = maps.filter((m) => m.kind === "vvar" || m.kind === "vsyscall");
    const all = await scan(proc, "u8", 0, { permissions: "r???", kinds: ["vvar", "vsyscall", "vdso"] });
    for (const address of all.addresses(0, 100000)) expect(special.some((m) => address >= m.start && address < m.end)).toBe(false);
  });

  test("errors: unknown type, bad align, relative first query, value outside the type", async () => {
    await expect(scan(proc, "i33" as "i32", 1)).rejects.toThrow(TypeError);
    await expect(scan(proc, "i32", 1, { align: 0 })).rejects.toThrow(RangeError);
    await expect(scan(proc, "i32", "increased")).rejects.toThrow(TypeError);
    await expect(scan(proc, "u8", 300)).rejects.toThrow(RangeError);
  });
});

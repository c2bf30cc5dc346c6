/**
 * Byte patterns: the compiler (syntax, errors with positions) and
 * `findPattern` against a real target (every match, overlapping ones, matches
 * across chunk boundaries found once, code and module selection).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Process } from "../src/process.ts";
import { compilePattern, findPattern, PatternSyntaxError } from "../src/scan/index.ts";
import { Target } from "./helpers/target.ts";

describe("compilePattern", () => {
  test("bytes, wildcards, nibbles, masks", () => {
    const p = compilePattern("48 8b ?? 4? ?c ? : ff ff 00 ff ff 00");
    expect(p.length).toBe(6);
    expect(Array.from(p.mask)).toEqual([0xff, 0xff, 0, 0xf0, 0x0f, 0]);
    expect(Array.from(p.bytes)).toEqual([0x48, 0x8b, 0, 0x40, 0x0c, 0]);
    expect([p.anchorOffset, p.anchorLength]).toEqual([0, 2]);
    const frida = compilePattern("13 37 13 37 : 1f ff ff f1");
    expect(Array.from(frida.mask)).toEqual([0x1f, 0xff, 0xff, 0xf1]);
    expect(Array.from(frida.bytes)).toEqual([0x13, 0x37, 0x13, 0x31]);
    expect([frida.anchorOffset, frida.anchorLength]).toEqual([1, 2]);
    expect(compilePattern("  DE   ad  ").length).toBe(2);
    expect(compilePattern("?? ??").anchorLength).toBe(0);
  });

  const bad: [string, number][] = [
    ["48 zz", 3],
    ["48 8", 3],
    ["488b", 2],
    ["", 0],
    ["   ", 3],
    ["48 8b : ff", 10],
    ["48 8b : ff ff ff", 14],
    ["48 8b : ff fg", 12],
    ["48 ??? 8b", 5],
    [": ff", 0],
  ];
  for (const [text, position] of bad) {
    test(`"${text}" is an error at ${position}`, () => {
      let error: unknown;
      try {
        compilePattern(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PatternSyntaxError);
      expect(error).toBeInstanceOf(SyntaxError);
      expect((error as PatternSyntaxError).name).toBe("PatternSyntaxError");
      expect((error as PatternSyntaxError).position).toBe(position);
      expect((error as PatternSyntaxError).pattern).toBe(text);
      expect((error as Error).message).toContain(`position ${position}`);
    });
  }
});

describe("findPattern", () => {
  let t: Target;
  let proc: Process;
  let r: number;
  const SIZE = 3 << 20;
  const MiB = 1 << 20;
  beforeAll(async () => {
    t = await Target.start();
    proc = new Process(t.pid);
    r = await t.map(SIZE);
  });
  afterAll(() => t.kill());

  test("long patterns (longer than the chunk overlap allowance) across a chunk boundary", async () => {
    const within: [number, number] = [r, r + SIZE];
    for (const len of [200, 5000]) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 37 + len) & 0xff);
      const at = r + MiB - Math.floor(len / 2);
      await t.write(at, bytes);
      const text = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
      for (const threads of [0, 2]) expect(await findPattern(proc, text, { within, threads })).toEqual([at]);
      await t.write(at, new Uint8Array(len));
    }
  });

  test("every match, overlapping ones, and matches straddling chunk boundaries once", async () => {
    const within: [number, number] = [r, r + SIZE];
    await t.write(r + 10, new Uint8Array([0xaa, 0xaa, 0xaa, 0xaa])); // "aa aa" at 10, 11, 12
    await t.write(r + MiB - 3, new Uint8Array([0xc0, 0xff, 0xee, 0x01, 0x02, 0x03])); // straddles the first boundary
    await t.write(r + 2 * MiB - 6, new Uint8Array([0xc0, 0xff, 0xee, 0x01, 0x02, 0x03])); // ends at the second
    await t.write(r + 2 * MiB, new Uint8Array([0xc0, 0xff, 0xee, 0x01, 0x02, 0x03])); // starts at it
    await t.write(r + SIZE - 6, new Uint8Array([0xc0, 0xff, 0xee, 0x01, 0x02, 0x03])); // ends the region
    for (const threads of [0, 2]) {
      expect((await findPattern(proc, "aa aa", { within, threads })).map((a) => a - r)).toEqual([10, 11, 12]);
      const coffee = [MiB - 3, 2 * MiB - 6, 2 * MiB, SIZE - 6];
      expect((await findPattern(proc, "c0 ff ee 01 02 03", { within, threads })).map((a) => a - r)).toEqual(coffee);
      expect((await findPattern(proc, "c0 ?? ee ?1 0? 03", { within, threads })).map((a) => a - r)).toEqual(coffee);
      expect((await findPattern(proc, "?? ff ee 01 ?? 03", { within, threads })).map((a) => a - r)).toEqual(coffee);
      expect((await findPattern(proc, "c0 ff ee 01 02 03 : ff ff ff ff ff 00", { within, threads })).map((a) => a - r)).toEqual(coffee);
      expect((await findPattern(proc, "c0 ff ee 01 02 03", { within, threads, align: 2 })).map((a) => a - r)).toEqual([2 * MiB - 6, 2 * MiB, SIZE - 6]);
      expect(await findPattern(proc, "c0 ff ee 01 02 04", { within, threads })).toEqual([]);
    }
    // Patterns with no exact byte.
    await t.write(r + 4096, new Uint8Array([0x12, 0x34]));
    expect((await findPattern(proc, "1? ?4", { within: [r + 4000, r + 5000] })).map((a) => a - r)).toEqual([4096]);
  });

  test("code of a module and executable code", async () => {
    const libc = proc.modules().find((m) => m.name.startsWith("libc.so"))!;
    // The ELF header is in the first, read-only mapping of libc: not code.
    const elf = "7f 45 4c 46 02 01 01";
    expect(await findPattern(proc, elf, { module: libc.name })).toContain(libc.base);
    expect(await findPattern(proc, elf, { code: true, module: libc.name })).not.toContain(libc.base);
    // "ret; nop" in the code of libc, against a search of its executable mappings read whole.
    const code = await findPattern(proc, "c3 90", { code: true, module: libc.name });
    const want: number[] = [];
    for (const x of libc.regions.filter((x) => x.executable)) {
      const bytes = Buffer.from(proc.read(x.start, x.size));
      for (let i = bytes.indexOf(Buffer.from([0xc3, 0x90])); i >= 0; i = bytes.indexOf(Buffer.from([0xc3, 0x90]), i + 1)) want.push(x.start + i);
    }
    expect(want.length).toBeGreaterThan(0);
    expect(code).toEqual(want);
    // Nothing from an unknown module.
    expect(await findPattern(proc, "f3 0f 1e fa", { module: "no-such-module.so" })).toEqual([]);
  });

  test("an invalid pattern rejects with PatternSyntaxError", async () => {
    await expect(findPattern(proc, "48 8b 0")).rejects.toBeInstanceOf(PatternSyntaxError);
  });
});

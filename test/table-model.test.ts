/**
 * The table model and its JSON format; the Auto Assembler subset's parser;
 * Windows module names; pointer sizes from image headers.
 */
import { describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  addEntry,
  AutoAssemblerError,
  cePatternToPattern,
  createTable,
  elfPointerSize,
  encodeEntryValue,
  findEntry,
  findModule,
  flattenEntries,
  formatEntryValue,
  formatTable,
  loadTable,
  parseAutoAssembler,
  parseMaps,
  parseTable,
  pePointerSize,
  removeEntry,
  saveTable,
  TableError,
  updateEntry,
  type Table,
  type ValueEntry,
} from "../src/index.ts";

const TABLE: Table = {
  format: "process-vm-table",
  version: 1,
  pointerSize: 4,
  entries: [
    {
      kind: "group",
      id: 1,
      description: "Player",
      children: [
        { kind: "value", id: 2, description: "Health", address: "game.exe+0x1a2b0 -> 0x10 -> 0x8", type: "i32", freeze: { active: true, value: "999", allowIncrease: true } },
        { kind: "value", id: 3, description: "Name", address: "0x1000", type: "string", length: 32, encoding: "utf-16le" },
      ],
    },
    { kind: "script", id: 4, description: "Ammo", script: "[ENABLE]\n[DISABLE]\n", enabled: false },
    { kind: "unsupported", id: 5, description: "Lua", reason: "Lua is not supported", original: { VariableType: "Custom" } },
    { kind: "value", id: 6, description: "Bits", address: "0x2000", type: "bits", bit: 3, bitLength: 2, hex: true },
  ],
};

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("no error thrown");
}

describe("the table format", () => {
  test("a table round-trips through its JSON text", () => {
    const text = formatTable(TABLE);
    expect(JSON.parse(text).format).toBe("process-vm-table");
    expect(parseTable(text)).toEqual(TABLE);
  });

  test("errors name the entry and the field", () => {
    const bad = (change: (t: Table & Record<string, unknown>) => void): Error => {
      const t = structuredClone(TABLE) as Table & Record<string, unknown>;
      change(t);
      return errorOf(() => parseTable(JSON.stringify(t)));
    };
    const e1 = bad((t) => ((t.entries[0]!.children![0] as ValueEntry).type = "i33" as never));
    expect(e1).toBeInstanceOf(TableError);
    expect(e1.message).toBe('entry 2 "Health" (entries[0].children[0]): unknown type "i33" (i8 u8 i16 u16 i32 u32 i64 u64 f32 f64 string bytes bits)');
    expect((e1 as TableError).path).toBe("entries[0].children[0].type");
    expect(bad((t) => delete (t.entries[0]!.children![1] as ValueEntry).length).message).toBe('entry 3 "Name" (entries[0].children[1]): a string entry needs "length"');
    expect(bad((t) => ((t.entries[0]!.children![0] as ValueEntry).address = "game.exe+0x10 -> zz")).message).toBe('entry 2 "Health" (entries[0].children[0]): invalid offset "zz" in pointer chain "game.exe+0x10 -> zz" (write hex numbers with 0x)');
    expect(bad((t) => (t.entries[3]!.id = 2)).message).toBe('entry 2 "Bits" (entries[3]): id 2 is already used by entries[0].children[0]');
    expect(bad((t) => ((t.entries[0]!.children![0] as ValueEntry).freeze = { active: true, allowIncrease: true, allowDecrease: true })).message).toContain('"allowIncrease" and "allowDecrease" cannot both be set');
    expect(bad((t) => (t.version = 2 as never)).message).toBe("table version 2 is not supported (written by a newer process-vm): this library reads version 1");
    expect(bad((t) => (t.format = "x" as never)).message).toContain('"format" must be "process-vm-table"');
    expect(errorOf(() => parseTable("{ nope")).message).toStartWith("not a JSON table file:");
  });

  test("edit: add (fresh ids), update (validated, undone on error), remove; flatten in display order", () => {
    const t = createTable();
    const group = addEntry(t, { kind: "group", id: 0, description: "G" });
    const hp = addEntry(t, { kind: "value", id: 0, description: "HP", address: "0x10", type: "u16" }, group.id);
    expect(hp.id).toBe(1);
    expect(findEntry(t, 1)).toBe(hp);
    updateEntry(t, 1, { hex: true, description: "Health" });
    expect(findEntry(t, 1)).toMatchObject({ hex: true, description: "Health" });
    expect(() => updateEntry(t, 1, { type: "string" })).toThrow('a string entry needs "length"');
    expect(findEntry(t, 1)).toMatchObject({ type: "u16" });
    expect(() => addEntry(t, { kind: "value", id: 9, description: "x", address: "", type: "u8" })).toThrow('"address" must be a non-empty string');
    expect(flattenEntries(t).map((f) => [f.entry.description, f.depth])).toEqual([["G", 0], ["Health", 1]]);
    expect(removeEntry(t, 1)).toBe(hp);
    expect(t.entries[0]!.children).toBeUndefined();
    expect(removeEntry(t, 1)).toBeNull();
  });

  test("loadTable / saveTable read and write files; loadTable also reads .CT", () => {
    const dir = mkdtempSync(join(tmpdir(), "pvm-table-model-"));
    try {
      const path = join(dir, "t.json");
      saveTable(path, TABLE);
      expect(loadTable(path)).toEqual(TABLE);
      writeFileSync(join(dir, "t.CT"), readFileSync(new URL("./fixtures/tables/every-kind.CT", import.meta.url)));
      expect(flattenEntries(loadTable(join(dir, "t.CT"))).length).toBe(24);
      writeFileSync(join(dir, "bad.json"), '{"format":"process-vm-table","version":1,"entries":[{"kind":"group"}]}');
      expect(errorOf(() => loadTable(join(dir, "bad.json"))).message).toBe(`${join(dir, "bad.json")}: entry (entries[0]): "id" must be a non-negative integer (got undefined)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("values as text", () => {
  const entry = (e: Partial<ValueEntry>): ValueEntry => ({ kind: "value", id: 1, description: "v", address: "0x1000", type: "i32", ...e }) as ValueEntry;
  test("integers: either sign in, the type's or the entry's sign out; hex without prefix", () => {
    expect(Array.from(encodeEntryValue(entry({ type: "u32" }), "-1"))).toEqual([255, 255, 255, 255]);
    expect(formatEntryValue(entry({ type: "u32" }), new Uint8Array([255, 255, 255, 255]))).toBe("4294967295");
    expect(formatEntryValue(entry({ type: "u32", signed: true }), new Uint8Array([255, 255, 255, 255]))).toBe("-1");
    expect(formatEntryValue(entry({ type: "i16", hex: true }), new Uint8Array([0xe7, 0x03]))).toBe("03E7");
    expect(Array.from(encodeEntryValue(entry({ type: "i16", hex: true }), "3E7"))).toEqual([0xe7, 0x03]);
    expect(() => encodeEntryValue(entry({ type: "u8" }), "256")).toThrow('entry 1 "v" (u8): 256 does not fit 1 bytes');
    expect(() => encodeEntryValue(entry({ type: "i32" }), "12ab")).toThrow("is not an integer (write hex with 0x)");
    expect(formatEntryValue(entry({ type: "u64" }), new Uint8Array(8).fill(255))).toBe("18446744073709551615");
  });
  test("big-endian numbers", () => {
    const be = entry({ type: "u32", endian: "big" });
    expect(Array.from(encodeEntryValue(be, "0x12345678"))).toEqual([0x12, 0x34, 0x56, 0x78]);
    expect(formatEntryValue(be, new Uint8Array([0, 0, 1, 0]))).toBe("256");
    expect(formatEntryValue({ ...be, type: "f32" }, new Uint8Array([0x3f, 0xc0, 0, 0]))).toBe("1.5");
    expect(formatEntryValue({ ...be, hex: true }, new Uint8Array([0, 0, 1, 0]))).toBe("00000100");
  });
  test("floats, strings, bytes and bit fields", () => {
    expect(formatEntryValue(entry({ type: "f32" }), encodeEntryValue(entry({ type: "f32" }), "1.5"))).toBe("1.5");
    expect(formatEntryValue(entry({ type: "f64", hex: true }), encodeEntryValue(entry({ type: "f64" }), "1"))).toBe("3FF0000000000000");
    const s = entry({ type: "string", length: 4, encoding: "utf-16le" });
    expect(Array.from(encodeEntryValue(s, "ab"))).toEqual([97, 0, 98, 0, 0, 0, 0, 0]);
    expect(formatEntryValue(s, new Uint8Array([97, 0, 98, 0, 0, 0, 99, 0]))).toBe("ab");
    expect(() => encodeEntryValue(entry({ type: "string", length: 2 }), "abc")).toThrow("longer than 2 characters");
    const b = entry({ type: "bytes", length: 3, hex: true });
    expect(Array.from(encodeEntryValue(b, "aa ?? 1", new Uint8Array([1, 2, 3])))).toEqual([0xaa, 2, 1]);
    const bits = entry({ type: "bits", bit: 6, bitLength: 4 });
    expect(formatEntryValue(bits, new Uint8Array([0b1100_0000, 0b0000_0011]))).toBe("15");
    expect(Array.from(encodeEntryValue(bits, "5", new Uint8Array([0xff, 0xff])))).toEqual([0b0111_1111, 0b1111_1101]);
    expect(() => encodeEntryValue(bits, "16", new Uint8Array(2))).toThrow("does not fit 4 bits");
  });
});

describe("the Auto Assembler subset", () => {
  test("aobscanmodule, labels, symbols, positions, db and nop", () => {
    const s = parseAutoAssembler(
      [
        "// shared",
        "[ENABLE]",
        "aobscanmodule(INJECT, \"Game.exe\", 29 47 08 8B 47 * 85 C0) { a comment }",
        "aobscan(Any, 8B0D????????)",
        "label(back)",
        "registersymbol(INJECT)",
        "INJECT+2:",
        "  nop 3",
        "back:",
        "  db 90 eb",
        '"game.exe"+1A2B:',
        "  nop",
        "7FF60000:",
        "  DB 01",
        "/* block",
        "comment */",
        "[DISABLE]",
        "INJECT+2:",
        "  db 29 47 08",
        "unregistersymbol(INJECT)",
      ].join("\n"),
    );
    expect(s.enable).toEqual([
      { op: "aobscan", line: 3, name: "INJECT", module: "Game.exe", pattern: "29 47 08 8B 47 ?? 85 C0" },
      { op: "aobscan", line: 4, name: "Any", module: null, pattern: "8B 0D ?? ?? ?? ??" },
      { op: "label", line: 5, names: ["back"] },
      { op: "registersymbol", line: 6, names: ["INJECT"] },
      { op: "at", line: 7, symbol: "INJECT", offset: 2 },
      { op: "bytes", line: 8, bytes: [0x90, 0x90, 0x90] },
      { op: "at", line: 9, symbol: "back", offset: 0 },
      { op: "bytes", line: 10, bytes: [0x90, 0xeb] },
      { op: "at", line: 11, module: "game.exe", offset: 0x1a2b },
      { op: "bytes", line: 12, bytes: [0x90] },
      { op: "at", line: 13, address: 0x7ff60000, offset: 0 },
      { op: "bytes", line: 14, bytes: [1] },
    ]);
    expect(s.disable).toEqual([
      { op: "at", line: 18, symbol: "INJECT", offset: 2 },
      { op: "bytes", line: 19, bytes: [0x29, 0x47, 0x08] },
      { op: "unregistersymbol", line: 20, names: ["INJECT"] },
    ]);
  });

  test("anything else is refused, quoting the first line outside the subset", () => {
    const refused = (script: string): AutoAssemblerError => errorOf(() => parseAutoAssembler(script)) as AutoAssemblerError;
    const alloc = refused("[ENABLE]\naobscanmodule(a,g.exe,90)\nalloc(newmem,$1000,a)\n[DISABLE]\n");
    expect(alloc).toBeInstanceOf(AutoAssemblerError);
    expect(alloc.line).toBe(3);
    expect(alloc.text).toBe("alloc(newmem,$1000,a)");
    expect(refused("[ENABLE]\na:\n  jmp newmem\n[DISABLE]").message).toBe('line 3 "jmp newmem": "jmp" is not supported (only db and nop are, with aobscanmodule, aobscan, label, registersymbol and unregistersymbol)');
    expect(refused("{$lua}\n[ENABLE]\n[DISABLE]").message).toStartWith('line 1 "{$lua}": directive {$lua}');
    expect(refused("[ENABLE]\naobscan(a, 9G)\n[DISABLE]").message).toContain('"9G" is not hex bytes or wildcards');
    expect(refused("[ENABLE]\n").message).toBe("the script has no [DISABLE] section");
    expect(refused("[ENABLE]\n  db 1 2 300\n[DISABLE]").message).toContain('db takes hex bytes ("300" is not one)');
  });

  test("Cheat Engine byte patterns in the library's syntax", () => {
    expect(cePatternToPattern("8B0D????????")).toBe("8B 0D ?? ?? ?? ??");
    expect(cePatternToPattern("29 47 x* 8b ?")).toBe("29 47 ?? 8b ??");
    expect(() => cePatternToPattern("123")).toThrow("odd number of digits");
  });
});

describe("module names and pointer sizes", () => {
  const maps = parseMaps(
    [
      "00400000-00401000 r--p 00000000 08:01 11 /home/u/.wine/drive_c/Games/Game.exe",
      "00401000-00480000 r-xp 00001000 08:01 11 /home/u/.wine/drive_c/Games/Game.exe",
      "7f0000000000-7f0000010000 r--p 00000000 08:01 12 /home/u/.wine/drive_c/windows/system32/KERNEL32.dll",
      "7f1000000000-7f1000010000 r--p 00000000 08:01 13 /usr/lib/libGame.so",
      "7f2000000000-7f2000010000 r--p 00000000 08:01 14 /usr/lib/game.exe",
    ].join("\n"),
  );
  test("Windows image names match without regard to case, after exact matches; others stay exact", () => {
    expect(findModule(maps, "game.exe")?.path).toBe("/usr/lib/game.exe");
    expect(findModule(maps, "GAME.EXE")?.path).toBe("/home/u/.wine/drive_c/Games/Game.exe");
    expect(findModule(maps, "Game.exe")?.base).toBe(0x400000);
    expect(findModule(maps, "kernel32.dll")?.name).toBe("KERNEL32.dll");
    expect(findModule(maps, "libgame.so")).toBeNull();
  });

  test("pointer sizes from ELF and PE headers", () => {
    const head = new Uint8Array(16);
    const fd = openSync("/proc/self/exe", "r");
    readSync(fd, head, 0, 16, 0);
    closeSync(fd);
    expect(elfPointerSize(head)).toBe(8);
    const elf32 = new Uint8Array(16);
    elf32.set([0x7f, 0x45, 0x4c, 0x46, 1]);
    expect(elfPointerSize(elf32)).toBe(4);
    expect(elfPointerSize(new Uint8Array([1, 2, 3, 4, 5]))).toBeNull();
    const pe = (machine: number): Uint8Array => {
      const b = new Uint8Array(0x100);
      const v = new DataView(b.buffer);
      b.set([0x4d, 0x5a]);
      v.setUint32(0x3c, 0x80, true);
      v.setUint32(0x80, 0x00004550, true);
      v.setUint16(0x84, machine, true);
      return b;
    };
    expect(pePointerSize(pe(0x14c))).toBe(4);
    expect(pePointerSize(pe(0x8664))).toBe(8);
    expect(pePointerSize(pe(0x1234))).toBeNull();
    expect(pePointerSize(elf32)).toBeNull();
  });
});

describe("the pointer size of a live process", () => {
  test("a mapped 32-bit PE image named *.exe (as Wine maps a game) makes it 4; the constructor's option overrides", async () => {
    const { Target } = await import("./helpers/target.ts");
    const { Process } = await import("../src/index.ts");
    const dir = mkdtempSync(join(tmpdir(), "pvm-table-pe-"));
    const t = await Target.start();
    try {
      expect(new Process(t.pid).pointerSize).toBe(8); // Bun itself: a 64-bit ELF
      const image = new Uint8Array(t.info.page);
      const v = new DataView(image.buffer);
      image.set([0x4d, 0x5a]);
      v.setUint32(0x3c, 0x80, true);
      v.setUint32(0x80, 0x00004550, true);
      v.setUint16(0x84, 0x014c, true); // IMAGE_FILE_MACHINE_I386
      const path = join(dir, "Game.exe");
      writeFileSync(path, image);
      const base = await t.map(t.info.page, 1, path);
      const proc = new Process(t.pid);
      expect(proc.findModule("game.exe")?.base).toBe(base);
      expect(proc.pointerSize).toBe(4);
      expect(new Process(t.pid, { pointerSize: 8 }).pointerSize).toBe(8);
      expect(() => new Process(t.pid, { pointerSize: 2 as never })).toThrow("pointerSize must be 4 or 8 (got 2)");
      // readPointer reads 4 bytes now.
      const data = t.info.data;
      await t.write(data, new Uint8Array([0x78, 0x56, 0x34, 0x12, 0x01, 0x00, 0x00, 0x00]));
      expect(proc.readPointer(data)).toBe(0x12345678);
      expect(new Process(t.pid, { pointerSize: 8 }).readPointer(data)).toBe(0x112345678);
      // writePointer writes 4 bytes, and refuses what does not fit them.
      proc.writePointer(data, 0xcafe0000);
      expect(Array.from(await t.read(data, 8))).toEqual([0x00, 0x00, 0xfe, 0xca, 0x01, 0x00, 0x00, 0x00]);
      expect(() => proc.writePointer(data, 0x100000000)).toThrow("does not fit a 4-byte pointer");
    } finally {
      t.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

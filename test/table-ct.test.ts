/**
 * The .CT reader and its XML parser, on fixtures written from the format's
 * public description (test/fixtures/tables/).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CheatTableError, formatTable, parseTable, parseXml, readCheatTable, XmlError, type Table } from "../src/index.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/tables/${name}`, import.meta.url), "utf8");

const AMMO_SCRIPT =
  "{ Game   : Game.exe\n  Version: 1.0\n}\n\n[ENABLE]\naobscanmodule(INJECT,Game.exe,29 47 08 8B 47 ?? 85 C0) // should be unique\nregistersymbol(INJECT)\n\nINJECT:\n  nop 3\n\n[DISABLE]\nINJECT:\n  db 29 47 08\n\nunregistersymbol(INJECT)\n";
const HIT_SCRIPT =
  "[ENABLE]\naobscanmodule(hit,Game.exe,89 51 10 C3)\nalloc(newmem,$1000,hit)\nlabel(return)\n\nnewmem:\n  mov [rcx+10],0\n  jmp return\n\nhit:\n  jmp newmem\nreturn:\nregistersymbol(hit)\n\n[DISABLE]\nhit:\n  db 89 51 10\nunregistersymbol(hit)\ndealloc(newmem)\n";

/** The model every-kind.CT must give, worked out by hand from the file. */
const EXPECTED: Table = {
  format: "process-vm-table",
  version: 1,
  comment: "converted from a Cheat Engine table (table version 45); its Lua script (LuaScript) is not run; its 1 user-defined symbol(s) are not defined",
  entries: [
    {
      kind: "group",
      id: 0,
      description: "Player",
      children: [
        // <Offset>30 20 18 100</Offset>: stored last-applied first.
        { kind: "value", id: 1, description: "Health (4 levels)", address: "Game.exe+0x1a2b0 -> 0x100 -> 0x18 -> 0x20 -> 0x30", type: "i32", signed: true },
        // FFFFFFF8 is a 32-bit -8.
        {
          kind: "value",
          id: 2,
          description: "Stats (1 level)",
          address: "Game.exe+0x1a2b8 -> -0x8",
          type: "u32",
          hex: true,
          children: [
            // "+4" and "+C": from the parent's address; the child's offsets, reversed, follow from there.
            { kind: "value", id: 20, description: "Armor (relative)", address: "+0x4", type: "u16" },
            { kind: "value", id: 21, description: "Weapon damage (relative pointer)", address: "+0xc -> 0x8 -> 0x10", type: "f32" },
          ],
        },
        {
          kind: "group",
          id: 3,
          description: "Inventory",
          children: [
            { kind: "value", id: 4, description: "Lives", address: "0x40a2b0", type: "u8" },
            { kind: "value", id: 5, description: "Keys", address: "0x40a2b2", type: "i16", signed: true },
          ],
        },
      ],
    },
    { kind: "value", id: 6, description: "Score", address: "libgame.so+0x2000", type: "u64", signed: false },
    { kind: "value", id: 7, description: "Speed", address: "game.exe+0x3000", type: "f32" },
    // [["Game.exe"+1A2B0]+18]+40: the bracket form, hex.
    { kind: "value", id: 8, description: "Position X", address: "Game.exe+0x1a2b0 -> 0x18 -> 0x40", type: "f64" },
    { kind: "value", id: 9, description: "Name", address: "0x7ff600001000", type: "string", length: 16, encoding: "utf-8" },
    { kind: "value", id: 10, description: "Title", address: "0x7ff600001100", type: "string", length: 12, encoding: "utf-16le" },
    { kind: "value", id: 11, description: "Flags & bytes", address: "0x7ff600001200", type: "bytes", length: 8, hex: true },
    { kind: "value", id: 12, description: "God mode bit", address: "0x7ff600001300", type: "bits", bit: 2, bitLength: 3 },
    { kind: "script", id: 13, description: "Infinite ammo", script: AMMO_SCRIPT },
    {
      kind: "unsupported",
      id: 14,
      description: "One hit kills",
      reason: 'Auto Assembler line 3 "alloc(newmem,$1000,hit)": alloc(…) is not supported (only aobscanmodule, aobscan, label, registersymbol and unregistersymbol are)',
      original: { VariableType: "Auto Assembler Script", AssemblerScript: HIT_SCRIPT },
    },
    {
      kind: "unsupported",
      id: 15,
      description: "Teleport",
      reason: 'Lua in the script ("{$lua}") is not supported',
      original: { VariableType: "Auto Assembler Script", AssemblerScript: '{$lua}\nif syntaxcheck then return end\n[ENABLE]\nprint("on")\n[DISABLE]\nprint("off")\n' },
    },
    // Cheat Engine's standard big-endian custom types are plain types; other custom types are scripts.
    { kind: "value", id: 16, description: "Money (custom)", address: "Game.exe+0x5000", type: "f32", endian: "big" },
    { kind: "value", id: 22, description: "Coins (big endian)", address: "Game.exe+0x5004", type: "i32", signed: true, endian: "big" },
    {
      kind: "unsupported",
      id: 23,
      description: "Packed",
      reason: 'custom type "Packed Decimal" is not supported (its conversion is a Cheat Engine script)',
      original: { VariableType: "Custom", Address: '"Game.exe"+5008', CustomType: "Packed Decimal" },
    },
    { kind: "unsupported", id: 17, description: "Mystery", reason: 'unknown VariableType "Quad Word"', original: { VariableType: "Quad Word", Address: '"Game.exe"+6000' } },
    {
      kind: "unsupported",
      id: 18,
      description: "Ammo (from script)",
      reason: 'address "pAmmo" names the symbol "pAmmo", which only a script or Cheat Engine\'s symbol handler defines',
      original: { VariableType: "4 Bytes", Address: "pAmmo" },
      children: [
        { kind: "unsupported", id: 19, description: "Clip", reason: 'address "+10" is relative to the parent entry, which has no address (it is unsupported)', original: { VariableType: "4 Bytes", Address: "+10" } },
      ],
    },
  ],
};

describe("readCheatTable", () => {
  test("every entry kind of the fixture gives the expected model; nothing is dropped", () => {
    const table = readCheatTable(fixture("every-kind.CT"));
    expect(table).toEqual(EXPECTED);
    expect((fixture("every-kind.CT").match(/<CheatEntry>/g) ?? []).length).toBe(24);
  });

  test("our format keeps the converted table exactly", () => {
    const table = readCheatTable(fixture("every-kind.CT"));
    expect(parseTable(formatTable(table))).toEqual(table);
  });

  test("one-level and four-level pointers: the XML lists the last-applied offset first", () => {
    const one = readCheatTable(ct(`<CheatEntry><ID>1</ID><Description>"a"</Description><VariableType>4 Bytes</VariableType><Address>"a.exe"+10</Address><Offsets><Offset>4C</Offset></Offsets></CheatEntry>`));
    expect(one.entries[0]).toMatchObject({ address: "a.exe+0x10 -> 0x4c" });
    const four = readCheatTable(ct(`<CheatEntry><ID>1</ID><Description>"a"</Description><VariableType>4 Bytes</VariableType><Address>a.exe+10</Address><Offsets><Offset>4</Offset><Offset>3</Offset><Offset>2</Offset><Offset>1</Offset></Offsets></CheatEntry>`));
    expect(four.entries[0]).toMatchObject({ address: "a.exe+0x10 -> 0x1 -> 0x2 -> 0x3 -> 0x4" });
  });

  test("user-defined symbols with an address stand for it; registered ones make the entry unsupported", () => {
    const t = readCheatTable(
      `<CheatTable><CheatEntries>` +
        `<CheatEntry><ID>1</ID><Description>"a"</Description><VariableType>4 Bytes</VariableType><Address>pBase+8</Address><Offsets><Offset>4</Offset></Offsets></CheatEntry>` +
        `<CheatEntry><ID>2</ID><Description>"b"</Description><VariableType>4 Bytes</VariableType><Address>pDeep+8</Address></CheatEntry>` +
        `<CheatEntry><ID>3</ID><Description>"c"</Description><VariableType>4 Bytes</VariableType><Address>hook</Address></CheatEntry>` +
        `<CheatEntry><ID>4</ID><Description>"d"</Description><VariableType>Auto Assembler Script</VariableType><AssemblerScript>[ENABLE]\naobscan(hook,90 90)\nregistersymbol(hook)\n[DISABLE]\nunregistersymbol(hook)</AssemblerScript></CheatEntry>` +
        `</CheatEntries><UserdefinedSymbols>` +
        `<SymbolEntry><Name>pBase</Name><Address>"Game.exe"+100</Address></SymbolEntry>` +
        `<SymbolEntry><Name>pDeep</Name><Address>[Game.exe+200]+10</Address></SymbolEntry>` +
        `</UserdefinedSymbols></CheatTable>`,
    );
    expect(t.entries.map((e) => (e.kind === "value" ? e.address : e.kind === "unsupported" ? e.reason : e.kind))).toEqual([
      "Game.exe+0x108 -> 0x4",
      "Game.exe+0x200 -> 0x18",
      'address "hook" names the symbol "hook", which only a script or Cheat Engine\'s symbol handler defines',
      "script",
    ]);
  });

  test("IDs that repeat or are missing get fresh ones; descriptions lose their quotes", () => {
    const t = readCheatTable(ct(`<CheatEntry><ID>4</ID><Description>"x"</Description><GroupHeader>1</GroupHeader></CheatEntry><CheatEntry><ID>4</ID><Description>y</Description><GroupHeader>1</GroupHeader></CheatEntry><CheatEntry><Description>"z"</Description><GroupHeader>1</GroupHeader></CheatEntry>`));
    expect(t.entries.map((e) => [e.id, e.description])).toEqual([[4, "x"], [0, "y"], [1, "z"]]);
  });

  test("malformed XML is an error with the line, the column and the entry being read", () => {
    const bad = fixture("malformed.CT");
    let error: unknown;
    try {
      readCheatTable(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CheatTableError);
    const e = error as CheatTableError;
    expect(e.message).toContain("line 9");
    expect(e.message).toContain('expected </Description> (opened at line 9), found </CheatEntry>');
    expect(e.message).toContain('entry 2');
    expect(e.entry).toEqual({ id: 2 });
    expect(e.line).toBe(10);
  });

  test("strict: an unknown type is an error naming the entry", () => {
    const xml = ct(`<CheatEntry><ID>7</ID><Description>"Gold"</Description><VariableType>Quad</VariableType><Address>1000</Address></CheatEntry>`);
    expect(readCheatTable(xml).entries[0]).toMatchObject({ kind: "unsupported", reason: 'unknown VariableType "Quad"' });
    expect(() => readCheatTable(xml, { strict: true })).toThrow('entry 7 "Gold" (line 1): unknown VariableType "Quad"');
  });

  test("a document that is not a cheat table", () => {
    expect(() => readCheatTable("<html><body/></html>")).toThrow("the root element is <html>, not <CheatTable>");
    expect(() => readCheatTable("")).toThrow("the document has no root element");
  });
});

function ct(entries: string): string {
  return `<CheatTable><CheatEntries>${entries}</CheatEntries></CheatTable>`;
}

describe("parseXml", () => {
  test("elements, attributes, entities, CDATA, comments and the prolog", () => {
    const root = parseXml(`\uFEFF<?xml version="1.0"?>\n<!DOCTYPE x>\n<!-- c -->\n<a k="1 &amp; 2" j='&#x41;'><b>x &lt; y</b><![CDATA[<raw & text>]]><c/><!-- in --></a>\n`);
    expect(root.name).toBe("a");
    expect(root.attributes).toEqual({ k: "1 & 2", j: "A" });
    expect(root.children).toEqual([{ name: "b", attributes: {}, children: ["x < y"], line: 4 }, "<raw & text>", { name: "c", attributes: {}, children: [], line: 4 }]);
  });

  test("mistakes name the line and the column", () => {
    const cases: [string, string][] = [
      ["<a>\n<b></a>", "line 2, column 4: expected </b> (opened at line 2), found </a>"],
      ["<a x=1/>", "line 1, column 6: the value of attribute x of <a> must be quoted"],
      ["<a>&bogus;</a>", 'unknown reference "&bogus;"'],
      ["<a>\n<b>", "line 2, column 4: <b> (line 2) is not closed: expected </b>"],
      ["<a/><b/>", "content after the root element </a>"],
      ['<a x="1" x="2"/>', "attribute x appears twice in <a>"],
      ["<a>fish & chips</a>", '"&" must start a reference'],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try {
        parseXml(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(XmlError);
      expect((error as Error).message).toContain(message);
    }
  });
});

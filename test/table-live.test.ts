/**
 * Cheat tables against real processes: a C game built 64-bit and 32-bit whose
 * object graph a .CT describes (a one-level and a four-level pointer), read,
 * set and frozen through the table; an Auto Assembler entry that patches code
 * in a read-only page and restores it; a program named Game.exe found as
 * "game.exe"; and .CT -> our format -> load giving the same live values.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import {
  findPointerPaths,
  formatTable,
  parseTable,
  Process,
  readCheatTable,
  TableRuntime,
  type Table,
  type TableRow,
} from "../src/index.ts";
import { buildTargets, copyAs, TableTarget, type Built, type TableTargetInfo } from "./helpers/table-target.ts";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;
const MARKER = "EB 06 50 56 4D 54 42 4C 83 28 01";

/** A .CT describing the target's graph, as Cheat Engine writes one (offsets stored last-applied first). */
function cheatTable(module: string, info: TableTargetInfo, base: number, quoted = true): string {
  const root = (info.root - base).toString(16).toUpperCase();
  const gStats = (info.gStats - base).toString(16).toUpperCase();
  const mod = quoted ? `"${module}"` : module;
  const entry = (id: number, description: string, type: string, address: string, offsets: string[], extra = ""): string => `
      <CheatEntry>
        <ID>${id}</ID>
        <Description>"${description}"</Description>
        ${extra}
        <VariableType>${type}</VariableType>
        <Address>${address}</Address>
        ${offsets.length ? `<Offsets>${offsets.map((o) => `<Offset>${o}</Offset>`).join("")}</Offsets>` : ""}
      </CheatEntry>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<CheatTable CheatEngineTableVersion="45">
  <CheatEntries>
    <CheatEntry>
      <ID>0</ID>
      <Description>"Player"</Description>
      <GroupHeader>1</GroupHeader>
      <CheatEntries>
        ${entry(1, "Health", "4 Bytes", `${mod}+${root}`, ["30", "20", "18", "10"], "<ShowAsSigned>1</ShowAsSigned>")}
        ${entry(2, "Health via g_stats", "4 Bytes", `${module}+${gStats}`, ["30"], "<ShowAsSigned>1</ShowAsSigned>")}
        ${entry(3, "Speed", "Float", `${mod}+${gStats}`, ["34"])}
        ${entry(4, "Position", "Double", `${mod}+${gStats}`, ["38"])}
      </CheatEntries>
    </CheatEntry>
    ${entry(5, "Name", "String", `${mod}+${gStats}`, ["40"], "<Length>16</Length><Unicode>0</Unicode>")}
    ${entry(6, "Title", "String", `${mod}+${gStats}`, ["50"], "<Length>12</Length><Unicode>1</Unicode>")}
    ${entry(7, "Flags", "Array of byte", `${mod}+${gStats}`, ["68"], "<ByteLength>8</ByteLength><ShowAsHex>1</ShowAsHex>")}
    ${entry(8, "Bits", "Binary", `${mod}+${gStats}`, ["70"], "<BitStart>2</BitStart><BitLength>3</BitLength>")}
    ${entry(9, "Score", "8 Bytes", (info.stats + 0x78).toString(16).toUpperCase(), [], "<ShowAsSigned>1</ShowAsSigned>").replace(
      "</CheatEntry>",
      `<CheatEntries>${entry(12, "Ammo (relative)", "4 Bytes", "+8", [])}</CheatEntries></CheatEntry>`,
    )}
    ${entry(10, "Ammo", "4 Bytes", `${mod}+${gStats}`, ["80"])}
    <CheatEntry>
      <ID>11</ID>
      <Description>"Infinite ammo"</Description>
      <VariableType>Auto Assembler Script</VariableType>
      <AssemblerScript>[ENABLE]
aobscanmodule(AMMO,${module},${MARKER}) // the marker, then sub dword [eax],1
registersymbol(AMMO)
AMMO+8:
  nop 3
[DISABLE]
AMMO+8:
  db 83 28 01
unregistersymbol(AMMO)
</AssemblerScript>
    </CheatEntry>
    ${entry(13, "g_stats", info.pointerSize === 8 ? "8 Bytes" : "4 Bytes", `${mod}+${gStats}`, [], "<ShowAsHex>1</ShowAsHex>").replace(
      "</CheatEntry>",
      `<CheatEntries>${entry(14, "Name via g_stats", "String", "+0", ["40"], "<Length>16</Length>")}</CheatEntries></CheatEntry>`,
    )}
  </CheatEntries>
</CheatTable>
`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function byDescription(rows: readonly TableRow[], description: string): TableRow {
  const row = rows.find((r) => r.entry.description === description);
  if (!row) throw new Error(`no row "${description}"`);
  return row;
}

let built: Built;
beforeAll(() => {
  built = buildTargets();
  if (!built.bin64) console.warn(`skipping the table tests against C targets: ${built.why64}`);
  else if (!built.bin32) console.warn(`skipping the 32-bit table tests: ${built.why32}`);
});
afterAll(() => built?.cleanup());

for (const bits of [64, 32] as const) {
  describe(`a ${bits}-bit C target`, () => {
    let target: TableTarget | null = null;
    let proc: Process;
    let table: Table;
    let module: string;
    const bin = () => (bits === 64 ? built.bin64 : built.bin32);
    const skip = () => {
      if (bin()) return false;
      console.warn(`skipped (${bits}-bit): ${bits === 64 ? built.why64 : built.why32}`);
      return true;
    };

    beforeAll(async () => {
      const path = bin();
      if (!path) return;
      target = await TableTarget.start(path);
      proc = new Process(target.pid);
      module = basename(path);
      table = readCheatTable(cheatTable(module, target.info, proc.module(module).base));
    });
    afterAll(async () => {
      await target?.stop();
    });

    test("the pointer size is detected from the image, and readPointer, chains and the pointer scanner use it", async () => {
      if (skip()) return;
      const info = target!.info;
      expect(info.pointerSize).toBe(bits === 64 ? 8 : 4);
      expect(proc.pointerSize).toBe(info.pointerSize);
      expect(proc.readPointer(info.gStats)).toBe(info.stats);
      const base = proc.module(module).base;
      const health = info.stats + 0x30;
      expect(proc.resolve(`${module}+0x${(info.root - base).toString(16)} -> 0x10 -> 0x18 -> 0x20 -> 0x30`)).toBe(health);
      const paths = await findPointerPaths(proc, health, { maxDepth: 4, maxOffset: 0x100, modules: [module] });
      const texts = paths.toStrings();
      expect(texts).toContain(`${module}+0x${(info.gStats - base).toString(16)} -> 0x30`);
      expect(texts).toContain(`${module}+0x${(info.root - base).toString(16)} -> 0x10 -> 0x18 -> 0x20 -> 0x30`);
      // A 64-bit reading of the same 4-byte slots would not find the 32-bit graph: the override changes how pointers are read.
      if (bits === 32) expect(new Process(target!.pid, { pointerSize: 8 }).readPointer(info.gStats)).not.toBe(info.stats);
    });

    test("the .CT loads with the offsets in the order Cheat Engine follows them", () => {
      if (skip()) return;
      const base = proc.module(module).base;
      const health = table.entries[0]!.children![0]!;
      expect(health).toMatchObject({ kind: "value", type: "i32", signed: true });
      expect(health.kind === "value" && health.address).toBe(`${module}+0x${(target!.info.root - base).toString(16)} -> 0x10 -> 0x18 -> 0x20 -> 0x30`);
    });

    test("every entry reads the right live value", () => {
      if (skip()) return;
      using runtime = new TableRuntime(proc, table);
      const rows = runtime.refresh();
      const info = target!.info;
      const health = byDescription(rows, "Health");
      expect(health.address).toBe(info.stats + 0x30);
      expect(byDescription(rows, "Health via g_stats").address).toBe(info.stats + 0x30);
      const live = proc.readI32(info.stats + 0x30);
      expect(Math.abs(Number(health.value) - live)).toBeLessThan(200);
      expect(Number(health.value)).toBeLessThanOrEqual(1000000);
      expect(byDescription(rows, "Speed").value).toBe("1.5");
      expect(byDescription(rows, "Position").value).toBe("-12.25");
      expect(byDescription(rows, "Name").value).toBe("Hero");
      expect(byDescription(rows, "Title").value).toBe("Knight");
      expect(byDescription(rows, "Flags").value).toBe("01 02 03 04 05 06 07 08");
      expect(byDescription(rows, "Bits").value).toBe("5");
      expect(byDescription(rows, "Score").value).toBe("1234567890123");
      expect(byDescription(rows, "Score").address).toBe(info.stats + 0x78);
      expect(byDescription(rows, "Ammo (relative)").address).toBe(info.stats + 0x80);
      expect(byDescription(rows, "g_stats").value).toBe(info.stats.toString(16).toUpperCase().padStart(2 * info.pointerSize, "0"));
      expect(byDescription(rows, "Name via g_stats").address).toBe(info.stats + 0x40);
      expect(byDescription(rows, "Name via g_stats").value).toBe("Hero");
      expect(Math.abs(Number(byDescription(rows, "Ammo (relative)").value) - Number(byDescription(rows, "Ammo").value))).toBeLessThan(200);
    });

    test("set writes each type where the game keeps it", () => {
      if (skip()) return;
      using runtime = new TableRuntime(proc, table);
      runtime.refresh();
      const info = target!.info;
      runtime.set(byDescription(runtime.rows, "Speed").entry, "2.75");
      expect(proc.readF32(info.stats + 0x34)).toBe(2.75);
      runtime.set(byDescription(runtime.rows, "Position").entry, "100.125");
      expect(proc.readF64(info.stats + 0x38)).toBe(100.125);
      runtime.set(byDescription(runtime.rows, "Name").entry, "Mage");
      expect(proc.readCString(info.stats + 0x40, 16)).toBe("Mage");
      runtime.set(byDescription(runtime.rows, "Title").entry, "Rogue");
      expect(proc.readUtf16(info.stats + 0x50, 24)).toBe("Rogue");
      runtime.set(byDescription(runtime.rows, "Flags").entry, "AA ?? CC");
      expect(Array.from(proc.read(info.stats + 0x68, 4))).toEqual([0xaa, 0x02, 0xcc, 0x04]);
      runtime.set(byDescription(runtime.rows, "Bits").entry, "2");
      expect(proc.readU8(info.stats + 0x70)).toBe(0x08); // bits 2..4 = 010, the others kept (they were 0)
      runtime.set(byDescription(runtime.rows, "Score").entry, "-5");
      expect(proc.readI64(info.stats + 0x78)).toBe(-5n);
      runtime.set(byDescription(runtime.rows, "Health").entry, "777");
      const hp = proc.readI32(info.stats + 0x30);
      expect(hp).toBeLessThanOrEqual(777);
      expect(hp).toBeGreaterThan(600);
      const rows = runtime.refresh();
      expect(byDescription(rows, "Name").value).toBe("Mage");
      expect(byDescription(rows, "Bits").value).toBe("2");
    });

    test("freeze holds a value the game lowers, and a string the game does not own; unfreeze lets go", async () => {
      if (skip()) return;
      const info = target!.info;
      using runtime = new TableRuntime(proc, table, { intervalMs: 10 });
      runtime.refresh();
      const health = byDescription(runtime.rows, "Health");
      runtime.freeze(health.entry, "500000");
      const name = byDescription(runtime.rows, "Name");
      runtime.freeze(name.entry, "Frozen");
      await sleep(50);
      proc.writeCString(info.stats + 0x40, "Thief");
      await sleep(150);
      // The game lowers it by 1 every 2 ms (75 in 150 ms); the freeze writes it back every 10 ms.
      const held = proc.readI32(info.stats + 0x30);
      expect(held).toBeLessThanOrEqual(500000);
      expect(held).toBeGreaterThan(500000 - 60);
      await sleep(150);
      expect(proc.readI32(info.stats + 0x30)).toBeGreaterThan(500000 - 60);
      expect(proc.readCString(info.stats + 0x40, 16)).toBe("Frozen");
      expect(health.entry.kind === "value" && health.entry.freeze).toEqual({ active: true, value: "500000" });
      expect(runtime.refresh().find((r) => r.entry === health.entry)!.active).toBe(true);
      runtime.unfreeze(health.entry);
      runtime.unfreeze(name.entry);
      await sleep(30);
      const released = proc.readI32(info.stats + 0x30);
      await sleep(150);
      expect(proc.readI32(info.stats + 0x30)).toBeLessThan(released - 20);
      proc.writeCString(info.stats + 0x40, "Thief");
      await sleep(50);
      expect(proc.readCString(info.stats + 0x40, 16)).toBe("Thief");
    });

    test("the AOB script patches code in a read-only page, and [DISABLE] restores it", async () => {
      if (skip()) return;
      const info = target!.info;
      const [site] = await proc.findPattern(MARKER, { module: proc.module(module).path });
      expect(site).toBeDefined();
      const region = proc.maps().find((r) => r.start <= site! && site! < r.end)!;
      expect(region.writable).toBe(false);
      expect(region.executable).toBe(true);
      using runtime = new TableRuntime(proc, table);
      runtime.refresh();
      const script = byDescription(runtime.rows, "Infinite ammo");
      await runtime.enable(script.entry);
      expect(Array.from(proc.read(site! + 8, 3))).toEqual([0x90, 0x90, 0x90]);
      const ammo = proc.readI32(info.stats + 0x80);
      await sleep(60);
      expect(proc.readI32(info.stats + 0x80)).toBe(ammo);
      expect(runtime.refresh().find((r) => r.entry === script.entry)!.active).toBe(true);
      await runtime.disable(script.entry);
      expect(Array.from(proc.read(site! + 8, 3))).toEqual([0x83, 0x28, 0x01]);
      await sleep(60);
      expect(proc.readI32(info.stats + 0x80)).toBeLessThan(ammo);
      // close() puts back what an enabled script patched, without [DISABLE].
      await runtime.enable(script.entry);
      runtime.close();
      expect(Array.from(proc.read(site! + 8, 3))).toEqual([0x83, 0x28, 0x01]);
    });

    test("round trip: .CT -> our format -> load gives the same live values", () => {
      if (skip()) return;
      const json = formatTable(table);
      const again = parseTable(json);
      expect(again).toEqual(table);
      using a = new TableRuntime(proc, table);
      using b = new TableRuntime(proc, again);
      const ra = a.refresh();
      const rb = b.refresh();
      expect(rb.map((r) => r.address)).toEqual(ra.map((r) => r.address));
      const steady = (rows: readonly TableRow[]) => rows.filter((r) => !["Health", "Health via g_stats", "Ammo", "Ammo (relative)"].includes(r.entry.description)).map((r) => r.value);
      expect(steady(rb)).toEqual(steady(ra));
      expect(steady(ra).filter((v) => v !== null).length).toBe(9);
    });
  });
}

describe("a program named like a Windows image", () => {
  test('Game.exe is found as "game.exe"+offset, without regard to case', async () => {
    if (!built.bin64) {
      console.warn(`skipped: ${built.why64}`);
      return;
    }
    const exe = copyAs(built.bin64, built.dir, "Game.exe");
    const target = await TableTarget.start(exe);
    try {
      const proc = new Process(target.pid);
      const module = proc.findModule("game.exe");
      expect(module?.name).toBe("Game.exe");
      expect(proc.findModule("GAME.EXE")?.base).toBe(module!.base);
      const table = readCheatTable(cheatTable("game.exe", target.info, module!.base));
      using runtime = new TableRuntime(proc, table);
      const rows = runtime.refresh();
      expect(byDescription(rows, "Health").address).toBe(target.info.stats + 0x30);
      expect(byDescription(rows, "Name").value).toBe("Hero");
      // The script's aobscanmodule names the module in lower case too.
      await runtime.enable(byDescription(rows, "Infinite ammo").entry);
      await runtime.disable(byDescription(rows, "Infinite ammo").entry);
    } finally {
      await target.stop();
    }
  });
});

describe("pvm table", () => {
  test("convert, then a one-shot listing with live values and commands from stdin", async () => {
    if (!built.bin64) {
      console.warn(`skipped: ${built.why64}`);
      return;
    }
    const target = await TableTarget.start(built.bin64);
    try {
      const proc = new Process(target.pid);
      const module = basename(built.bin64);
      const ct = join(built.dir, "game.CT");
      const json = join(built.dir, "game.json");
      const saved = join(built.dir, "saved.json");
      writeFileSync(ct, cheatTable(module, target.info, proc.module(module).base));
      const convert = spawnSync(process.execPath, [MAIN, "table", "convert", ct, json], { encoding: "utf8" });
      expect(convert.stderr).toBe("");
      expect(convert.status).toBe(0);
      expect(convert.stdout).toContain("15 entries");
      expect(parseTable(readFileSync(json, "utf8"))).toEqual(readCheatTable(readFileSync(ct, "utf8")));

      const offline = spawnSync(process.execPath, [MAIN, "table", json], { encoding: "utf8", input: "set 6 x\n" });
      expect(offline.stdout).toMatch(new RegExp(`^\\s*2\\s+ {2}Health\\s+i32\\s+${module}\\+0x[0-9a-f]+ -> 0x10 -> 0x18 -> 0x20 -> 0x30$`, "m"));
      expect(offline.stderr).toContain('"set" needs a TARGET');
      const broken = join(built.dir, "broken.CT");
      writeFileSync(broken, readFileSync(ct, "utf8").replace("</Description>", ""));
      const bad = spawnSync(process.execPath, [MAIN, "table", "convert", broken, json], { encoding: "utf8" });
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain(`table: ${broken}: malformed XML at line 46, column 5: expected </Description> (opened at line 6), found </CheatEntry> (in entry 0)`);

      const list = spawnSync(process.execPath, [MAIN, "table", json, String(target.pid)], { encoding: "utf8", input: "" });
      expect(list.status).toBe(0);
      expect(list.stdout).toMatch(/^\s*6\s+Name\s+string\[16\]\s+Hero\s+@0x/m);
      expect(list.stdout).toMatch(/^\s*4\s+ {2}Speed\s+f32\s+1\.5\s+@0x/m);

      const asJson = spawnSync(process.execPath, [MAIN, "table", json, String(target.pid), "--json"], { encoding: "utf8" });
      expect(asJson.status).toBe(0);
      const rows = JSON.parse(asJson.stdout) as { row: number; description: string; value?: string; address?: number; addressHex?: string; kind: string; reason?: string }[];
      expect(rows.length).toBe(15);
      expect(rows[5]).toMatchObject({ row: 6, description: "Name", value: "Hero", address: target.info.stats + 0x40 });
      expect(rows.find((r) => r.kind === "script")).toMatchObject({ row: 13, description: "Infinite ammo", active: false });
      const batch = spawnSync(process.execPath, [MAIN, "table", json, String(target.pid), "-c", "set 4 2.5; set 4 nope"], { encoding: "utf8" });
      expect(batch.stdout).toBe("4: 2.5\n");
      expect(batch.stderr).toContain('error: entry 3 "Speed" (f32): "nope" is not a number');
      expect(batch.status).toBe(1);

      const session = spawnSync(process.execPath, [MAIN, "table", json, String(target.pid)], {
        encoding: "utf8",
        input: `set 6 Bard\nset 4 3.5\nfreeze 6 Frozen\nsave ${saved}\nset 99 1\n`,
      });
      expect(session.stdout).toContain("6: Bard");
      expect(session.stdout).toContain("4: 3.5");
      expect(session.stderr).toContain("N must be a row number from 1 to 15");
      expect(session.status).toBe(1);
      expect(proc.readF32(target.info.stats + 0x34)).toBe(3.5);
      // A session ended by SIGTERM puts back what its enabled scripts patched.
      const [site] = await proc.findPattern(MARKER, { module: proc.module(module).path });
      const live = Bun.spawn([process.execPath, MAIN, "table", json, String(target.pid)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
      live.stdin.write("enable 13\n");
      live.stdin.flush();
      const reader = live.stdout.getReader();
      let seen = "";
      while (!seen.includes("13: enabled")) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      expect(seen).toContain("13: enabled");
      expect(Array.from(proc.read(site! + 8, 3))).toEqual([0x90, 0x90, 0x90]);
      live.kill("SIGTERM");
      expect(await live.exited).toBe(143);
      expect(Array.from(proc.read(site! + 8, 3))).toEqual([0x83, 0x28, 0x01]);

      const kept = parseTable(readFileSync(saved, "utf8"));
      const name = kept.entries.find((e) => e.description === "Name");
      expect(name?.kind === "value" && name.freeze).toEqual({ active: true, value: "Frozen" });
    } finally {
      await target.stop();
    }
  });
});

/**
 * Big-endian values, against a target that keeps its state big-endian (as
 * an emulator keeps a GameCube/Wii or PS3 guest's memory) and changes it
 * itself: value scans, next scans, snapshots, typed reads and writes,
 * freezes and watches, each checked from the target's side.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Process } from "../src/process.ts";
import { scan } from "../src/scan/index.ts";
import { freeze, watch, type WatchChange } from "../src/trainer/index.ts";
import { getValue, setValue } from "../src/types.ts";
import { Target } from "./helpers/target.ts";

const FIXTURE = new URL("./fixtures/be-console.ts", import.meta.url).pathname;
let t: Target;
let proc: Process;
let page: number;
const HEALTH = 0x10;
const SPEED = 0x20;
const LIVES = 0x30;
const SCORE = 0x40;
const BE = { endian: "big" } as const;

interface State {
  health: number;
  speed: number;
  lives: number;
  score: string;
}
const state = async (cmd = "state") => (await t.cmd(cmd)) as unknown as State;

beforeAll(async () => {
  t = await Target.start([], FIXTURE);
  proc = new Process(t.pid);
  page = (t.info as unknown as { console: number }).console;
});
afterAll(() => t.kill());

const within = (): [number, number] => [page, page + 4096];

describe("big-endian scans", () => {
  test("first scans find the values only when read big-endian", async () => {
    await state("hit 0");
    const s = await scan(proc, "u32", 1000, { within: within(), ...BE });
    expect(Array.from(s.addresses())).toEqual([page + HEALTH]);
    expect([...s].map((m) => m.value)).toEqual([1000]);
    expect(s.endian).toBe("big");
    expect((await scan(proc, "u32", 1000, { within: within() })).count).toBe(0);
    // Every form of query, unaligned, ranges, floats, 16 and 64 bits, the int mode.
    expect(Array.from((await scan(proc, "u32", "990..1010", { within: within(), align: 1, ...BE })).addresses())).toEqual([page + HEALTH]);
    expect(Array.from((await scan(proc, "f32", 1.5, { within: within(), ...BE })).addresses())).toEqual([page + SPEED]);
    expect(Array.from((await scan(proc, "f32", "1.50", { within: within(), ...BE })).addresses())).toEqual([page + SPEED]);
    expect(Array.from((await scan(proc, "i16", 3, { within: within(), ...BE })).addresses())).toEqual([page + LIVES]);
    expect(Array.from((await scan(proc, "u64", 0x0102030405060708n, { within: within(), ...BE })).addresses())).toEqual([page + SCORE]);
    const any = await scan(proc, "int", 1000, { within: within(), align: 1, ...BE });
    // 00 00 03 e8 at +0x10 (zeros before it): 1000 read big-endian at 64 bits from +0x0c, 32 from +0x10, 16 from +0x12.
    expect([...any].map((m) => [m.address - page, m.readings!.map((r) => r.type)])).toEqual([
      [0x0c, ["i64", "u64"]], [0x10, ["i32", "u32"]], [0x12, ["i16", "u16"]],
    ]);
    const gt = await scan(proc, "u32", { gt: 999 }, { within: within(), ...BE });
    expect(Array.from(gt.addresses())).toContain(page + HEALTH);
  });

  test("next scans compare big-endian values, from matches and from a snapshot", async () => {
    const s = await scan(proc, "u32", 1000, { within: within(), ...BE });
    const snap = await scan(proc, "u32", "unknown", { within: within(), ...BE });
    const snapOdd = await scan(proc, "u32", "unknown", { within: within(), align: 1, ...BE });
    expect((await state("hit 7")).health).toBe(993);
    for (const x of [s, snap, snapOdd]) {
      await x.next("- 7", { threads: x === snapOdd ? 2 : 0 }); // in Workers too // little-endian, 03 e8 → 03 e1 is a step of 0x07000000
      expect(Array.from(x.addresses())).toEqual([page + HEALTH]);
      expect([...x].map((m) => [m.value, m.previous])).toEqual([[993, 1000]]);
    }
    await s.next("decreased");
    expect(s.count).toBe(0);
    s.undo();
    await s.update();
    expect((await state("hit 1")).health).toBe(992);
    await s.next({ decreasedBy: 1 });
    expect(Array.from(s.addresses())).toEqual([page + HEALTH]);
    await s.next(992);
    expect(s.count).toBe(1);
    // 64 bits wrap around big-endian too.
    const score = await scan(proc, "u64", "unknown", { within: [page + SCORE, page + SCORE + 8], ...BE });
    await state(`score ${(2n ** 64n - 1n).toString()}`); // score - 1, mod 2^64
    await score.next("- 1");
    expect(score.count).toBe(1);
    expect([...score][0]!.value).toBe(0x0102030405060707n);
  });
});

describe("big-endian reads, writes, freezes and watches", () => {
  test("readU32BE … readF64BE and writeU32BE … writeF64BE, seen from the target", async () => {
    const now = await state();
    expect(proc.readU32BE(page + HEALTH)).toBe(now.health);
    expect(proc.readI32BE(page + HEALTH)).toBe(now.health);
    expect(proc.readF32BE(page + SPEED)).toBe(1.5);
    expect(proc.readI16BE(page + LIVES)).toBe(now.lives);
    expect(proc.readU16BE(page + LIVES)).toBe(now.lives);
    expect(proc.readU64BE(page + SCORE)).toBe(BigInt(now.score));
    expect(proc.readI64BE(page + SCORE)).toBe(BigInt(now.score));
    expect(proc.readU32(page + HEALTH)).not.toBe(now.health);
    proc.writeU32BE(page + HEALTH, 4321);
    proc.writeF32BE(page + SPEED, -2.25);
    proc.writeI16BE(page + LIVES, -2);
    proc.writeU64BE(page + SCORE, 77n);
    expect(await state()).toEqual({ health: 4321, speed: -2.25, lives: -2, score: "77" });
    proc.writeI32BE(page + HEALTH, 1000);
    proc.writeU16BE(page + LIVES, 3);
    proc.writeI64BE(page + SCORE, 0x0102030405060708n);
    proc.writeF32BE(page + SPEED, 1.5);
    expect(await state()).toEqual({ health: 1000, speed: 1.5, lives: 3, score: "72623859790382856" });
    proc.writeF64BE(page + 0x80, Math.PI);
    expect(proc.readF64BE(page + 0x80)).toBe(Math.PI);
    expect(() => proc.writeU16BE(page + LIVES, 70000)).toThrow(RangeError);
  });

  test("a big-endian freeze holds the value the target keeps lowering", async () => {
    using h = freeze(proc, page + HEALTH, "u32", 5000, { intervalMs: 2, ...BE });
    expect((await state()).health).toBe(5000);
    for (let i = 0; i < 5; i++) {
      await state("hit 10");
      await Bun.sleep(10);
    }
    expect((await state()).health).toBe(5000);
    h.set(6000);
    await Bun.sleep(10);
    expect((await state()).health).toBe(6000);
    h.stop();
    expect((await state("hit 1")).health).toBe(5999);
  });

  test("allowDecrease compares big-endian values", async () => {
    proc.writeU32BE(page + HEALTH, 300); // little-endian, 300 then 299 would read as increased
    using h = freeze(proc, page + HEALTH, "u32", 300, { intervalMs: 2, allowDecrease: true, ...BE });
    await state("hit 45");
    await Bun.sleep(20);
    expect(h.value).toBe(255);
    expect((await state()).health).toBe(255);
  });

  test("a big-endian watch reports decoded changes", async () => {
    proc.writeU32BE(page + HEALTH, 100);
    const changes: WatchChange[] = [];
    using w = watch(proc, [{ address: page + HEALTH, type: "u32" }, page + LIVES], { intervalMs: 2, type: "i16", onChange: (c) => changes.push(c), ...BE });
    await state("hit 3");
    proc.writeI16BE(page + LIVES, 2);
    for (let i = 0; i < 50 && changes.length < 2; i++) await Bun.sleep(5);
    w.stop();
    expect(changes.map((c) => [c.index, c.old, c.new])).toEqual([[0, 100, 97], [1, 3, 2]]);
  });

  test("an endian that is neither little nor big is a RangeError before any write", async () => {
    const bad = { endian: "middle" } as unknown as { endian: "big" };
    const before = await state();
    expect(() => freeze(proc, page + HEALTH, "u32", 1, bad)).toThrow(RangeError);
    expect(() => watch(proc, [page + HEALTH], bad)).toThrow(RangeError);
    try {
      await scan(proc, "u32", 1, { within: within(), ...bad });
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(RangeError);
      expect((e as Error).message).toContain("middle");
    }
    expect(await state()).toEqual(before);
  });

  test("bad values and endians are named in the message, whatever they are", async () => {
    const before = await state();
    expect(() => proc.writeF32BE(page + SPEED, "1.5" as never)).toThrow(/value must be a number \(got "1\.5"\)/);
    expect(() => proc.writeF64BE(page + SPEED, null as never)).toThrow(/value must be a number \(got null\)/);
    // An endian whose toString throws: still our RangeError, not the object's error.
    const odd = { toString: () => { throw new Error("not me"); } };
    expect(() => freeze(proc, page + HEALTH, "u32", 1, { endian: odd as never })).toThrow(/endian must be "little" or "big" \(got an object\)/);
    expect(await state()).toEqual(before);
  });

  test("getValue and setValue take the byte order", () => {
    const dv = new DataView(new ArrayBuffer(8));
    setValue(dv, 0, "u32", 0x11223344, false);
    expect([...new Uint8Array(dv.buffer, 0, 4)]).toEqual([0x11, 0x22, 0x33, 0x44]);
    expect(getValue(dv, 0, "u32", false)).toBe(0x11223344);
    expect(getValue(dv, 0, "u32")).toBe(0x44332211);
  });
});

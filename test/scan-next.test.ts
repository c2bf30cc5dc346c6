/**
 * Next scans against a real target: every query, on planted values that the
 * target changes between steps; undo; previous values; text queries; the
 * "int" mode, strings and bytes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Process } from "../src/process.ts";
import { parseQuery, scan } from "../src/scan/index.ts";
import { Target } from "./helpers/target.ts";

let t: Target;
let proc: Process;
let r: number;
const SIZE = 1 << 16;
const within = (): [number, number] => [r, r + SIZE];

beforeAll(async () => {
  t = await Target.start();
  proc = new Process(t.pid);
  r = await t.map(SIZE);
});
afterAll(() => t.kill());

function i32(...values: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(values).buffer);
}

/** Six i32 slots at r + 0x100, r + 0x200, … */
const slot = (k: number) => r + 0x100 * (k + 1);

async function setSlots(values: number[]): Promise<void> {
  for (let k = 0; k < values.length; k++) await t.write(slot(k), i32(values[k]!));
}

async function startAt(values: number[]) {
  await t.cmd(`fill ${r.toString(16)} ${SIZE.toString(16)} 0`);
  await setSlots(values);
  // 7 is never elsewhere in the zeroed region: a first scan for 1..100 gives exactly the slots.
  return scan(proc, "i32", { min: 1, max: 100 }, { within: within() });
}

const found = (s: { addresses(): Float64Array }) => Array.from(s.addresses()).map((a) => (a - r) / 0x100 - 1);

describe("each next-scan query", () => {
  const cases: [string, unknown, number[], number[]][] = [
    // name, query, values after, slots kept
    ["= v", 20, [10, 20, 20, 40, 50, 60], [1, 2]],
    ["{ eq }", { eq: 20 }, [10, 20, 20, 40, 50, 60], [1, 2]],
    ["!= v", { ne: 20 }, [10, 20, 20, 40, 50, 60], [0, 3, 4, 5]],
    ["> v", { gt: 40 }, [10, 20, 30, 40, 50, 60], [4, 5]],
    ["< v", { lt: 30 }, [10, 20, 30, 40, 50, 60], [0, 1]],
    ["range", { min: 20, max: 40 }, [10, 20, 30, 40, 50, 60], [1, 2, 3]],
    ["changed", "changed", [10, 21, 30, 39, 50, 60], [1, 3]],
    ["unchanged", "unchanged", [10, 21, 30, 39, 50, 60], [0, 2, 4, 5]],
    ["increased", "increased", [11, 20, 29, 40, 55, 60], [0, 4]],
    ["decreased", "decreased", [11, 20, 29, 40, 55, 60], [2]],
    ["increasedBy", { increasedBy: 5 }, [15, 25, 31, 40, 45, 65], [0, 1, 5]],
    ["decreasedBy", { decreasedBy: 5 }, [15, 25, 31, 35, 45, 65], [3, 4]],
    ["text > 45", "> 45", [10, 20, 30, 40, 50, 60], [4, 5]],
    ["text +", "+", [11, 20, 30, 40, 50, 60], [0]],
    ["text + 5", "+ 5", [15, 20, 30, 40, 50, 60], [0]],
    ["text - 5", "- 5", [5, 20, 30, 40, 50, 60], [0]],
    ["text !=", "!=", [5, 20, 30, 40, 50, 60], [0]],
    ["text =", "=", [5, 20, 30, 40, 50, 60], [1, 2, 3, 4, 5]],
    ["text range", "25..35", [5, 20, 30, 40, 50, 60], [2]],
  ];
  for (const [name, query, after, kept] of cases) {
    test(name, async () => {
      const s = await startAt([10, 20, 30, 40, 50, 60]);
      expect(found(s)).toEqual([0, 1, 2, 3, 4, 5]);
      await setSlots(after);
      await s.next(query as "changed");
      expect(found(s)).toEqual(kept);
      expect(s.count).toBe(kept.length);
      const matches = [...s];
      expect(matches.map((m) => m.value)).toEqual(kept.map((k) => after[k]!));
      expect(matches.map((m) => m.previous)).toEqual(kept.map((k) => [10, 20, 30, 40, 50, 60][k]!));
    });
  }
});

test("a chain of steps, undo, and previous values from the step before", async () => {
  await t.cmd(`fill ${r.toString(16)} ${SIZE.toString(16)} 0`);
  await setSlots([100, 100, 100]);
  const s = await scan(proc, "i32", "unknown", { within: within() });
  expect(s.count).toBe(SIZE / 4);
  expect(s.steps).toBe(1);
  await setSlots([90, 100, 110]);
  await s.next("changed");
  expect(found(s)).toEqual([0, 2]);
  expect([...s].map((m) => [m.value, m.previous])).toEqual([[90, 100], [110, 100]]);
  await setSlots([80, 100, 110]);
  await s.next("decreased");
  expect(found(s)).toEqual([0]);
  expect([...s].map((m) => [m.value, m.previous])).toEqual([[80, 90]]);
  expect(s.steps).toBe(3);
  expect(s.undo()).toBe(true);
  expect(found(s)).toEqual([0, 2]);
  await s.next("unchanged");
  expect(found(s)).toEqual([2]);
  expect(s.undo()).toBe(true);
  expect(s.undo()).toBe(true);
  expect(s.count).toBe(SIZE / 4);
  expect(s.undo()).toBe(false);
  // The scan is usable again from the snapshot.
  await s.next({ eq: 110 });
  expect(found(s)).toEqual([2]);
});

test("unaligned next scans", async () => {
  await t.cmd(`fill ${r.toString(16)} ${SIZE.toString(16)} 0`);
  await t.write(r + 0x333, i32(1234));
  const s = await scan(proc, "i32", 1234, { within: within(), align: 1 });
  expect(Array.from(s.addresses())).toEqual([r + 0x333]);
  await t.write(r + 0x333, i32(1240));
  await s.next({ increasedBy: 6 });
  expect(Array.from(s.addresses())).toEqual([r + 0x333]);
  expect([...s][0]!.value).toBe(1240);
});

test("float next scans with tolerance", async () => {
  const f = (v: number) => new Uint8Array(new Float32Array([v]).buffer);
  await t.cmd(`fill ${r.toString(16)} ${SIZE.toString(16)} 0`);
  await t.write(r + 16, f(1.1));
  await t.write(r + 32, f(2.2));
  const s = await scan(proc, "f32", { min: 1, max: 3 }, { within: within() });
  expect(s.count).toBe(2);
  await t.write(r + 16, f(1.1 + 0.1));
  await t.write(r + 32, f(2.2 + 0.3));
  await s.next({ increasedBy: 0.1 }); // f32 arithmetic is inexact: a few units in the last place are allowed
  expect(Array.from(s.addresses())).toEqual([r + 16]);
  s.undo();
  await s.next({ increasedBy: 0.2 }, { tolerance: 0.15 });
  expect(Array.from(s.addresses())).toEqual([r + 16, r + 32]);
  s.undo();
  await s.next("2.5");
  expect(Array.from(s.addresses())).toEqual([r + 32]);
});

test("int mode, strings and bytes narrow too", async () => {
  await t.cmd(`fill ${r.toString(16)} ${SIZE.toString(16)} 0`);
  await t.write(r + 8, i32(77));
  const s = await scan(proc, "int", 77, { within: within() });
  expect(s.count).toBe(1);
  expect([...s][0]!.readings!.map((m) => m.type)).toEqual(["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64"]);
  await t.write(r + 8, i32(77 + 256));
  await s.next("changed"); // the low byte, 77, did not change
  expect([...s][0]!.readings!.map((m) => [m.type, m.value, m.previous])).toEqual([
    ["i16", 333, 77], ["u16", 333, 77], ["i32", 333, 77], ["u32", 333, 77], ["i64", 333n, 77n], ["u64", 333n, 77n],
  ]);
  await s.next(333);
  expect(s.count).toBe(1);
  expect([...s][0]!.readings!.map((m) => m.type)).toEqual(["i16", "u16", "i32", "u32", "i64", "u64"]);

  await t.write(r + 100, new TextEncoder().encode("score"));
  await t.write(r + 200, new TextEncoder().encode("score"));
  const str = await scan(proc, "string", "score", { within: within() });
  expect(str.count).toBe(2);
  await t.write(r + 200, new TextEncoder().encode("scare"));
  await str.next("unchanged");
  expect(Array.from(str.addresses())).toEqual([r + 100]);
  str.undo();
  await str.next("scare");
  expect(Array.from(str.addresses())).toEqual([r + 200]);
  expect([...str].map((m) => [m.value, m.previous])).toEqual([["scare", "score"]]);

  const bytes = await scan(proc, "bytes", "73 63 ?? 72 65", { within: within() });
  expect(bytes.count).toBe(2);
  await bytes.next("73 63 6f 72 65");
  expect(Array.from(bytes.addresses())).toEqual([r + 100]);
  await expect(bytes.next("73 63")).rejects.toThrow(RangeError);
});

test("next-scan query errors", async () => {
  const s = await scan(proc, "i32", 1, { within: within() });
  await expect(s.next("unknown" as "changed")).rejects.toThrow(TypeError);
  await expect(s.next({ bogus: 1 } as unknown as "changed")).rejects.toThrow(TypeError);
  await expect(s.next("what?")).rejects.toThrow(SyntaxError);
});

describe("parseQuery", () => {
  test("scanmem-style text", () => {
    expect(parseQuery("5")).toEqual({ eq: 5, tolerance: 0.5 });
    expect(parseQuery("-5")).toEqual({ eq: -5, tolerance: 0.5 });
    expect(parseQuery("0x1f")).toEqual({ eq: 31 });
    expect(parseQuery("3.14")).toEqual({ eq: 3.14, tolerance: 0.005 });
    expect(parseQuery("1..10")).toEqual({ min: 1, max: 10 });
    expect(parseQuery("-1.5..2.5")).toEqual({ min: -1.5, max: 2.5 });
    expect(parseQuery("> 5")).toEqual({ gt: 5 });
    expect(parseQuery("<5")).toEqual({ lt: 5 });
    expect(parseQuery("!= 5")).toEqual({ ne: 5, tolerance: 0.5 });
    expect(parseQuery("+ 5")).toEqual({ increasedBy: 5 });
    expect(parseQuery("- 5")).toEqual({ decreasedBy: 5 });
    expect(parseQuery("?")).toBe("unknown");
    expect(parseQuery(">")).toBe("increased");
    expect(parseQuery("<")).toBe("decreased");
    expect(parseQuery("=")).toBe("unchanged");
    expect(parseQuery("!=")).toBe("changed");
    expect(parseQuery("18446744073709551615")).toEqual({ eq: 18446744073709551615n, tolerance: 0.5 });
    expect(() => parseQuery("five")).toThrow(SyntaxError);
    expect(() => parseQuery("1..")).toThrow(SyntaxError);
  });
});

describe("review fixes", () => {
  test("f32 bounds are rounded to f32 like the stored values: ranges include them, gt/lt exclude them", async () => {
    await t.cmd(`fill ${r.toString(16)} ${SIZE.toString(16)} 0`);
    await t.write(r + 0x10, new Uint8Array(new Float32Array([0.2, 0.1, 0.3]).buffer));
    const values = async (q: unknown) => [...(await scan(proc, "f32", q as never, { within: [r + 0x10, r + 0x1c] }))].map((m) => m.value);
    expect(await values({ min: 0.1, max: 0.2 })).toEqual([Math.fround(0.2), Math.fround(0.1)]);
    expect(await values({ gt: 0.1 })).toEqual([Math.fround(0.2), Math.fround(0.3)]);
    expect(await values({ lt: 0.3 })).toEqual([Math.fround(0.2), Math.fround(0.1)]);
  });

  test("int mode: a value that turns negative is still found by its new value", async () => {
    await t.cmd(`fill ${r.toString(16)} ${SIZE.toString(16)} 0`);
    await t.write(r + 0x40, Uint8Array.of(5, 0, 0, 0, 0, 0, 0, 0));
    const s = await scan(proc, "int", 5, { within: [r + 0x40, r + 0x48] });
    expect(s.count).toBe(1);
    await t.write(r + 0x40, new Uint8Array(8).fill(0xff));
    await s.next(-1); // -1 fits the signed readings only, as in scanmem
    expect([...s][0]!.readings!.map((m) => [m.type, m.value])).toEqual([["i8", -1], ["i16", -1], ["i32", -1], ["i64", -1n]]);
    s.undo();
    await s.next(255); // the unsigned 8-bit reading
    expect([...s][0]!.readings!.map((m) => [m.type, m.value])).toEqual([["u8", 255]]);
  });
});

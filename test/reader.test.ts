/**
 * RemoteReader / RemoteWriter: the zero-copy hot path.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RemoteReader, RemoteWriter } from "../src/index.ts";
import { Target } from "./helpers/target.ts";

let t: Target;
beforeAll(async () => {
  t = await Target.start();
});
afterAll(() => t.kill());

describe("RemoteReader", () => {
  test("returns the same views every call, with fresh data", async () => {
    const at = await t.map(t.info.page);
    const reader = new RemoteReader(t.pid, [
      { address: at, length: 4 },
      { address: at + 64, length: 8 },
    ]);
    const first = reader.read();
    expect(reader.completedCount).toBe(2);
    expect(reader.i32(0)).toBe(0);
    await t.write(at, Uint8Array.of(7, 0, 0, 0));
    await t.write(at + 64, new Uint8Array(new Float64Array([6.5]).buffer));
    const second = reader.read();
    expect(second).toBe(first);
    expect(second[0]).toBe(first[0]!);
    expect(reader.i32(0)).toBe(7);
    expect(reader.f64(1)).toBe(6.5);
    expect([...reader.views[0]!]).toEqual([7, 0, 0, 0]);
  });

  test("ranges in one window are read as one span, views in the given order", () => {
    const ranges = Array.from({ length: 200 }, (_, i) => ({ address: t.info.data + 16000 - i * 80, length: 3 }));
    const reader = new RemoteReader(t.pid, ranges);
    reader.read();
    expect(reader.completedCount).toBe(200);
    ranges.forEach((r, i) => {
      const off = r.address - t.info.data;
      expect([...reader.views[i]!]).toEqual([off & 0xff, (off + 1) & 0xff, (off + 2) & 0xff]);
    });
    // All views share one arena.
    expect(new Set(reader.views.map((v) => v.buffer)).size).toBe(1);
  });

  test("a span that faults falls back to its ranges one by one: coalescing loses nothing", () => {
    // Two ranges within one coalescing window, around an unreadable page: the span faults half-way.
    const good = t.info.guard + t.info.page - 16;
    const bad = t.info.guard + t.info.page + 16;
    const beyond = t.info.guard + t.info.page - 4; // crosses into the bad page
    const reader = new RemoteReader(t.pid, [
      { address: good, length: 8 },
      { address: bad, length: 8 },
      { address: beyond, length: 8 },
      { address: t.info.data, length: 4 },
    ]);
    reader.read();
    expect([...reader.completed]).toEqual([1, 0, 0, 1]);
    expect(reader.completedCount).toBe(2);
    expect([...reader.views[0]!]).toEqual(new Array(8).fill(0x47));
    expect([...reader.views[3]!]).toEqual([0, 1, 2, 3]);
  });

  test("a first span that faults at its first byte does not stop the others", () => {
    const reader = new RemoteReader(t.pid, [
      { address: t.info.guard + t.info.page, length: 8 },
      { address: t.info.data + 8, length: 4 },
    ], { coalesce: -1 });
    reader.read();
    expect([...reader.completed]).toEqual([0, 1]);
    expect(reader.u32(1)).toBe(0x0b0a0908);
  });

  test("a span across a one-page hole resumes after the hole: every readable range is read", async () => {
    const base = await t.map(3 * t.info.page);
    await t.protect(base + t.info.page, t.info.page, 0); // the middle page is unreadable
    await t.cmd(`fill ${base.toString(16)} ${t.info.page.toString(16)} 11`);
    await t.cmd(`fill ${(base + 2 * t.info.page).toString(16)} ${t.info.page.toString(16)} 22`);
    // 64-byte ranges every 64 bytes over all three pages, coalesced (default) into one span.
    const ranges = Array.from({ length: (3 * t.info.page) / 64 }, (_, i) => ({ address: base + i * 64, length: 64 }));
    ranges.push({ address: base + t.info.page - 8, length: 16 }); // crosses into the hole
    const reader = new RemoteReader(t.pid, ranges);
    for (let round = 0; round < 2; round++) {
      reader.read();
      const perPage = t.info.page / 64;
      ranges.forEach((r, i) => {
        const inHole = r.address + r.length > base + t.info.page && r.address < base + 2 * t.info.page;
        expect(reader.completed[i]).toBe(inHole ? 0 : 1);
      });
      expect(reader.completedCount).toBe(2 * perPage);
      expect(reader.u8(0)).toBe(0x11);
      expect(reader.u8(2 * perPage)).toBe(0x22);
      expect(reader.u8(3 * perPage - 1, 63)).toBe(0x22);
    }
  });

  test("completed follows the outcome of each read: complete, partial, complete again", async () => {
    const page = await t.map(t.info.page);
    const reader = new RemoteReader(t.pid, [{ address: t.info.data, length: 4 }, { address: page, length: 4 }], { coalesce: -1 });
    reader.read();
    expect([...reader.completed]).toEqual([1, 1]);
    await t.protect(page, t.info.page, 0);
    reader.read();
    expect([...reader.completed]).toEqual([1, 0]);
    expect(reader.completedCount).toBe(1);
    await t.protect(page, t.info.page, 3);
    reader.read();
    expect([...reader.completed]).toEqual([1, 1]);
    expect(reader.completedCount).toBe(2);
  });

  test("typed accessors refuse an index or offset outside the ranges", () => {
    const reader = new RemoteReader(t.pid, [{ address: t.info.data, length: 8 }, { address: t.info.data + 8, length: 8 }]);
    reader.read();
    expect(reader.u32(1, 4)).toBe(0x0f0e0d0c);
    expect(() => reader.i32(2)).toThrow(/range index 2/);
    expect(() => reader.i32(-1)).toThrow(RangeError);
    expect(() => reader.u32(0, 6)).toThrow(/outside range 0/);
    expect(() => reader.f64(0, 0.5)).toThrow(RangeError);
  });

  test("more than IOV_MAX spans", () => {
    const ranges = Array.from({ length: 3000 }, (_, i) => ({ address: t.info.data + ((i * 4) % t.info.dataSize), length: 2 }));
    const reader = new RemoteReader(t.pid, ranges, { coalesce: -1 });
    reader.read();
    expect(reader.completedCount).toBe(3000);
    ranges.forEach((r, i) => expect(reader.u8(i)).toBe((r.address - t.info.data) & 0xff));
  });

  test("the target exiting makes read() throw ESRCH", async () => {
    const other = await Target.start();
    const reader = new RemoteReader(other.pid, [{ address: other.info.data, length: 4 }]);
    reader.read();
    await other.exit();
    expect(() => reader.read()).toThrow(expect.objectContaining({ code: "ESRCH" }));
  });

  test("bad ranges are refused at construction", () => {
    expect(() => new RemoteReader(t.pid, [{ address: -1, length: 4 }])).toThrow(/ranges\[0\]\.address/);
    expect(() => new RemoteReader(t.pid, [{ address: 0, length: 1.5 }])).toThrow(/ranges\[0\]\.length/);
    expect(() => new RemoteReader(t.pid, [], { coalesce: 1.5 })).toThrow(RangeError);
  });
});

describe("RemoteWriter", () => {
  test("writes every range, never the gaps between them", async () => {
    const at = await t.map(t.info.page);
    await t.write(at, new Uint8Array(32).fill(0xaa));
    const writer = new RemoteWriter(t.pid, [
      { address: at + 2, length: 2 },
      { address: at + 8, length: 4 },
      { address: at + 12, length: 1 }, // touches the previous range: merged
    ]);
    writer.views[0]!.set([1, 2]);
    writer.data.setInt32(writer.offsetOf(1), -1, true);
    writer.views[2]![0] = 5;
    expect(writer.write()).toBe(3);
    const seen = await t.read(at, 16);
    expect([...seen]).toEqual([0xaa, 0xaa, 1, 2, 0xaa, 0xaa, 0xaa, 0xaa, 0xff, 0xff, 0xff, 0xff, 5, 0xaa, 0xaa, 0xaa]);
  });

  test("keeps the order of overlapping ranges: the later one wins", async () => {
    const at = await t.map(t.info.page);
    const writer = new RemoteWriter(t.pid, [
      { address: at, length: 4 },
      { address: at + 2, length: 4 },
    ]);
    writer.views[0]!.set([1, 1, 1, 1]);
    writer.views[1]!.set([2, 2, 2, 2]);
    writer.write();
    expect([...(await t.read(at, 6))]).toEqual([1, 1, 2, 2, 2, 2]);
  });

  test("a read-only range is reported, the others written", async () => {
    const at = await t.map(t.info.page);
    const writer = new RemoteWriter(t.pid, [
      { address: t.info.ro, length: 4 },
      { address: at, length: 4 },
    ]);
    writer.views[1]!.set([4, 3, 2, 1]);
    expect(writer.write()).toBe(1);
    expect([...writer.completed]).toEqual([0, 1]);
    expect([...(await t.read(at, 4))]).toEqual([4, 3, 2, 1]);
  });
});

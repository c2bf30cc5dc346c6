/**
 * Property tests: the scanner against a plain reference implementation, on
 * random data planted in a region of a real target, for every type and query,
 * aligned and unaligned, on the main thread and on Workers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Process } from "../src/process.ts";
import { scan, type Scan } from "../src/scan/index.ts";
import { VALUE_SIZE, type ValueType } from "../src/types.ts";
import { Target } from "./helpers/target.ts";

const TYPES: ValueType[] = ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64"];
// Over two 1 MiB chunks, so that scans with `threads` run several tasks on Workers.
const SIZE = (1 << 20) + 4096 * 3;
const NEXT_SIZE = (1 << 20) + 4096 * 2;

let t: Target;
let proc: Process;
let base: number;

/** xorshift32, seeded: failures are reproducible. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Random data built from a few byte values, so that equal values recur. */
function randomData(seed: number, size = SIZE): Uint8Array {
  const r = rng(seed);
  const data = new Uint8Array(size);
  const alphabet = [0, 1, 2, 0xff, 0x7f, 0x80, 0x3f, 0x40];
  for (let i = 0; i < size; i++) data[i] = r() < 0.5 ? alphabet[Math.floor(r() * 2)]! : alphabet[Math.floor(r() * alphabet.length)]!;
  return data;
}

function get(dv: DataView, off: number, type: ValueType): number | bigint {
  switch (type) {
    case "i8": return dv.getInt8(off);
    case "u8": return dv.getUint8(off);
    case "i16": return dv.getInt16(off, true);
    case "u16": return dv.getUint16(off, true);
    case "i32": return dv.getInt32(off, true);
    case "u32": return dv.getUint32(off, true);
    case "i64": return dv.getBigInt64(off, true);
    case "u64": return dv.getBigUint64(off, true);
    case "f32": return dv.getFloat32(off, true);
    case "f64": return dv.getFloat64(off, true);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, off: number, size: number): boolean {
  for (let i = 0; i < size; i++) if (a[off + i] !== b[off + i]) return false;
  return true;
}

/** The reference: every offset, a plain predicate. */
function reference(data: Uint8Array, type: ValueType, align: number, pred: (v: number | bigint, off: number) => boolean): number[] {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const size = VALUE_SIZE[type];
  const out: number[] = [];
  for (let off = 0; off + size <= data.length; off += align) if (pred(get(dv, off, type), off)) out.push(base + off);
  return out;
}

async function plant(data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length; off += 256 << 10) await t.write(base + off, data.subarray(off, Math.min(data.length, off + (256 << 10))));
}

function show(query: unknown): string {
  return JSON.stringify(query, (_, v) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(query);
}

/** Compares match addresses with the reference, reporting the first difference (fast on millions). */
function expectSame(s: Scan, want: number[], what: unknown): void {
  const got = s.addresses();
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  const around = (a: ArrayLike<number>) => Array.from({ length: Math.min(3, Math.max(0, a.length - i)) }, (_, k) => a[i + k]! - base);
  expect({ what, count: s.count, length: got.length, firstDifference: around(got) }).toEqual({ what, count: want.length, length: want.length, firstDifference: around(want) });
}

beforeAll(async () => {
  t = await Target.start();
  proc = new Process(t.pid);
  base = await t.map(SIZE);
});
afterAll(() => t.kill());

function pick(data: Uint8Array, type: ValueType, r: () => number): number | bigint {
  const dv = new DataView(data.buffer);
  const size = VALUE_SIZE[type];
  for (;;) {
    const off = Math.floor(r() * (data.length / size)) * size;
    const v = get(dv, off, type);
    if (typeof v === "number" && Number.isNaN(v)) continue;
    return v;
  }
}

const float = (t: ValueType) => t === "f32" || t === "f64";

describe("first scans match the reference", () => {
  for (const type of TYPES) {
    test(type, async () => {
      const data = randomData(TYPES.indexOf(type) + 1);
      await plant(data);
      const r = rng(99 + TYPES.indexOf(type));
      const size = VALUE_SIZE[type];
      const within: [number, number] = [base, base + SIZE];
      for (const align of [size, 1]) {
        for (const threads of [0, 2]) {
          const a = pick(data, type, r);
          const b = pick(data, type, r);
          const [min, max] = a < b ? [a, b] : [b, a];
          const cmpA = type === "f32" ? Math.fround(Number(a)) : a;
          const cases: [unknown, (v: number | bigint) => boolean][] = [
            [a, (v) => v === cmpA || (float(type) && v === 0 && cmpA === 0)],
            [{ min, max }, (v) => v >= min && v <= max],
            [{ gt: a }, (v) => v > a],
            [{ lt: a }, (v) => v < a],
            [{ ne: a }, (v) => !(v === cmpA || (float(type) && v === 0 && cmpA === 0))],
          ];
          for (const [query, pred] of cases) {
            const s = await scan(proc, type, query as number, { within, align, threads });
            const want = reference(data, type, align, pred);
            expectSame(s, want, { type, align, threads, query: show(query) });
          }
        }
      }
    });
  }
});

describe("next scans match the reference", () => {
  for (const type of TYPES) {
    test(type, async () => {
      const seed = 31 + TYPES.indexOf(type);
      const before = randomData(seed, NEXT_SIZE);
      await plant(before);
      const r = rng(seed);
      const size = VALUE_SIZE[type];
      const within: [number, number] = [base, base + NEXT_SIZE];
      const first = await scan(proc, type, "unknown", { within, threads: 0 });
      const full = await scan(proc, type, "unknown", { within, align: 1, threads: 2 });
      expect(first.count).toBe(Math.floor(NEXT_SIZE / size));
      expect(full.count).toBe(NEXT_SIZE - size + 1);
      // Change about one value in eight.
      const after = before.slice();
      const dvAfter = new DataView(after.buffer);
      for (let off = 0; off + 8 <= NEXT_SIZE; off += 8) {
        if (r() < 0.125) {
          if (float(type)) dvAfter.setFloat64(off, (r() - 0.5) * 100, true);
          else for (let k = 0; k < 8; k++) if (r() < 0.5) after[off + k] = (after[off + k]! + (r() < 0.5 ? 1 : 255)) & 0xff;
        }
      }
      await plant(after);
      const dvBefore = new DataView(before.buffer);
      const a = pick(after, type, r);
      const by: number | bigint = float(type) ? 0 : type.endsWith("64") ? 1n : 1;
      const cmpA = type === "f32" ? Math.fround(Number(a)) : a;
      const old = (off: number) => get(dvBefore, off, type);
      const ops: [unknown, (v: number | bigint, off: number) => boolean][] = [
        ["changed", (_v, off) => !sameBytes(before, after, off, size)],
        ["unchanged", (_v, off) => sameBytes(before, after, off, size)],
        ["increased", (v, off) => v > old(off)],
        ["decreased", (v, off) => v < old(off)],
        [a, (v) => v === cmpA || (float(type) && v === 0 && cmpA === 0)],
        [{ ne: a }, (v) => !(v === cmpA || (float(type) && v === 0 && cmpA === 0))],
        [{ gt: a }, (v) => v > a],
        [{ lt: a }, (v) => v < a],
      ];
      if (!float(type)) {
        // 32 and 64 bits wrap around, 8 and 16 bits do not (as scanmem's C arithmetic).
        const bits = size * 8;
        const wrap = (x: bigint) => (bits >= 32 ? BigInt.asUintN(bits, x) : x);
        const step = wrap(BigInt(by));
        ops.push([{ increasedBy: by }, (v, off) => wrap(BigInt(v) - BigInt(old(off))) === step]);
        ops.push([{ decreasedBy: by }, (v, off) => wrap(BigInt(old(off)) - BigInt(v)) === step]);
      } else {
        ops.push([{ increasedBy: 1, tolerance: 0.5 }, (v, off) => Math.abs((v as number) - (old(off) as number) - 1) <= 0.5]);
      }
      for (const [query, pred] of ops) {
        for (const [s, align] of [[first, size], [full, 1]] as const) {
          // From the snapshot.
          await s.next(query as "changed", { threads: align === 1 ? 2 : 0 });
          const want = reference(after, type, align, pred);
          expectSame(s, want, { type, align, query: show(query) });
          // Previous values come from the snapshot.
          const some = [...s].slice(0, 50);
          for (const m of some) {
            expect(m.previous).toEqual(get(dvBefore, m.address - base, type));
            expect(m.value).toEqual(get(dvAfter, m.address - base, type));
          }
          expect(s.undo()).toBe(true);
        }
      }
      // Next scans over match lists: first "unchanged" (most positions), then each op against the new data.
      await plant(before);
      for (const [s, align] of [[first, size], [full, 1]] as const) {
        await s.next("unchanged", { threads: 0 });
        expectSame(s, reference(before, type, align, () => true), { type, align, query: "unchanged" });
        await plant(after);
        for (const [query, pred] of ops) {
          await s.next(query as "changed", { threads: align === 1 ? 2 : 0 });
          expectSame(s, reference(after, type, align, pred), { type, align, query: show(query), from: "matches" });
          s.undo();
        }
        await plant(before);
        s.undo();
      }
    }, 30_000);
  }
});

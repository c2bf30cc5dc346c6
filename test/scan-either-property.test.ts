/**
 * Property tests of the either-sign types (`int`, `int8` … `int64`) and of
 * `+ n` / `- n` at each width, against a plain model of scanmem's rules:
 *
 * - each address has a signed and an unsigned reading per width;
 * - a query with values tries a reading only when every value fits its type,
 *   at every address still matching (any reading);
 * - a query against the old value tries only the readings that matched at
 *   the previous step, each against its own old value;
 * - `+ n` / `- n` wrap around at 32 and 64 bits and not at 8 and 16;
 * - `update` keeps every reading and refreshes its value.
 *
 * Random sequences of steps and writes on a guarded page, seeded: a failure
 * prints its seed, and `SCAN_SEED=n bun test test/scan-either-property.test.ts`
 * replays that sequence alone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Process } from "../src/process.ts";
import { EITHER_SIGN_READINGS, scan, type EitherSignType, type Scan } from "../src/scan/index.ts";
import { getValue, setValue, VALUE_SIZE, type ValueType } from "../src/types.ts";
import { Target } from "./helpers/target.ts";

let t: Target;
let proc: Process;
let page: number;
const PAGE = 4096;
/** The window scanned: the first 384 bytes of the page. */
const SIZE = 384;

beforeAll(async () => {
  t = await Target.start();
  proc = new Process(t.pid);
  page = await t.guardedPage();
});
afterAll(() => t.kill());

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes that make interesting integers at every width: zeros, all ones, sign bits, small values. */
function randomBytes(r: () => number, n: number): Uint8Array {
  const pool = [0x00, 0x00, 0x00, 0xff, 0xff, 0x80, 0x7f, 0x01, 0x02, 0x05, 0xfe, 0xaa];
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r() < 0.7 ? pool[Math.floor(r() * pool.length)]! : Math.floor(r() * 256);
  return out;
}

const BOUNDS = [0n, 1n, 2n, 5n, 126n, 127n, 128n, 133n, 255n, 256n, 32767n, 32768n, 65535n, 65536n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];

function randomValue(r: () => number, data: Uint8Array, readings: readonly ValueType[]): bigint {
  if (r() < 0.4) {
    // A value that is in memory, read some way.
    const type = readings[Math.floor(r() * readings.length)]!;
    const w = VALUE_SIZE[type];
    const off = Math.floor(r() * (SIZE - w + 1));
    return BigInt(getValue(new DataView(data.buffer), off, type));
  }
  const b = BOUNDS[Math.floor(r() * BOUNDS.length)]!;
  const v = b + BigInt(Math.floor(r() * 3) - 1);
  return r() < 0.4 ? -v : v;
}

const limits = (type: ValueType): [bigint, bigint] => {
  const bits = BigInt(VALUE_SIZE[type] * 8);
  return type[0] === "i" ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
};
const fits = (type: ValueType, v: bigint) => v >= limits(type)[0] && v <= limits(type)[1];
const num = (v: bigint): number | bigint => (v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v);

type Query = { text: string; values: bigint[]; test: (v: bigint, old: bigint, type: ValueType) => boolean; relative: boolean };

function randomQuery(r: () => number, data: Uint8Array, readings: readonly ValueType[], first: boolean): Query | "update" {
  const a = randomValue(r, data, readings);
  const b = randomValue(r, data, readings);
  const [lo, hi] = a <= b ? [a, b] : [b, a];
  const forms: (Query | "update")[] = [
    { text: `${a}`, values: [a], test: (v) => v === a, relative: false },
    { text: `!= ${a}`, values: [a], test: (v) => v !== a, relative: false },
    { text: `> ${a}`, values: [a], test: (v) => v > a, relative: false },
    { text: `< ${a}`, values: [a], test: (v) => v < a, relative: false },
    { text: `${lo}..${hi}`, values: [lo, hi], test: (v) => v >= lo && v <= hi, relative: false },
  ];
  if (!first) {
    const step = BigInt(Math.floor(r() * 5) + 1) * (r() < 0.2 ? 1n << BigInt(Math.floor(r() * 8) * 8) : 1n);
    const wrapDiff = (x: bigint, type: ValueType) => (VALUE_SIZE[type] >= 4 ? BigInt.asUintN(VALUE_SIZE[type] * 8, x) : x);
    const wrapStep = (type: ValueType) => (VALUE_SIZE[type] >= 4 ? BigInt.asUintN(VALUE_SIZE[type] * 8, step) : step);
    forms.push(
      { text: "changed", values: [], test: (v, o) => v !== o, relative: true },
      { text: "unchanged", values: [], test: (v, o) => v === o, relative: true },
      { text: "increased", values: [], test: (v, o) => v > o, relative: true },
      { text: "decreased", values: [], test: (v, o) => v < o, relative: true },
      { text: `+ ${step}`, values: [step], test: (v, o, type) => wrapDiff(v - o, type) === wrapStep(type), relative: true },
      { text: `- ${step}`, values: [step], test: (v, o, type) => wrapDiff(o - v, type) === wrapStep(type), relative: true },
      "update",
    );
  }
  return forms[Math.floor(r() * forms.length)]!;
}

/** The model: per address, the readings that match and their values. */
type Model = Map<number, Map<ValueType, bigint>>;

function modelFirst(data: Uint8Array, readings: readonly ValueType[], align: number, q: Query): Model {
  const dv = new DataView(data.buffer);
  const out: Model = new Map();
  for (let off = 0; off < SIZE; off++) {
    for (const type of readings) {
      const w = VALUE_SIZE[type];
      if (off + w > SIZE || off % (align || w) !== 0) continue;
      if (!q.values.every((x) => fits(type, x))) continue;
      const v = BigInt(getValue(dv, off, type));
      if (!q.test(v, 0n, type)) continue;
      let m = out.get(off);
      if (!m) out.set(off, (m = new Map()));
      m.set(type, v);
    }
  }
  return out;
}

function modelNext(model: Model, data: Uint8Array, readings: readonly ValueType[], align: number, q: Query | "update"): Model {
  const dv = new DataView(data.buffer);
  const out: Model = new Map();
  for (const [off, old] of model) {
    const m = new Map<ValueType, bigint>();
    for (const type of readings) {
      const w = VALUE_SIZE[type];
      if (off + w > SIZE || off % (align || w) !== 0) continue;
      const v = BigInt(getValue(dv, off, type));
      if (q === "update") {
        if (old.has(type)) m.set(type, v);
      } else if (q.relative) {
        if (old.has(type) && q.values.every((x) => fits(type, x)) && q.test(v, old.get(type)!, type)) m.set(type, v);
      } else if (q.values.every((x) => fits(type, x)) && q.test(v, 0n, type)) {
        m.set(type, v);
      }
    }
    if (m.size > 0) out.set(off, m);
  }
  return out;
}

function shown(s: Scan, base: number): [number, string[]][] {
  return [...s].map((m) => [m.address - base, m.readings!.map((x) => `${x.type}=${x.value}`)]);
}
function shownModel(model: Model, readings: readonly ValueType[]): [number, string[]][] {
  return [...model.keys()].sort((a, b) => a - b).map((off) => {
    const m = model.get(off)!;
    return [off, readings.filter((t) => m.has(t)).map((t) => `${t}=${num(m.get(t)!)}`)];
  });
}

/** Writes the bytes of `now` that differ from `before` (all of them without `before`), run by run: other pages stay untouched. */
async function plant(base: number, now: Uint8Array, before?: Uint8Array): Promise<void> {
  if (!before) return t.write(base, now);
  for (let i = 0; i < now.length; ) {
    if (now[i] === before[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < now.length && now[j] !== before[j]) j++;
    await t.write(base + i, now.subarray(i, j));
    i = j;
  }
}

const TYPES: (EitherSignType | "int")[] = ["int", "int8", "int16", "int32", "int64"];
const SEEDS = process.env.SCAN_SEED ? [Number(process.env.SCAN_SEED)] : Array.from({ length: 60 }, (_, i) => 1000 + i);

describe("either-sign types follow the model", () => {
  test(`${SEEDS.length} random sequences of first scans, next scans, writes and updates`, async () => {
    for (const seed of SEEDS) {
      const r = rng(seed);
      const type = TYPES[seed % TYPES.length]!;
      const readings = EITHER_SIGN_READINGS[type];
      let align = r() < 0.7 ? 1 : 0; // 0: natural alignment per width
      let data = randomBytes(r, SIZE);
      // One sequence in three: a fresh mapping whose second page is never touched (zeros a resident scan does not
      // read), scanned at every offset (with natural alignment, a value step there tries a few more candidates).
      const fresh = seed % 3 === 2 ? await t.map(2 * PAGE) : 0;
      if (fresh) align = 1;
      const base = fresh ? fresh + PAGE - SIZE / 2 : page;
      if (fresh) {
        data.fill(0, SIZE / 2);
        await plant(base, data.subarray(0, SIZE / 2));
      } else {
        await plant(base, data);
      }
      const options = { within: [base, base + SIZE] as [number, number], threads: 0, ...(align ? { align } : {}) };
      const firstQ = r() < 0.2 ? null : (randomQuery(r, data, readings, true) as Query);
      let s: Scan;
      let model: Model;
      const trail: string[] = [`seed ${seed} ${type} align ${align || "natural"}${fresh ? " fresh" : ""}`];
      if (firstQ === null) {
        s = await scan(proc, type, "unknown", options);
        model = modelFirst(data, readings, align, { text: "?", values: [], test: () => true, relative: false });
        trail.push("unknown");
      } else {
        s = await scan(proc, type, firstQ.text, options);
        model = modelFirst(data, readings, align, firstQ);
        trail.push(firstQ.text);
      }
      const check = () => {
        const ctx = trail.join(" → ");
        try {
          if (s.count <= 400) expect(shown(s, base)).toEqual(shownModel(model, readings));
          expect(s.count).toBe(model.size);
          expect(s.addresses().length).toBe(s.count);
        } catch (error) {
          throw new Error(`${ctx} (replay: SCAN_SEED=${seed})\n${(error as Error).message}`);
        }
      };
      check();
      for (let step = 0; step < 4 && model.size > 0; step++) {
        // Change some bytes, sometimes.
        if (r() < 0.7) {
          const before = data;
          data = data.slice();
          const n = 1 + Math.floor(r() * 24);
          for (let k = 0; k < n; k++) {
            const off = Math.floor(r() * SIZE);
            data[off] = r() < 0.5 ? (data[off]! + (r() < 0.5 ? 1 : 255)) & 0xff : randomBytes(r, 1)[0]!;
          }
          await plant(base, data, before);
          trail.push("write");
        }
        const q = randomQuery(r, data, readings, false);
        await s.next(q === "update" ? "update" : q.text, { threads: seed % 4 === 0 ? 2 : 0 }); // Workers now and then
        model = modelNext(model, data, readings, align, q);
        trail.push(q === "update" ? "update" : q.text);
        check();
      }
      if (fresh) await t.unmap(fresh, 2 * PAGE);
    }
  });
});

describe("+ n and - n at each width", () => {
  const FIXED: ValueType[] = ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64"];
  for (const type of FIXED) {
    test(`${type}: wraps at 32 and 64 bits, exact at 8 and 16`, async () => {
      const seed = 77 + FIXED.indexOf(type);
      const r = rng(seed);
      const w = VALUE_SIZE[type];
      const bits = w * 8;
      const [lo, hi] = limits(type);
      const slots = Math.floor(SIZE / w);
      for (let round = 0; round < 6; round++) {
        // Old values near the type's ends and the middle; one step for all of them, of either sign.
        const before = new DataView(new ArrayBuffer(SIZE));
        const after = new DataView(new ArrayBuffer(SIZE));
        const span = hi - lo + 1n;
        const stepMax = 1n << BigInt(Math.min(bits, 40) - 2);
        const step = BigInt(Math.floor(r() * Number(stepMax))) + 1n;
        const increase = r() < 0.5;
        const want: number[] = [];
        for (let i = 0; i < slots; i++) {
          const where = r();
          const old = where < 0.4 ? hi - BigInt(Math.floor(r() * 8)) : where < 0.8 ? lo + BigInt(Math.floor(r() * 8)) : lo + BigInt(Math.floor(r() * Number(span > 2n ** 40n ? 2n ** 40n : span)));
          const moved = r() < 0.8; // the others change by something else
          const target = moved ? (increase ? old + step : old - step) : old + 3n;
          const wrapped = ((target - lo) % span + span) % span + lo;
          setValue(before, i * w, type, w === 8 ? old : Number(old));
          setValue(after, i * w, type, w === 8 ? wrapped : Number(wrapped));
          const fitsWithoutWrap = target >= lo && target <= hi;
          const matches = moved ? bits >= 32 || fitsWithoutWrap : step === 3n && increase && (bits >= 32 || fitsWithoutWrap);
          if (matches) want.push(i * w);
        }
        await plant(page, new Uint8Array(before.buffer));
        const s = await scan(proc, type, "unknown", { within: [page, page + SIZE], threads: 0 });
        await plant(page, new Uint8Array(after.buffer));
        await s.next(increase ? { increasedBy: step } : { decreasedBy: step }, { threads: 0 });
        expect({ seed, round, step, increase, found: Array.from(s.addresses()).map((a) => a - page) }).toEqual({ seed, round, step, increase, found: want });
      }
    });
  }
});

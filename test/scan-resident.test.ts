/**
 * Resident-only scans against a C target with a multi-GiB untouched
 * reservation: results identical to a full read for every query kind, the
 * target's RSS unchanged, pages freed between scans taken as zeros without
 * being faulted back in, swapped pages read, and the fallback when pagemap
 * cannot be read.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { PAGE_SIZE } from "../src/ffi/libc.ts";
import { existingRuns, residentRuns } from "../src/pagemap.ts";
import { Process } from "../src/process.ts";
import { findPattern, scan, type Scan } from "../src/scan/index.ts";
import { buildSparse, Sparse } from "./helpers/sparse.ts";

const MiB = 1 << 20;
const RESERVE_MIB = 3072;
const WINDOW = 4 * MiB;
const P = PAGE_SIZE;

const built = buildSparse();
const skip = "reason" in built ? built.reason : null;
if (skip) console.log(`skipped resident-scan tests: ${skip}`);
afterAll(() => {
  if (!("reason" in built)) rmSync(built.dir, { recursive: true, force: true });
});
const exe = "reason" in built ? "" : built.exe;

let targets: Sparse[] = [];
afterEach(() => {
  for (const t of targets) t.kill();
  targets = [];
});
async function start(mib = RESERVE_MIB, prefix: string[] = []): Promise<Sparse> {
  const t = await Sparse.start(exe, mib, prefix);
  targets.push(t);
  return t;
}

/** Deterministic bytes, about a third of them zero. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x % 3 === 0 ? 0 : x >>> 24;
  }
  return out;
}

const le32 = (v: number) => new Uint8Array(new Int32Array([v]).buffer);
const f32 = (v: number) => new Uint8Array(new Float32Array([v]).buffer);
const i64 = (v: bigint) => new Uint8Array(new BigInt64Array([v]).buffer);

/** What the tests plant: [offset, bytes]. Pages 16–19 noise; values straddling into untouched pages; a value far out. */
const PLANTS: [number, Uint8Array][] = [
  [16 * P, noise(4 * P, 7)],
  [16 * P + 8, le32(123456)],
  [16 * P + 16, f32(1.5)],
  [16 * P + 24, i64(-2n)],
  [16 * P + 40, new TextEncoder().encode("hello")],
  [201 * P - 2, Uint8Array.of(0xab, 0xcd)], // end of page 200; page 201 untouched
  [600 * P, Uint8Array.of(0x01, 0x02)], // start of page 600; page 599 untouched
  [900 * P + 12, le32(123456)],
];

async function plant(t: Sparse, model: Uint8Array): Promise<void> {
  for (const [off, bytes] of PLANTS) {
    await t.write(off, bytes);
    model.set(bytes, off);
  }
}

/** Offsets and values of a scan's matches (relative to `base`), for comparing two targets. */
function listing(s: Scan, base: number): string[] {
  const out: string[] = [];
  for (const m of s) {
    const v = m.value instanceof Uint8Array ? Buffer.from(m.value).toString("hex") : String(m.value);
    const p = m.previous instanceof Uint8Array ? Buffer.from(m.previous).toString("hex") : String(m.previous);
    out.push(`${m.type}@${(m.address - base).toString(16)}=${v}<${p}`);
  }
  return out;
}
function offsets(s: Scan, base: number): Float64Array {
  return s.addresses().map((a) => a - base);
}

/** VmPTE (page tables) of a process, in KiB. */
function vmPte(pid: number): number {
  return Number(/VmPTE:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}

/** Whether page `index` of the reservation exists (present or swapped) now. */
function exists(t: Sparse, index: number): boolean {
  const { runs } = residentRuns(t.pid, [{ start: t.base + index * P, end: t.base + (index + 1) * P }]);
  return runs[0]!.length > 0;
}

describe.skipIf(skip !== null)("resident-only scans (C target, 3 GiB untouched reservation)", () => {
  let a: Sparse;
  let b: Sparse;
  let modelA: Uint8Array;
  let rssStart = 0;
  let pteStart = 0;

  beforeAll(async () => {
    // A: scanned resident-only. B: the same memory, scanned with full reads (resident: false) within the window.
    a = await Sparse.start(exe, RESERVE_MIB); // (not start(): these live for the whole group)
    b = await Sparse.start(exe, 32);
    modelA = new Uint8Array(WINDOW);
    await plant(a, modelA);
    await plant(b, new Uint8Array(WINDOW));
    rssStart = await a.rss();
    pteStart = vmPte(a.pid);
  });
  afterAll(() => {
    a?.kill();
    b?.kill();
  });

  const inA = () => ({ within: [a.base, a.base + WINDOW] as [number, number] });
  const inB = () => ({ within: [b.base, b.base + WINDOW] as [number, number], resident: false });

  test("the first scans read only what exists, and say so", async () => {
    const s = await scan(new Process(a.pid), "i32", 123456, { within: [a.base, a.base + a.size] });
    expect(Array.from(s.addresses())).toEqual([a.base + 16 * P + 8, a.base + 900 * P + 12]);
    expect(s.stats.selected).toBe(a.size);
    expect(["scan", "entries"]).toContain(s.stats.pagemap);
    // Pages 16–19, 200, 600 and 900 exist: 7 pages, read once (plus the 3-byte overlaps of the chunks).
    expect(s.stats.read).toBeLessThanOrEqual(7 * P + 64);
    expect(s.stats.read).toBeGreaterThanOrEqual(7 * P);
    expect(s.stats.untouched).toBe(a.size - 7 * P);
    const full = await scan(new Process(b.pid), "i32", 123456, inB());
    expect(full.stats.pagemap).toBe("off");
    expect(full.stats.read).toBeGreaterThanOrEqual(WINDOW);
  });

  const firstQueries: [string, Parameters<typeof scan>[1], Parameters<typeof scan>[2], Record<string, unknown>][] = [
    ["i32 = 123456", "i32", 123456, {}],
    ["i32 = 0", "i32", 0, {}],
    ["i32 in -5..5", "i32", { min: -5, max: 5 }, {}],
    ["u8 > 200", "u8", { gt: 200 }, {}],
    ["i16 != 0", "i16", { ne: 0 }, {}],
    ["f32 = 1.5", "f32", 1.5, {}],
    ["f32 = 0", "f32", 0, {}],
    ["f64 < 1", "f64", { lt: 1 }, {}],
    ["i64 = -2", "i64", -2n, {}],
    ["int = 0", "int", 0, {}],
    ["u32 align 1 = 0xcdab (straddles into an untouched page)", "u32", 0xcdab, { align: 1 }],
    ["u32 align 1 = 0x02010000 (straddles from an untouched page)", "u32", 0x02010000, { align: 1 }],
    ["u16 align 1 = 0", "u16", 0, { align: 1 }],
    ["bytes 'ab cd 00 00'", "bytes", "ab cd 00 00", {}],
    ["bytes '?? 00 ?0' (zeros match)", "bytes", "?? 00 ?0", {}],
    ["string hello", "string", "hello", {}],
  ];
  for (const [name, type, query, extra] of firstQueries) {
    test(`first scan, same results as a full read: ${name}`, async () => {
      const r = await scan(new Process(a.pid), type, query, { ...inA(), ...extra });
      const f = await scan(new Process(b.pid), type, query, { ...inB(), ...extra });
      expect(r.count).toBe(f.count);
      expect(Buffer.from(offsets(r, a.base).buffer)).toEqual(Buffer.from(offsets(f, b.base).buffer));
      if (r.count < 200_000) expect(listing(r, a.base)).toEqual(listing(f, b.base));
      expect(r.count).toBeGreaterThan(0);
    });
  }

  test("findPattern, same results as a full read, including a pattern that zeros satisfy", async () => {
    for (const pattern of ["ab cd 00 00", "00 01 02", "?? 00 00 ?? ?? 00"]) {
      const r = (await findPattern(new Process(a.pid), pattern, inA())).map((x) => x - a.base);
      const f = (await findPattern(new Process(b.pid), pattern, inB())).map((x) => x - b.base);
      expect(r.length).toBeGreaterThan(0);
      expect(r).toEqual(f);
    }
  });

  test("unknown, then changed/unchanged/= 0/increased: same as a full read, across pages freed and touched between", async () => {
    const ra = await scan(new Process(a.pid), "i32", "unknown", inA());
    const fb = await scan(new Process(b.pid), "i32", "unknown", inB());
    expect(ra.count).toBe(WINDOW / 4);
    expect(fb.count).toBe(WINDOW / 4);
    expect(ra.stats.read).toBeLessThan(8 * P + 64);
    // Between the scans: a never-touched page gets a value, a page with data is freed (reads as zeros), a value grows.
    for (const t of [a, b]) {
      await t.write(1000 * P + 4, le32(77));
      expect(await t.madvise("dontneed", 200 * P, P)).toBe(0);
      await t.write(16 * P + 8, le32(123457));
    }
    for (const query of ["changed", "unchanged", "= 0", "increased", "decreased", "> 100"] as const) {
      await ra.next(query);
      await fb.next(query);
      expect(ra.count).toBe(fb.count);
      expect(Buffer.from(offsets(ra, a.base).buffer)).toEqual(Buffer.from(offsets(fb, b.base).buffer));
      if (ra.count < 200_000) expect(listing(ra, a.base)).toEqual(listing(fb, b.base));
      if (query === "changed") {
        await ra.next("= 0");
        await fb.next("= 0");
        expect(listing(ra, a.base)).toEqual(listing(fb, b.base));
        expect(ra.count).toBeGreaterThan(0); // the freed page's values
        ra.undo();
        fb.undo();
      }
      ra.undo();
      fb.undo();
    }
    expect(exists(a, 200)).toBe(false); // the freed page was never faulted back in
    expect(exists(a, 201)).toBe(false);
  });

  test("the whole 3 GiB reservation: results as the memory holds them, and the target's RSS does not grow", async () => {
    // The changes the previous test makes, made again (they are idempotent) so that this test also runs alone.
    await a.write(1000 * P + 4, le32(77));
    expect(await a.madvise("dontneed", 200 * P, P)).toBe(0);
    await a.write(16 * P + 8, le32(123457));
    const proc = new Process(a.pid);
    const all = { within: [a.base, a.base + a.size] as [number, number] };
    const z = await scan(proc, "i32", 0, all);
    // Every aligned i32 outside the window is zero; inside, those the memory holds: the model with the previous test's changes.
    const windowNow = new Uint8Array(modelA);
    windowNow.fill(0, 200 * P, 201 * P);
    windowNow.set(le32(77), 1000 * P + 4);
    windowNow.set(le32(123457), 16 * P + 8);
    const dvNow = new DataView(windowNow.buffer);
    let zerosInWindow = 0;
    for (let o = 0; o < WINDOW; o += 4) if (dvNow.getInt32(o, true) === 0) zerosInWindow++;
    expect(z.count).toBe(zerosInWindow + (a.size - WINDOW) / 4);
    const u = await scan(proc, "i64", "unknown", all);
    expect(u.count).toBe(a.size / 8);
    await a.write(2048 * MiB + 8, i64(5n)); // touches one page far out
    await u.next("changed");
    expect(Array.from(u.addresses())).toEqual([a.base + 2048 * MiB + 8]);
    u.undo();
    await u.next("unchanged");
    expect(u.count).toBe(a.size / 8 - 1);
    const int0 = await scan(proc, "int", 0, all);
    expect(int0.count).toBeGreaterThan(a.size / 2);
    const grown = (await a.rss()) - rssStart;
    // Planted since the start: pages 1000 and 2 GiB + 8 (8 KiB); the window's full reads happened in B.
    expect(grown).toBeLessThan(1024);
    // Stronger than VmRSS (a read of an untouched page may map the shared zero page, which VmRSS does not count):
    // the page tables hold nothing but the pages written, per the pagemap entries, which show zero-page mappings too.
    const { runs } = residentRuns(a.pid, [{ start: a.base, end: a.base + a.size }], { entries: true });
    const pages: number[] = [];
    for (let i = 0; i < runs[0]!.length; i += 2) for (let x = runs[0]![i]!; x < runs[0]![i + 1]!; x += P) pages.push((x - a.base) / P);
    expect(pages).toEqual([16, 17, 18, 19, 600, 900, 1000, (2048 * MiB) / P]);
    expect(vmPte(a.pid) - pteStart).toBeLessThan(64);
  });

  test("pages freed between scans read as zeros in next scans, without being faulted back in", async () => {
    const t = await start(64);
    await t.write(5 * P + 8, le32(4242));
    await t.write(9 * P + 12, le32(4242));
    const proc = new Process(t.pid);
    const s = await scan(proc, "i32", 4242, { within: [t.base, t.base + t.size] });
    expect(s.count).toBe(2);
    expect(await t.madvise("dontneed", 5 * P, P)).toBe(0);
    expect(exists(t, 5)).toBe(false);
    await s.next("changed");
    expect(Array.from(s.addresses())).toEqual([t.base + 5 * P + 8]);
    expect([...s][0]!.value).toBe(0);
    expect(s.stats.untouched).toBe(4);
    expect(exists(t, 5)).toBe(false);
    await s.next(0);
    expect(s.count).toBe(1);
    expect(exists(t, 5)).toBe(false);
  });

  test("an unknown-value scan of a 5 GiB reservation keeps only what exists", async () => {
    const t = await start(5 * 1024);
    await t.write(7 * P, le32(31));
    const proc = new Process(t.pid);
    const u = await scan(proc, "i32", "unknown", { within: [t.base, t.base + t.size] });
    expect(u.count).toBe(t.size / 4);
    expect(u.stats.read).toBe(P);
    await t.write(7 * P, le32(32));
    await u.next("increased");
    expect(Array.from(u.addresses())).toEqual([t.base + 7 * P]);
    expect(exists(t, 8)).toBe(false);
  });

  test("a snapshot larger than one chunk of storage (64 MiB): values across the seam compare as anywhere else", async () => {
    const t = await start(80);
    await t.fill(0, t.size, 0x5a);
    const proc = new Process(t.pid);
    const within: [number, number] = [t.base, t.base + t.size];
    const seam = 64 * MiB; // the snapshot's data is stored from offset 0: its second chunk begins here
    const aligned = await scan(proc, "i32", "unknown", { within });
    const every = await scan(proc, "u32", "unknown", { within, align: 1 });
    expect(every.count).toBe(t.size - 3);
    await t.write(seam - 2, Uint8Array.of(0x11, 0x22, 0x33, 0x44));
    await t.write(8, le32(1));
    await t.write(t.size - 4, le32(2));
    await aligned.next("changed");
    expect(Array.from(aligned.addresses(), (a) => a - t.base)).toEqual([8, seam - 4, seam, t.size - 4]);
    const values = [...aligned].map((m) => [m.value, m.previous]);
    expect(values).toEqual([[1, 0x5a5a5a5a], [0x22115a5a, 0x5a5a5a5a], [0x5a5a4433, 0x5a5a5a5a], [2, 0x5a5a5a5a]]);
    await every.next("changed");
    const near = Array.from(every.addresses(), (a) => a - t.base).filter((o) => o > 64 && o < t.size - 64);
    expect(near).toEqual([seam - 5, seam - 4, seam - 3, seam - 2, seam - 1, seam, seam + 1]);
    const straddling = [...every].find((m) => m.address === t.base + seam - 2)!;
    expect(straddling.value).toBe(0x44332211);
    expect(straddling.previous).toBe(0x5a5a5a5a);
    every.undo();
    await every.next(0x44332211);
    expect(Array.from(every.addresses(), (a) => a - t.base)).toEqual([seam - 2]);
  });

  test("patterns longer than a page, across an untouched page: the same as a full read", async () => {
    const [x, y] = [await start(64), await start(64)];
    for (const t of [x, y]) {
      await t.write(10 * P + 4000, Uint8Array.of(0xaa));
      await t.write(12 * P + 100, Uint8Array.of(0xbb)); // page 11 stays untouched
    }
    const gap = 12 * P + 100 - (10 * P + 4000) - 1;
    const long = `aa ${"?? ".repeat(gap)}bb`;
    const zeros = `aa ${"00 ".repeat(gap)}bb`;
    for (const pattern of [long, zeros, `${"00 ".repeat(5000)}aa`]) {
      const r = (await findPattern(new Process(x.pid), pattern, { within: [x.base, x.base + 16 * P] })).map((v) => v - x.base);
      const f = (await findPattern(new Process(y.pid), pattern, { within: [y.base, y.base + 16 * P], resident: false })).map((v) => v - y.base);
      expect(r.length).toBeGreaterThan(0);
      expect(r).toEqual(f);
    }
    expect(exists(x, 11)).toBe(false);
    const s = await scan(new Process(x.pid), "bytes", long, { within: [x.base, x.base + 16 * P] });
    expect(Array.from(s.addresses())).toEqual([x.base + 10 * P + 4000]);
    expect(exists(x, 11)).toBe(false);
  });

  test("a swapped-out page is still read", async () => {
    const t = await start(64);
    await t.write(3 * P + 4, le32(9191));
    const r = await t.madvise("pageout", 3 * P, P);
    const entry = new BigUint64Array(1);
    const { openSync, readSync, closeSync } = await import("node:fs");
    const fd = openSync(`/proc/${t.pid}/pagemap`, "r");
    readSync(fd, new Uint8Array(entry.buffer), 0, 8, ((t.base + 3 * P) / P) * 8);
    closeSync(fd);
    const swapped = (entry[0]! >> 62n & 1n) === 1n;
    if (r !== 0 || !swapped) {
      console.log(`skipped the swapped-page check: ${r !== 0 ? "madvise(MADV_PAGEOUT) failed (Linux 5.4+)" : "MADV_PAGEOUT left the page in memory (no swap on this machine)"}`);
      return;
    }
    const s = await scan(new Process(t.pid), "i32", 9191, { within: [t.base, t.base + t.size] });
    expect(Array.from(s.addresses())).toEqual([t.base + 3 * P + 4]);
  });

  test("existingRuns: private anonymous pages by pagemap, everything else whole; resident: false everything", async () => {
    const t = await start(64);
    await t.write(2 * P, le32(1));
    const proc = new Process(t.pid);
    const maps = proc.maps();
    const range = [{ start: t.base, end: t.base + t.size }];
    const layout = existingRuns(t.pid, maps, range, true);
    expect(Array.from(layout.runs)).toEqual([t.base + 2 * P, t.base + 3 * P]);
    expect(layout.existing).toBe(P);
    expect(layout.selected).toBe(t.size);
    const all = existingRuns(t.pid, maps, range, false);
    expect(Array.from(all.runs)).toEqual([t.base, t.base + t.size]);
    expect(all.source).toBe("off");
    // The executable's own mappings are file-backed: read whole whether touched or not.
    const exeMap = maps.find((r) => r.kind === "file")!;
    const file = existingRuns(t.pid, maps, [{ start: exeMap.start, end: exeMap.end }], true);
    expect(Array.from(file.runs)).toEqual([exeMap.start, exeMap.end]);
  });
});

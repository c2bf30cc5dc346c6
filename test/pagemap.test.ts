/**
 * The pagemap module: its pure decoders on data captured from a live process,
 * the ioctl and the entries agreeing on a live process, and the fallback when
 * a target's pagemap cannot be opened.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { MAP, mmap, munmap, nativeBuffer, PAGE_SIZE, PROT } from "../src/ffi/libc.ts";
import { decodePageRegions, decodePagemapEntries, PAGEMAP_SCAN, residentRuns, zeroFilled } from "../src/pagemap.ts";
import { parseMaps } from "../src/maps.ts";
import { buildSparse } from "./helpers/sparse.ts";

const P = 4096;

describe("decoders (pure, on captured data)", () => {
  // /proc/PID/pagemap of 8 pages at 0x7fa9c936f000 of a C target (Linux 6.18, x86-64, read as root so PFNs show):
  // pages 1, 2 and 5 written (bit 63 present, bit 56 exclusively mapped), the others never touched.
  const BASE = 0x7fa9c936f000;
  const ENTRIES =
    "0000000000000000" + "14b8190000000081" + "21f4210000000081" + "0000000000000000" +
    "0000000000000000" + "20f4210000000081" + "0000000000000000" + "0000000000000000";
  // PAGEMAP_SCAN over the same 8 pages (anyof present|swapped): two struct page_region {start, end, categories}.
  const REGIONS = "000037c9a97f0000002037c9a97f00000800000000000000004037c9a97f0000005037c9a97f00000800000000000000";
  const words = (hex: string) => new Uint32Array(new Uint8Array(Buffer.from(hex, "hex")).buffer);

  test("entries: present pages become runs, merged where they touch", () => {
    const runs: number[] = [];
    decodePagemapEntries(words(ENTRIES), 8, BASE, P, runs);
    expect(runs).toEqual([BASE + 1 * P, BASE + 3 * P, BASE + 5 * P, BASE + 6 * P]);
  });

  test("entries: a swapped entry (bit 62) exists; bits 61 and 56 alone do not", () => {
    const e = new BigUint64Array([1n << 62n | 0x1234n << 5n | 1n, 1n << 61n, 1n << 56n, 1n << 63n]);
    const runs: number[] = [];
    decodePagemapEntries(new Uint32Array(e.buffer), 4, 0x1000, P, runs);
    expect(runs).toEqual([0x1000, 0x1000 + P, 0x1000 + 3 * P, 0x1000 + 4 * P]);
  });

  test("page regions: runs, and regions that touch are merged", () => {
    const runs: number[] = [];
    decodePageRegions(words(REGIONS), 2, runs);
    expect(runs).toEqual([BASE + 1 * P, BASE + 3 * P, BASE + 5 * P, BASE + 6 * P]);
    // A present region followed by a swapped one that starts where it ends: one run.
    const r = new BigUint64Array([0x10000n, 0x12000n, 8n, 0x12000n, 0x13000n, 16n]);
    const merged: number[] = [];
    decodePageRegions(new Uint32Array(r.buffer), 2, merged);
    expect(merged).toEqual([0x10000, 0x13000]);
  });

  test("PAGEMAP_SCAN is _IOWR('f', 16, struct pm_scan_arg) with a 96-byte argument", () => {
    expect(PAGEMAP_SCAN).toBe(0xc0606610);
  });

  test("zeroFilled: private anonymous kinds only", () => {
    const maps = parseMaps(
      [
        "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ",
        "7f0000001000-7f0000002000 rw-s 00000000 00:01 5                          /dev/zero (deleted)",
        "7f0000002000-7f0000003000 rw-p 00000000 00:00 0                          [heap]",
        "7f0000003000-7f0000004000 rw-p 00000000 00:00 0                          [anon:jit]",
        "7f0000004000-7f0000005000 rw-s 00000000 00:01 6                          [anon_shmem:ring]",
        "7f0000005000-7f0000006000 rw-p 00001000 08:01 42                         /usr/lib/libc.so.6",
        "7f0000006000-7f0000007000 rw-p 00000000 00:00 0                          [stack]",
        "7f0000007000-7f0000008000 rw-s 00000000 00:00 0 ",
        "7f0000008000-7f0000009000 rw-p 00000000 00:05 4                          /dev/zero",
      ].join("\n"),
    );
    expect(maps.map(zeroFilled)).toEqual([true, false, true, true, false, false, true, false, true]);
  });
});

describe("live", () => {
  test("the ioctl and the entries agree on this process's own pages; the zero page is no data", () => {
    const len = 64 * PAGE_SIZE;
    const a = mmap(len, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
    expect(a).toBeGreaterThan(0);
    try {
      const u8 = new Uint8Array(nativeBuffer(a, len));
      for (const p of [0, 1, 7, 40, 63]) u8[p * PAGE_SIZE + 5] = 1;
      const range = [{ start: a, end: a + len }];
      const viaEntries = residentRuns(process.pid, range, { entries: true });
      expect(viaEntries.source).toBe("entries");
      const written = [a, a + 2 * PAGE_SIZE, a + 7 * PAGE_SIZE, a + 8 * PAGE_SIZE, a + 40 * PAGE_SIZE, a + 41 * PAGE_SIZE, a + 63 * PAGE_SIZE, a + 64 * PAGE_SIZE];
      expect(Array.from(viaEntries.runs[0]!)).toEqual(written);
      const viaScan = residentRuns(process.pid, range);
      if (viaScan.source === "entries") {
        console.log("PAGEMAP_SCAN not supported here (Linux < 6.7): only the entries were checked");
        return;
      }
      expect(viaScan.source).toBe("scan");
      expect(Array.from(viaScan.runs[0]!)).toEqual(written);
      // A page only read maps the shared zero page: the ioctl tells it apart, the entries cannot.
      void u8[20 * PAGE_SIZE];
      expect(Array.from(residentRuns(process.pid, range).runs[0]!)).toEqual(written);
      // Unaligned ranges are clipped to what was asked.
      const part = residentRuns(process.pid, [{ start: a + 7 * PAGE_SIZE + 100, end: a + 40 * PAGE_SIZE + 8 }]);
      expect(Array.from(part.runs[0]!)).toEqual([a + 7 * PAGE_SIZE + 100, a + 8 * PAGE_SIZE, a + 40 * PAGE_SIZE, a + 40 * PAGE_SIZE + 8]);
    } finally {
      munmap(a, len);
    }
  });

  test("a pagemap that cannot be opened: every range whole, source none, with the reason", () => {
    const r = residentRuns(process.pid, [{ start: 0x10000, end: 0x20000 }], { path: "/proc/self/no-such-pagemap" });
    expect(r.source).toBe("none");
    expect(Array.from(r.runs[0]!)).toEqual([0x10000, 0x20000]);
    expect(r.reason).toContain("no-such-pagemap");
  });

  test("bad arguments are refused before any I/O", () => {
    expect(() => residentRuns(0, [])).toThrow(RangeError);
    expect(() => residentRuns(process.pid, [{ start: 10, end: 5 }])).toThrow(RangeError);
    expect(() => residentRuns(process.pid, [{ start: 0.5, end: 5 }])).toThrow(RangeError);
    // Not arrays, not objects: a TypeError that names the argument, not the engine's "null is not an object".
    expect(() => residentRuns(process.pid, null as never)).toThrow(/ranges must be an array .*got null/);
    expect(() => residentRuns(process.pid, [null] as never)).toThrow(/ranges\[0\] must be an object .*got null/);
    expect(() => residentRuns(process.pid, [{ start: 0, end: 4096 }], 5 as never)).toThrow(/options must be an object \(got 5\)/);
    expect(residentRuns(process.pid, [], null as never).runs).toEqual([]);
  });
});

const built = buildSparse();
afterAll(() => {
  if (!("reason" in built)) rmSync(built.dir, { recursive: true, force: true });
});
const unshareReason =
  "reason" in built ? built.reason
  : process.getuid?.() !== 0 ? "needs root, to mount over /proc/PID/pagemap in a private mount namespace"
  : spawnSync("unshare", ["--version"]).status !== 0 ? "needs unshare (util-linux)"
  : null;
if (unshareReason) console.log(`skipped the unreadable-pagemap scan test: ${unshareReason}`);

test.skipIf(unshareReason !== null)("a target whose pagemap cannot be opened: scans read everything, find the same, and say so", () => {
  const exe = (built as { exe: string }).exe;
  const script = new URL("./fixtures/no-pagemap.ts", import.meta.url).pathname;
  const run = spawnSync("unshare", ["-m", "--propagation", "private", process.execPath, script, exe], { encoding: "utf8" });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  const out = JSON.parse(run.stdout.trim()) as {
    found: number[]; stats: { selected: number; read: number; untouched: number; pagemap: string; reason?: string };
    zeros: number; nextStats: { pagemap: string; read: number }; size: number;
  };
  expect(out.found).toEqual([3 * P + 4]);
  expect(out.stats.pagemap).toBe("none");
  expect(out.stats.reason).toContain("pagemap");
  expect(out.stats.untouched).toBe(0);
  expect(out.stats.read).toBeGreaterThanOrEqual(out.size); // everything, once
  expect(out.stats.read).toBeLessThan(out.size + 64 * 1024);
  expect(out.zeros).toBe(out.size / 4 - 1);
  expect(out.nextStats.pagemap).toBe("none");
}, 30_000);

/**
 * Scans of a live process: regions that fault or vanish mid-scan, the target
 * exiting mid-scan, abort, progress, the event loop kept free, and the Worker
 * file found when the package is imported from elsewhere.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcessVmError } from "../src/errors.ts";
import { Process } from "../src/process.ts";
import { scan, type Scan } from "../src/scan/index.ts";
import { Target } from "./helpers/target.ts";

const MiB = 1 << 20;
const MAGIC = 0x7e57ab1e;
const magic = () => new Uint8Array(new Uint32Array([MAGIC]).buffer);

let t: Target | undefined;
/** Writes every page of `[address, address + length)` in the target: scans read only pages that exist. */
const populate = async (address: number, length: number) => void (await t!.cmd(`fill ${address.toString(16)} ${length.toString(16)} 0`));
let dir: string | undefined;
afterEach(() => {
  t?.kill();
  t = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

for (const threads of [0, 2]) {
  describe(`threads: ${threads}`, () => {
    test("a file mapping that faults mid-scan is skipped and counted", async () => {
      t = await Target.start();
      const proc = new Process(t.pid);
      dir = mkdtempSync(join(tmpdir(), "scan-"));
      const file = join(dir, "data.bin");
      const content = new Uint8Array(4 * MiB);
      content.set(magic(), 64);
      content.set(magic(), 3 * MiB);
      writeFileSync(file, content);
      const f = await t.map(4 * MiB, 3, file); // private, never touched by the target: pages come from the file
      const a = await t.map(8 * MiB); // mapped later: lower address
      expect(a + 8 * MiB).toBeLessThanOrEqual(f);
      await populate(a, 8 * MiB); // read before the file mapping
      await t.write(a + 128, magic());
      let truncated = false;
      const s = await scan(proc, "u32", MAGIC, {
        filter: (r) => (r.start <= a && r.end >= a + 8 * MiB) || r.path === file,
        threads,
        onProgress: () => {
          if (!truncated) truncateSync(file, 0); // from here on, reading the mapping faults (SIGBUS in the target)
          truncated = true;
        },
      });
      const found = Array.from(s.addresses());
      expect(found).toContain(a + 128);
      expect(found.filter((x) => x >= f)).toEqual([]);
      expect(s.skipped).toBeGreaterThanOrEqual(4 * MiB);
    });

    test("the target exiting mid-scan rejects with ESRCH and keeps the matches so far", async () => {
      t = await Target.start();
      const proc = new Process(t.pid);
      const low = await t.map(256 * MiB);
      await populate(low, 256 * MiB);
      await t.write(low + 4, magic()); // in the first chunk scanned
      const target = t;
      // Workers loaded first, so that the first task (holding the match) is done before the kill.
      await scan(proc, "u32", MAGIC, { within: [low, low + 64 * MiB], threads });
      let error: unknown;
      try {
        await scan(proc, "u32", MAGIC, {
          within: [low, low + 256 * MiB],
          threads,
          onProgress: (done, total) => {
            if (done >= total / 2) target.kill();
          },
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ProcessVmError);
      expect((error as ProcessVmError).code).toBe("ESRCH");
      const partial = (error as ProcessVmError & { partial: Scan }).partial;
      expect(Array.from(partial.addresses())).toContain(low + 4);
    });
  });
}

test("a region unmapped during a scan is skipped; one unmapped before a next scan loses its matches", async () => {
  t = await Target.start();
  const proc = new Process(t.pid);
  const b = await t.map(129 * MiB);
  const c = b + 128 * MiB; // its last MiB, scanned last
  await populate(b, 129 * MiB);
  await t.write(b + 8, magic());
  await t.write(c + 8, magic());
  const target = t;
  let done = 0;
  let unmapped: Promise<void> | undefined;
  let doneAtUnmap = Infinity;
  const running = scan(proc, "u32", MAGIC, {
    within: [b, c + MiB],
    threads: 0,
    onProgress: (d) => {
      done = d;
      unmapped ??= target.unmap(c, MiB).then(() => void (doneAtUnmap = done));
    },
  });
  const s = await running;
  await unmapped;
  const found = Array.from(s.addresses());
  expect(found).toContain(b + 8);
  if (doneAtUnmap < 128 * MiB) {
    // The unmap was done before the scan reached C.
    expect(found).not.toContain(c + 8);
    expect(s.skipped).toBeGreaterThanOrEqual(MiB);
  }
  // Next scan after C is gone (when C was read before the unmap, its match is dropped now).
  const before = s.count;
  await s.next("unchanged");
  expect(Array.from(s.addresses())).toEqual([b + 8]);
  expect(s.skipped).toBe((before - 1) * 4);
});

test("a next scan when the target has exited rejects with ESRCH and keeps the previous step", async () => {
  t = await Target.start();
  const proc = new Process(t.pid);
  const r = await t.map(MiB);
  await t.write(r, magic());
  const s = await scan(proc, "u32", MAGIC, { within: [r, r + MiB] });
  expect(s.count).toBe(1);
  await t.exit();
  await expect(s.next("unchanged")).rejects.toMatchObject({ code: "ESRCH" });
  expect(s.count).toBe(1);
  expect(s.steps).toBe(1);
});

test("abort and progress", async () => {
  t = await Target.start();
  const proc = new Process(t.pid);
  const r = await t.map(64 * MiB);
  await populate(r, 64 * MiB);
  for (const threads of [0, 2]) {
    const calls: [number, number][] = [];
    const s = await scan(proc, "i32", { min: 1, max: 2 }, { within: [r, r + 64 * MiB], threads, onProgress: (d, total) => calls.push([d, total]) });
    expect(s.count).toBe(0);
    expect(calls.length).toBeGreaterThan(2);
    expect(calls.every(([, total]) => total === 64 * MiB)).toBe(true);
    expect(calls.at(-1)![0]).toBe(64 * MiB);
    expect(calls.every(([d], i) => i === 0 || d >= calls[i - 1]![0])).toBe(true);

    const controller = new AbortController();
    let progressed = 0;
    const aborted = scan(proc, "i32", 5, {
      within: [r, r + 64 * MiB],
      threads,
      signal: controller.signal,
      onProgress: () => {
        progressed++;
        controller.abort();
      },
    });
    // (not `expect(…).rejects`: it waits for the promise without delivering Worker messages)
    const reason = await aborted.then(() => undefined, (e: unknown) => e);
    expect(reason).toMatchObject({ name: "AbortError" });
    expect(progressed).toBeLessThan(8);
  }
  await expect(scan(proc, "i32", 5, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
}, 20_000);

test("a long scan on the main thread leaves the event loop free", async () => {
  t = await Target.start();
  const proc = new Process(t.pid);
  const r = await t.map(96 * MiB);
  await populate(r, 96 * MiB);
  let last = performance.now();
  let worst = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
    ticks++;
  }, 1);
  const started = performance.now();
  // Unaligned range scans are the slowest routine (a DataView read per byte).
  await scan(proc, "i16", { min: 5, max: 9 }, { within: [r, r + 96 * MiB], align: 1, threads: 0 });
  const took = performance.now() - started;
  clearInterval(timer);
  expect(took).toBeGreaterThan(50);
  // The timer keeps firing through the scan: never held off for a large part of it. (A fixed bound in
  // milliseconds fails on a machine loaded by other work, where a 1 ms timer can wait 60 ms for a core.)
  expect(ticks).toBeGreaterThan(10);
  expect(worst).toBeLessThan(Math.max(40, took / 4));
});

test("the Worker file is found when the package is imported from another directory", async () => {
  dir = mkdtempSync(join(tmpdir(), "scan-import-"));
  const script = join(dir, "main.ts");
  const src = new URL("../src/", import.meta.url).pathname;
  writeFileSync(
    script,
    `import { Process } from ${JSON.stringify(`${src}process.ts`)};
import { scan } from ${JSON.stringify(`${src}scan/index.ts`)};
import { addressOfView } from ${JSON.stringify(`${src}ffi/libc.ts`)};
const words = new Uint32Array(new ArrayBuffer(${4 * MiB}));
words[${MiB / 2 + 3}] = ${MAGIC};
const start = addressOfView(words);
const s = await scan(Process.self(), "u32", ${MAGIC}, { within: [start, start + ${4 * MiB}], threads: 2 });
console.log(JSON.stringify({ found: Array.from(s.addresses()).map((a) => a - start) }));
`,
  );
  const child = Bun.spawnSync([process.execPath, script], { cwd: dir, stderr: "pipe" });
  expect(child.stderr.toString()).toBe("");
  expect(JSON.parse(child.stdout.toString())).toEqual({ found: [(MiB / 2 + 3) * 4] });
});

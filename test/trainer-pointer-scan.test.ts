import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Process } from "../src/process.ts";
import { ET_DYN, PF_W, PT_LOAD } from "../src/trainer/elf.ts";
import { ProcessVmError } from "../src/errors.ts";
import { findPointerPaths, formatChain, PointerPaths, resolve, type PointerScanError, type PointerScanOptions, type PointerScanProgress } from "../src/trainer/index.ts";
import { Target } from "./helpers/target.ts";

const GRAPH = new URL("./fixtures/graph.ts", import.meta.url).pathname;

interface GraphInfo {
  moduleBase: number;
  bss: number;
  health: number;
  player: number;
}

let t: Target;
let g: GraphInfo;
let proc: Process;
let paths: PointerPaths;
const progress: PointerScanProgress[] = [];

const PLANTED = "libgame.so+0x100 -> 0x18 -> 0x20 -> 0x30";
const DECOY = "libgame.so+0x400 -> 0x18 -> 0x20 -> 0x30"; // not updated by a rebuild

function pointer(value: number): Uint8Array {
  return new Uint8Array(new BigUint64Array([BigInt(value)]).buffer);
}

/** An ELF header with one program header: a writable PT_LOAD of `filesz` bytes from the file and `memsz` in memory, at vaddr 0. */
function elfHeader(filesz: number, memsz: number): Uint8Array {
  const bytes = new Uint8Array(64 + 56);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, ET_DYN, true);
  v.setUint16(18, 62, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(32, 64n, true); // e_phoff
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, 1, true);
  v.setUint32(64, PT_LOAD, true);
  v.setUint32(68, 4 | PF_W, true);
  v.setBigUint64(64 + 32, BigInt(filesz), true);
  v.setBigUint64(64 + 40, BigInt(memsz), true);
  return bytes;
}

/** The graph's module as an ELF image: two pages from the file, and its .bss up to B+0x48 (the B+0x40 slot, not the rest of B's page). */
let header: Uint8Array;

beforeAll(async () => {
  t = await Target.start([], GRAPH);
  g = t.info as unknown as GraphInfo;
  proc = new Process(t.pid);
  header = elfHeader(g.bss - g.moduleBase, g.bss - g.moduleBase + 0x48);
  await t.write(g.moduleBase, header);
  paths = await findPointerPaths(proc, g.health, { maxDepth: 4, maxOffset: 0x100, onProgress: (p) => progress.push(p) });
});
afterAll(() => t.kill());

test("finds the planted paths, through .data and through the .bss after the file", () => {
  const strings = paths.toStrings();
  const bss = `libgame.so+0x${(g.bss - g.moduleBase + 0x40).toString(16)} -> 0x20 -> 0x30`;
  expect(strings).toContain(PLANTED);
  expect(strings).toContain(DECOY);
  expect(strings).toContain(bss);
  // shortest first
  expect(strings.indexOf(bss)).toBeLessThan(strings.indexOf(PLANTED));
  // the form resolve takes (the target's own Bun heap also holds transient paths to it: its DataViews)
  const ours = paths.paths.filter((p) => p.base.module === "libgame.so");
  expect(ours.length).toBe(3);
  for (const p of ours) expect(resolve(proc, p)).toBe(g.health);
  expect(paths.stats.pointers).toBeGreaterThan(1000); // a real Bun process's pointer graph
  expect(paths.stats.regions).toBeGreaterThan(5);
});

test("paths are indexable like an array", () => {
  expect(paths.length).toBe(paths.paths.length);
  expect(paths.length).toBeGreaterThan(2);
  for (let i = 0; i < paths.length; i++) expect(paths[i]).toBe(paths.paths[i]!);
  expect(paths[paths.length]).toBeUndefined();
  expect(formatChain(paths[0]!)).toBe(paths.toStrings()[0]!);
  const kept = paths.rescan(proc, g.health);
  expect([...kept].map((_, i) => kept[i])).toEqual([...kept]);
});

test("reports progress through both passes and the search", () => {
  const phases = new Set(progress.map((p) => p.phase));
  expect([...phases]).toEqual(["count", "index", "search"]);
  const lastCount = progress.filter((p) => p.phase === "count").at(-1)!;
  expect(lastCount.done).toBe(lastCount.total);
});

test("rescan after a rebuild at new addresses keeps only the paths that still lead there", async () => {
  const old = g.health;
  g = (await t.cmd("rebuild")) as unknown as GraphInfo;
  expect(g.health).not.toBe(old);
  const kept = paths.rescan(proc, g.health);
  const strings = kept.toStrings();
  expect(strings).toContain(PLANTED);
  expect(strings).not.toContain(DECOY);
  expect(kept.length).toBeLessThan(paths.length);
  expect(kept.address).toBe(g.health);
  for (const p of kept) if (p.base.module === "libgame.so") expect(resolve(proc, p)).toBe(g.health);
  // a second rebuild: the same paths survive again
  g = (await t.cmd("rebuild")) as unknown as GraphInfo;
  expect(kept.rescan(proc, g.health).toStrings()).toEqual(strings);
});

test("rescan in a restarted game (a new process, new addresses)", async () => {
  const t2 = await Target.start([], GRAPH);
  try {
    const g2 = t2.info as unknown as GraphInfo;
    expect(g2.health).not.toBe(g.health);
    const kept = paths.rescan(new Process(t2.pid), g2.health).toStrings();
    expect(kept).toContain(PLANTED);
    expect(kept).toContain(`libgame.so+0x${(g2.bss - g2.moduleBase + 0x40).toString(16)} -> 0x20 -> 0x30`);
  } finally {
    t2.kill();
  }
});

test("maxDepth, modules and maxResults limit the results", async () => {
  const shallow = await findPointerPaths(proc, g.health, { maxDepth: 2, maxOffset: 0x100 });
  expect(shallow.paths.every((p) => p.offsets.length <= 2)).toBe(true);
  expect(shallow.toStrings()).toContain(`libgame.so+0x${(g.bss - g.moduleBase + 0x40).toString(16)} -> 0x20 -> 0x30`);
  expect(shallow.toStrings()).not.toContain(PLANTED);
  const none = await findPointerPaths(proc, g.health, { maxDepth: 4, maxOffset: 0x100, modules: ["libc.so.6"] });
  expect(none.toStrings()).not.toContain(PLANTED);
  const one = await findPointerPaths(proc, g.health, { maxDepth: 4, maxOffset: 0x100, maxResults: 1 });
  expect(one.length).toBe(1);
  expect(one.truncated).toBe(true);
});

test("an abort signal rejects the scan", async () => {
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  await expect(findPointerPaths(proc, g.health, { signal: ac.signal })).rejects.toThrow("stop");
  const ac2 = new AbortController();
  const p = findPointerPaths(proc, g.health, { signal: ac2.signal, onProgress: () => ac2.abort(new Error("midway")) });
  await expect(p).rejects.toThrow("midway");
});

/** Runs a scan expected to reject; returns what it rejected with (try/catch: see the README's note on `rejects`). */
async function rejection(run: Promise<unknown>): Promise<unknown> {
  try {
    await run;
  } catch (error) {
    return error;
  }
  throw new Error("the scan did not reject");
}

/** The `partial` a stopped scan's rejection holds, checked to be a PointerPaths. */
function partialOf(error: unknown): PointerPaths {
  const partial = (error as Partial<PointerScanError>).partial;
  expect(partial).toBeInstanceOf(PointerPaths);
  return partial!;
}

test("an abort mid-search keeps the paths found so far in error.partial, each leading to the address", async () => {
  const options: PointerScanOptions = { maxDepth: 4, maxOffset: 0x100, modules: ["libgame.so"] };
  const full = await findPointerPaths(proc, g.health, options);
  expect(full.toStrings()).toContain(PLANTED); // depth 3
  const ac = new AbortController();
  const levels: number[] = [];
  const error = await rejection(
    findPointerPaths(proc, g.health, {
      ...options,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.phase !== "search") return;
        levels.push(p.done);
        if (p.done === 2) ac.abort(new Error("enough")); // after two levels of the search
      },
    }),
  );
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toBe("enough");
  expect(levels).toEqual([1, 2]); // stopped at the next level, not after the whole search
  const partial = partialOf(error);
  expect(partial.address).toBe(g.health);
  // the paths of depth 2 at most: the one through .bss, not yet the one through .data (depth 3)
  expect(partial.toStrings()).toEqual([bssPath(0x40)]);
  expect(partial.stats.nodes).toBeGreaterThan(1);
  expect(partial.stats.nodes).toBeLessThan(full.stats.nodes);
  for (const p of partial) expect(resolve(proc, p)).toBe(g.health);
});

test("an abort while memory is read: the path without dereferences of a static address; a string reason is wrapped", async () => {
  const target = g.moduleBase + 0x100; // in the module's file mapping: static itself
  const ac = new AbortController();
  const error = await rejection(
    findPointerPaths(proc, target, { maxDepth: 4, maxOffset: 0x100, signal: ac.signal, onProgress: (p) => p.phase === "count" && ac.abort("stop") }),
  );
  expect(error).toBeInstanceOf(DOMException);
  expect((error as DOMException).name).toBe("AbortError");
  expect((error as { cause?: unknown }).cause).toBe("stop");
  const partial = partialOf(error);
  expect(partial.toStrings()).toEqual(["libgame.so+0x100"]);
  expect(resolve(proc, partial[0]!)).toBe(target);
  // aborted before it starts: the reason itself, with no paths
  const before = new AbortController();
  const reason = new Error("not now");
  before.abort(reason);
  const early = await rejection(findPointerPaths(proc, target, { signal: before.signal }));
  expect(early).toBe(reason);
  expect(partialOf(early).length).toBe(0);
});

/** SIGKILLs the target and waits until it has no memory left (a zombie or gone), so that reads give ESRCH. */
function killNow(target: Target): void {
  target.kill();
  for (let i = 0; i < 5000; i++) {
    let state: string;
    try {
      state = readFileSync(`/proc/${target.pid}/stat`, "utf8").replace(/^.*\) /s, "")[0]!;
    } catch {
      return; // reaped
    }
    if (state === "Z" || state === "X") return;
    Bun.sleepSync(1);
  }
  throw new Error(`pid ${target.pid} did not die`);
}

test("a target that exits mid-scan: ESRCH, with the paths found in what was read before in error.partial", async () => {
  // killed while memory is counted: nothing searched, the static address's own path only
  const t2 = await Target.start([], GRAPH);
  try {
    const g2 = t2.info as unknown as GraphInfo;
    let killed = false;
    const error = await rejection(
      findPointerPaths(new Process(t2.pid), g2.moduleBase + 0x100, {
        maxDepth: 4,
        maxOffset: 0x100,
        onProgress: () => {
          if (!killed) killNow(t2);
          killed = true;
        },
      }),
    );
    expect(error).toBeInstanceOf(ProcessVmError);
    expect((error as ProcessVmError).code).toBe("ESRCH");
    expect(partialOf(error).toStrings()).toEqual(["libgame.so+0x100"]);
  } finally {
    t2.kill();
  }
  // killed while the reverse map is filled: the search runs over what was read, and finds no path the full scan lacks
  const t3 = await Target.start([], GRAPH);
  try {
    const g3 = t3.info as unknown as GraphInfo;
    // 8 MiB more of resident memory: the index pass reads in 4 MiB batches, so there are batches after the first
    const extra = 8 << 20;
    await t3.write(await t3.map(extra), new Uint8Array(extra));
    const proc3 = new Process(t3.pid);
    const options: PointerScanOptions = { maxDepth: 4, maxOffset: 0x100, modules: ["libgame.so"] };
    const full = (await findPointerPaths(proc3, g3.health, options)).toStrings();
    expect(full).toContain(PLANTED);
    let killed = false;
    const phases: string[] = [];
    const error = await rejection(
      findPointerPaths(proc3, g3.health, {
        ...options,
        onProgress: (p) => {
          phases.push(p.phase);
          if (p.phase === "index" && !killed) killNow(t3);
          if (p.phase === "index") killed = true;
        },
      }),
    );
    expect((error as ProcessVmError).code).toBe("ESRCH");
    expect(phases).toContain("search"); // it searched after the exit
    const partial = partialOf(error);
    expect(partial.address).toBe(g3.health);
    for (const s of partial.toStrings()) expect(full).toContain(s);
  } finally {
    t3.kill();
  }
});

const bssPath = (at: number) => `libgame.so+0x${(g.bss - g.moduleBase + at).toString(16)} -> 0x20 -> 0x30`;

test(".bss is static only as far as the ELF image's p_memsz; without an ELF header, not at all", async () => {
  // a pointer to the player beyond p_memsz, in the same anonymous page: not static
  await t.write(g.bss + 0x100, pointer(g.player));
  try {
    const found = (await findPointerPaths(proc, g.health, { maxDepth: 2, maxOffset: 0x100 })).toStrings();
    expect(found).toContain(bssPath(0x40));
    expect(found).not.toContain(bssPath(0x100));
    // the header gone (a plain file): its writable pages stay static, the anonymous page after it is not
    await t.write(g.moduleBase, new Uint8Array(header.length));
    const plain = (await findPointerPaths(proc, g.health, { maxDepth: 4, maxOffset: 0x100 })).toStrings();
    expect(plain).toContain(PLANTED);
    expect(plain).not.toContain(bssPath(0x40));
    expect(plain).not.toContain(bssPath(0x100));
  } finally {
    await t.write(g.bss + 0x100, new Uint8Array(8));
    await t.write(g.moduleBase, header);
  }
});

test("regression: a heap object mmap'ed right after libc's .bss is not libc's static memory", async () => {
  const t2 = await Target.start();
  const dir = mkdtempSync(join(tmpdir(), "pvm-x-"));
  try {
    const path = join(dir, "libcli.so");
    writeFileSync(path, new Uint8Array(t2.info.page));
    const module = await t2.map(t2.info.page, 3, path);
    const object = await t2.map(t2.info.page);
    await t2.write(module + 0x20, pointer(object));
    const proc2 = new Process(t2.pid);
    const found = await proc2.findPointerPaths(object + 8, { maxDepth: 2, maxOffset: 0x40 });
    expect(found.toStrings()).toContain("libcli.so+0x20 -> 0x8");
    expect(found.paths.every((p) => p.offsets.length > 0)).toBe(true); // the object is not static memory
    for (const p of found) expect(resolve(proc2, p)).toBe(object + 8);
  } finally {
    t2.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a target in static memory: the path without dereferences first, then the deeper ones", async () => {
  const t2 = await Target.start();
  const dir = mkdtempSync(join(tmpdir(), "pvm-static-"));
  try {
    const path = join(dir, "libstatic.so");
    writeFileSync(path, new Uint8Array(t2.info.page));
    const module = await t2.map(t2.info.page, 3, path);
    const object = await t2.map(t2.info.page);
    const target = module + 0x80;
    await t2.write(module + 0x20, pointer(module + 0x70)); // static -> target
    await t2.write(module + 0x30, pointer(object)); // static -> heap object -> target
    await t2.write(object, pointer(module + 0x78));
    const proc2 = new Process(t2.pid);
    const found = await findPointerPaths(proc2, target, { maxDepth: 3, maxOffset: 0x40 });
    const strings = found.toStrings();
    expect(strings[0]).toBe("libstatic.so+0x80");
    expect(strings).toContain("libstatic.so+0x20 -> 0x10");
    expect(strings).toContain("libstatic.so+0x30 -> 0x0 -> 0x8");
    expect(strings.indexOf("libstatic.so+0x20 -> 0x10")).toBeLessThan(strings.indexOf("libstatic.so+0x30 -> 0x0 -> 0x8"));
    for (const p of found) expect(resolve(proc2, p)).toBe(target);
    // maxResults keeps the shortest
    const one = await findPointerPaths(proc2, target, { maxDepth: 3, maxOffset: 0x40, maxResults: 2 });
    expect(one.toStrings()).toEqual(["libstatic.so+0x80", "libstatic.so+0x20 -> 0x10"]);
    expect(one.truncated).toBe(true);
  } finally {
    t2.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

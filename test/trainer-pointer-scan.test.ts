import { afterAll, beforeAll, expect, test } from "bun:test";
import { Process } from "../src/process.ts";
import { findPointerPaths, resolve, type PointerPaths, type PointerScanProgress } from "../src/trainer/index.ts";
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

beforeAll(async () => {
  t = await Target.start([], GRAPH);
  g = t.info as unknown as GraphInfo;
  proc = new Process(t.pid);
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

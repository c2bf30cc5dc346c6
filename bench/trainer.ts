/**
 * Trainer benchmark (standalone: `bun bench/trainer.ts [--scan-mib 300]`):
 *
 * 1. Resolving 10,000 pointer chains of depth 4: system calls and time, batched
 *    level by level (`PointerChainList`, `resolveAll`) beside one link at a time.
 * 2. Freezing 1,000 values: system calls per tick, at addresses and through
 *    pointer chains (followed again each tick).
 * 3. The pointer scanner on a Bun process holding a few hundred MiB of objects.
 *
 * System calls are counted by the trainer's own counters (`trainerStats`),
 * which every `process_vm_readv`/`process_vm_writev` of the trainer goes through
 * (strace agrees: `strace -f -e trace=process_vm_readv` counts the same).
 *
 * `bench/c/trainer.c` is the C reference for part 1 (same graph, same batching):
 * it shows where the batched time goes (the kernel pins one page per iovec).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Process } from "../src/process.ts";
import {
  findPointerPaths,
  freeze,
  PointerChain,
  PointerChainList,
  resetTrainerStats,
  resolveAll,
  trainerStats,
  type PointerChainSpec,
} from "../src/trainer/index.ts";
import { Target } from "../test/helpers/target.ts";

const CHAINS = 10_000;
const DEPTH = 4;
const OBJECT = 64;
const args = process.argv.slice(2);
const scanMib = Number(args[args.indexOf("--scan-mib") + 1] ?? 300) || 300;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function measure(runs: number, fn: () => void): { ms: number; reads: number } {
  const times: number[] = [];
  const reads: number[] = [];
  fn(); // warm-up
  for (let i = 0; i < runs; i++) {
    resetTrainerStats();
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
    reads.push(trainerStats.readCalls);
  }
  return { ms: median(times), reads: median(reads) };
}

const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

// ---- 1. chains ----
const dir = mkdtempSync(join(tmpdir(), "pvm-bench-"));
const modulePath = join(dir, "libbench.so");
const rootBytes = CHAINS * 8;
writeFileSync(modulePath, new Uint8Array(Math.ceil(rootBytes / 4096) * 4096));
const t = await Target.start();
const proc = new Process(t.pid);
try {
  const root = await t.map(Math.ceil(rootBytes / 4096) * 4096, 3, modulePath);
  const heapSize = CHAINS * DEPTH * OBJECT;
  const heap = await t.map(heapSize);
  // root[i] -> obj(1,i); obj(k,i) + 8k -> obj(k+1,i); the last object + 0x20 is the final address.
  const objectAt = (k: number, i: number) => heap + ((k - 1) * CHAINS + i) * OBJECT;
  const rootData = new BigUint64Array(CHAINS);
  const heapData = new BigUint64Array(heapSize / 8);
  for (let i = 0; i < CHAINS; i++) {
    rootData[i] = BigInt(objectAt(1, i));
    for (let k = 1; k < DEPTH; k++) heapData[(objectAt(k, i) + 8 * k - heap) / 8] = BigInt(objectAt(k + 1, i));
  }
  proc.write(root, rootData);
  proc.write(heap, heapData);
  const chains: PointerChainSpec[] = Array.from({ length: CHAINS }, (_, i) => ({
    base: { module: "libbench.so", offset: i * 8 },
    offsets: [8, 16, 24, 0x20],
  }));
  const expected = (i: number) => objectAt(DEPTH, i) + 0x20;

  const list = new PointerChainList(proc, chains);
  const out = list.resolve();
  for (let i = 0; i < CHAINS; i++) if (out[i] !== expected(i)) throw new Error(`chain ${i} resolved to ${out[i]}`);
  const singles = chains.map((c) => new PointerChain(proc, c));
  for (let i = 0; i < CHAINS; i++) if (singles[i]!.resolve() !== expected(i)) throw new Error(`chain ${i} (single) is wrong`);

  const batched = measure(21, () => list.resolve());
  const oneShot = measure(11, () => resolveAll(proc, chains));
  const perLink = measure(5, () => {
    for (let i = 0; i < CHAINS; i++) singles[i]!.tryResolve();
  });
  const perLinkCore = measure(5, () => {
    // the core API, one readPointer per link, as a user would write it without the trainer
    for (let i = 0; i < CHAINS; i++) {
      let a = root + i * 8;
      for (let k = 0; k < DEPTH; k++) a = proc.readPointer(a) + [8, 16, 24, 0x20][k]!;
    }
  });
  console.log(`## Resolving ${CHAINS.toLocaleString("en")} chains of depth ${DEPTH} (median)`);
  console.log("| method | syscalls | time |");
  console.log("|---|---:|---:|");
  console.log(`| PointerChainList.resolve() (batched, level by level, reused) | ${batched.reads} | ${fmt(batched.ms)} |`);
  console.log(`| resolveAll() (batched, parses and allocates each call) | ${oneShot.reads} | ${fmt(oneShot.ms)} |`);
  console.log(`| PointerChain.tryResolve() per chain (one link at a time) | ${perLink.reads} | ${fmt(perLink.ms)} |`);
  console.log(`| Process.readPointer per link (core API loop) | ${CHAINS * DEPTH} | ${fmt(perLinkCore.ms)} |`);
  console.log("");

  // ---- 2. freeze ----
  const FROZEN = 1000;
  const cells = await t.map(FROZEN * 8);
  for (const [label, options] of [
    ["plain", {}],
    ["allowIncrease", { allowIncrease: true }],
  ] as const) {
    const handles = Array.from({ length: FROZEN }, (_, i) => freeze(proc, cells + i * 8, "i32", i, { intervalMs: 10, ...options }));
    resetTrainerStats();
    const cpu0 = process.cpuUsage();
    await Bun.sleep(1000);
    const cpu = process.cpuUsage(cpu0);
    const { freezeTicks, writeCalls, readCalls } = trainerStats;
    for (const h of handles) h.stop();
    const check = new Int32Array((await t.read(cells, FROZEN * 8)).buffer);
    if (check[2 * 999] !== 999) throw new Error("freeze did not hold");
    console.log(
      `## Freezing ${FROZEN} values (${label}, intervalMs 10, 1 s): ${freezeTicks} ticks, ` +
        `${(writeCalls / freezeTicks).toFixed(2)} writes + ${(readCalls / freezeTicks).toFixed(2)} reads per tick, ` +
        `CPU ${((cpu.user + cpu.system) / 1000 / freezeTicks).toFixed(3)} ms per tick (whole process)`,
    );
  }
  // the same values frozen through pointer chains (depth 1), followed again at every tick
  {
    const slots = await t.map(FROZEN * 8);
    await t.write(slots, new Uint8Array(BigUint64Array.from({ length: FROZEN }, (_, i) => BigInt(cells + i * 8)).buffer));
    const handles = Array.from({ length: FROZEN }, (_, i) => freeze(proc, { base: slots + i * 8, offsets: [0] }, "i32", i + 1, { intervalMs: 10 }));
    await Bun.sleep(100);
    Bun.gc(true);
    const heap0 = process.memoryUsage().heapUsed;
    resetTrainerStats();
    const cpu0 = process.cpuUsage();
    await Bun.sleep(1000);
    const cpu = process.cpuUsage(cpu0);
    const { freezeTicks, writeCalls, readCalls } = trainerStats;
    Bun.gc(true);
    const heap = process.memoryUsage().heapUsed - heap0;
    for (const h of handles) h.stop();
    const check = new Int32Array((await t.read(cells, FROZEN * 8)).buffer);
    if (check[2 * 999] !== 1000) throw new Error("chain freeze did not hold");
    console.log(
      `## Freezing ${FROZEN} values through pointer chains (depth 1, intervalMs 10, 1 s): ${freezeTicks} ticks, ` +
        `${(writeCalls / freezeTicks).toFixed(2)} writes + ${(readCalls / freezeTicks).toFixed(2)} reads per tick, ` +
        `CPU ${((cpu.user + cpu.system) / 1000 / freezeTicks).toFixed(3)} ms per tick, heap ${(heap / 1024).toFixed(0)} KiB over the second`,
    );
  }
  // what one tick replaces: 1,000 single writes
  const single = measure(11, () => {
    for (let i = 0; i < FROZEN; i++) proc.writeI32(cells + i * 8, i);
  });
  console.log(`   for comparison, 1,000 single Process.writeI32 calls: 1000 syscalls, ${fmt(single.ms)}`);
  console.log("");
} finally {
  t.kill();
  rmSync(dir, { recursive: true, force: true });
}

// ---- 3. pointer scanner ----
const script = join(mkdtempSync(join(tmpdir(), "pvm-bench-")), "heap.ts");
writeFileSync(
  script,
  `const mib = ${scanMib};
const keep = [];
let prev = null;
while (process.memoryUsage().rss < mib * 1024 * 1024) {
  for (let i = 0; i < 10000; i++) { prev = { next: prev, i, s: "x" + i, arr: [i, i + 1, i + 2] }; keep.push(prev); }
}
globalThis.keep = keep;
console.log(JSON.stringify({ pid: process.pid, rss: process.memoryUsage().rss }));
setInterval(() => {}, 1000);
`,
);
const child = Bun.spawn([process.execPath, script], { stdout: "pipe" });
try {
  const { value } = await child.stdout.getReader().read();
  const info = JSON.parse(new TextDecoder().decode(value)) as { pid: number; rss: number };
  const big = new Process(info.pid);
  // a target inside the JS heap: the value of some pointer in the biggest writable anonymous region, plus 0x10
  const maps = big.maps();
  const heapRegion = maps
    .filter((r, i) => r.writable && r.kind === "anonymous" && maps[i - 1]?.kind !== "file")
    .sort((a, b) => b.size - a.size)[0]!;
  let target = 0;
  for (let off = 0x100000; !target && off < heapRegion.size; off += 8) {
    let v = 0;
    try {
      v = big.readPointer(heapRegion.start + off);
    } catch {
      off += 4088;
      continue;
    }
    if (v > heapRegion.start && v < heapRegion.end) target = v + 0x10;
  }
  console.log(`## Pointer scan of a Bun process with ${(info.rss / 2 ** 20).toFixed(0)} MiB resident`);
  console.log("| maxDepth | maxOffset | time | bytes read per pass | pointers | nodes | paths | scanner RSS |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const [maxDepth, maxOffset] of [
    [4, 0x400],
    [5, 0x1000],
  ] as const) {
    Bun.gc(true);
    let peak = process.memoryUsage().rss;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const paths = await findPointerPaths(big, target, { maxDepth, maxOffset });
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    const s = paths.stats;
    console.log(
      `| ${maxDepth} | 0x${maxOffset.toString(16)} | ${(s.ms / 1000).toFixed(2)} s | ${(s.bytes / 2 ** 20).toFixed(0)} MiB | ` +
        `${(s.pointers / 1e6).toFixed(1)} M | ${s.nodes.toLocaleString("en")} | ${paths.length}${paths.truncated ? " (limit)" : ""} | ${(peak / 2 ** 20).toFixed(0)} MiB |`,
    );
  }
} finally {
  child.kill();
  rmSync(join(script, ".."), { recursive: true, force: true });
}

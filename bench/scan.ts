/**
 * Scanner benchmark: one 1 GiB target (a small C program that fills 1 GiB with
 * pseudo-random data and plants i32 values and a byte pattern at known places),
 * against single-threaded C references built here with gcc -O2, and scanmem
 * when it is installed.
 *
 *   bun bench/scan.ts            (REPS=5 by default; SIZE in bytes, default 1 GiB)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, release } from "node:os";
import { join } from "node:path";
import { Process } from "../src/process.ts";
import { findPattern, scan, selectRanges, terminateScanWorkers } from "../src/scan/index.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BUILD = join(ROOT, ".build");
const REPS = Number(process.env.REPS ?? 5);
const SIZE = Number(process.env.SIZE ?? 1 << 30);
const DENSE = 0x2badf00d; // every 1 KiB: about one million matches per GiB
const SPARSE = 0x1337c0de; // at 1000 places
const PATTERN = "de ad be ef ?? 66 13 37 c0 de";
const CORES = availableParallelism();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
const fmt = (ms: number) => `${ms.toFixed(1).padStart(8)} ms`;
const gbps = (bytes: number, ms: number) => `${(bytes / 2 ** 30 / (ms / 1000)).toFixed(2).padStart(6)} GiB/s`;

function build(): boolean {
  const gcc = spawnSync("gcc", ["--version"]);
  if (gcc.status !== 0) return false;
  mkdirSync(BUILD, { recursive: true });
  for (const name of ["scan-ref", "scan-target"]) {
    const r = spawnSync("gcc", ["-O2", "-o", join(BUILD, name), join(ROOT, "bench/c", `${name}.c`)], { stdio: "inherit" });
    if (r.status !== 0) return false;
  }
  return true;
}

async function timed(fn: () => Promise<unknown>, reps = REPS): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

const haveC = build();
if (!haveC) {
  console.log("scan bench: gcc not found, cannot build the 1 GiB target and the C references; skipped.");
  process.exit(0);
}
console.log(`scan bench: ${cpuModel()}, ${CORES} cores, Linux ${release()}, Bun ${Bun.version}; target ${SIZE / 2 ** 20} MiB, median of ${REPS}`);

const child = Bun.spawn([join(BUILD, "scan-target"), String(SIZE), String(DENSE), String(SPARSE)], { stdin: "pipe", stdout: "pipe" });
const reader = child.stdout.getReader();
let line = "";
while (!line.includes("\n")) line += new TextDecoder().decode((await reader.read()).value);
const [base, size] = line.trim().split(" ").map(Number) as [number, number];
const proc = new Process(child.pid);
const ranges = selectRanges(proc.maps());
const total = ranges.reduce((n, r) => n + r.end - r.start, 0);
const rangeArgs = ranges.map((r) => `${r.start.toString(16)}:${r.end.toString(16)}`);

function cRef(mode: string, value: string, extra: string[]): { count: number; ms: number } {
  const r = spawnSync(join(BUILD, "scan-ref"), [mode, String(child.pid), value, String(REPS), ...extra], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`scan-ref ${mode} failed: ${r.stderr}`);
  const [count, ms] = r.stdout.trim().split(" ").map(Number) as [number, number];
  return { count, ms };
}

const rows: string[] = [];
const row = (name: string, ms: number, bytes: number, count: number, ratio?: number, rate = gbps(bytes, ms)) =>
  rows.push(`  ${name.padEnd(42)} ${fmt(ms)} ${rate}  ${String(count).padStart(8)} matches${ratio === undefined ? "" : `  ${ratio.toFixed(2)}x C`}`);
const mps = (n: number, ms: number) => `${(n / 1e6 / (ms / 1000)).toFixed(1).padStart(5)} M/s  `;

try {
  // 1. First exact i32 scan of the default selection (rw-p mappings: the 1 GiB and the small ones).
  const c = cRef("first", String(SPARSE), rangeArgs);
  row("first i32 scan: C, 1 thread", c.ms, total, c.count);
  for (const threads of [0, 1, CORES]) {
    let count = 0;
    await scan(proc, "i32", SPARSE, { threads }); // warm-up (Workers started)
    const ms = await timed(async () => (count = (await scan(proc, "i32", SPARSE, { threads })).count));
    if (count !== c.count) throw new Error(`first scan: ${count} matches, C found ${c.count}`);
    row(`first i32 scan: process-vm, ${threads === 0 ? "main thread" : `${threads} worker${threads > 1 ? "s" : ""}`}`, ms, total, count, c.ms / ms);
  }

  // 2. Next scan over about a million matches (= the same value), against C reading the same addresses coalesced.
  const dense = await scan(proc, "i32", DENSE);
  const file = join(BUILD, "scan-addresses.bin");
  writeFileSync(file, new Uint8Array(new BigUint64Array(Array.from(dense.addresses(), BigInt)).buffer));
  const cn = cRef("next", String(DENSE), [file]);
  row(`next scan over ${dense.count} matches: C`, cn.ms, 0, cn.count, undefined, mps(dense.count, cn.ms));
  for (const threads of [0, CORES]) {
    let count = 0;
    const ms = await timed(async () => {
      await dense.next(DENSE, { threads });
      count = dense.count;
      dense.undo();
    });
    if (count !== cn.count) throw new Error(`next scan: ${count} matches, C kept ${cn.count}`);
    row(`next scan: process-vm, ${threads === 0 ? "main thread" : `${threads} workers`}`, ms, 0, count, cn.ms / ms, mps(dense.count, ms));
  }

  // 3. Wildcard pattern scan.
  const cp = cRef("pattern", PATTERN, rangeArgs);
  row("pattern scan (10 bytes, 1 wildcard): C", cp.ms, total, cp.count);
  for (const threads of [0, CORES]) {
    let count = 0;
    const ms = await timed(async () => (count = (await findPattern(proc, PATTERN, { threads })).length));
    if (count !== cp.count) throw new Error(`pattern scan: ${count} matches, C found ${cp.count}`);
    row(`pattern scan: process-vm, ${threads === 0 ? "main thread" : `${threads} workers`}`, ms, total, count, cp.ms / ms);
  }
  console.log(rows.join("\n"));

  // 4. scanmem, on the 1 GiB mapping only (dregion of the others), the same first scan.
  if (spawnSync("scanmem", ["--version"]).error === undefined) {
    const session = (commands: string[]) => {
      const t0 = performance.now();
      const r = spawnSync("scanmem", ["-p", String(child.pid)], { input: `${commands.join("\n")}\nexit\n`, encoding: "utf8", maxBuffer: 64 << 20 });
      return { ms: performance.now() - t0, out: `${r.stdout}${r.stderr}` };
    };
    const list = session(["lregions"]).out;
    const id = new RegExp(`\\[\\s*(\\d+)\\]\\s+${base.toString(16)},`).exec(list)?.[1];
    if (id === undefined) throw new Error(`scanmem does not list the region at 0x${base.toString(16)}:\n${list}`);
    const setup = ["option scan_data_type int32", `dregion !${id}`];
    const baseline = session(setup);
    const withScan = session([...setup, String(SPARSE), "list"]);
    const scanmemMs = withScan.ms - baseline.ms;
    const scanmemAddresses = [...withScan.out.matchAll(/^\[\s*\d+\]\s+([0-9a-f]+),/gm)].map((m) => parseInt(m[1]!, 16));
    let mine: number[] = [];
    // scanmem looks at every byte offset: so does this scan (align: 1), to find the same addresses.
    const ms = await timed(async () => (mine = Array.from((await scan(proc, "i32", SPARSE, { within: [base, base + size], align: 1 })).addresses())));
    const same = mine.length === scanmemAddresses.length && mine.every((a, i) => a === scanmemAddresses[i]);
    console.log(`  scanmem 0.17 i32 scan of the 1 GiB mapping:  ${fmt(scanmemMs)} (one run, its start-up subtracted), ${scanmemAddresses.length} matches`);
    console.log(`  process-vm, same scan (align 1), ${CORES} workers: ${fmt(ms)}  ${(scanmemMs / ms).toFixed(1)}x faster; ${mine.length} matches, same addresses: ${same ? "yes" : "NO"}`);
  } else {
    console.log("  scanmem not installed (Debian package scanmem): comparison skipped");
  }
} finally {
  child.kill();
  terminateScanWorkers();
}

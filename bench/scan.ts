/**
 * Scanner benchmark: one 1 GiB target (a small C program that fills 1 GiB with
 * pseudo-random data and plants i32 values and a byte pattern at known places),
 * against single-threaded C references built here with gcc -O2, and scanmem
 * when it is installed. Then resident-only scans against full reads
 * (`resident: false`): on the fully populated 1 GiB (the cost of pagemap), and
 * on a fresh Bun process (the demo game), whose address space is mostly
 * untouched reservations.
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
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** VmRSS of a process, in bytes. */
function vmRss(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) * 1024;
}
/** VmPTE (its page tables) of a process, in bytes. */
function vmPte(pid: number): number {
  return Number(/VmPTE:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) * 1024;
}

/** Resident bytes (smaps' Rss) of the mappings within `ranges`. */
function residentWithin(pid: number, ranges: readonly { start: number; end: number }[]): number {
  let total = 0;
  let inside = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (head) {
      const start = parseInt(head[1]!, 16);
      const end = parseInt(head[2]!, 16);
      inside = ranges.some((r) => r.start <= start && end <= r.end);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && inside) total += Number(rss[1]) * 1024;
  }
  return total;
}

/** Medians of `a` and `b` run alternately, so that drifting noise falls on both. */
async function sideBySide(a: () => Promise<unknown>, b: () => Promise<unknown>, reps = REPS): Promise<[number, number]> {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < reps; i++) {
    let t0 = performance.now();
    await a();
    ta.push(performance.now() - t0);
    t0 = performance.now();
    await b();
    tb.push(performance.now() - t0);
  }
  return [median(ta), median(tb)];
}
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
  // 4. Resident-only (the default) against a full read, on the fully populated 1 GiB: what reading pagemap costs.
  {
    let counts = [0, 0];
    const [resident, full] = await sideBySide(
      async () => void (counts[0] = (await scan(proc, "i32", SPARSE, { threads: CORES })).count),
      async () => void (counts[1] = (await scan(proc, "i32", SPARSE, { threads: CORES, resident: false })).count),
      REPS * 2,
    );
    if (counts[0] !== c.count || counts[1] !== c.count) throw new Error(`resident scans: ${counts.join(", ")} matches, C found ${c.count}`);
    row(`first i32 scan, ${CORES} workers, resident: false`, full, total, counts[1]!);
    row(`the same, resident only (default)`, resident, total, counts[0]!);
    rows.push(`  resident-only throughput on fully populated memory: ${(full / resident).toFixed(3)}x the full read (goal >= 0.95x)`);
    counts = [];
  }
  console.log(rows.join("\n"));

  // 5. scanmem, on the 1 GiB mapping only (dregion of the others), the same first scan.
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
}

// 6. A fresh Bun process (the demo game): resident-only first scan against a full read, side by side.
try {
  const GAME = join(ROOT, "src/cli/demo-game.ts");
  const game = Bun.spawn([process.execPath, GAME], { stdout: "pipe" });
  const gameOut = game.stdout.getReader();
  let hello = "";
  while (!hello.includes("\n")) hello += new TextDecoder().decode((await gameOut.read()).value);
  const { pid, player } = JSON.parse(hello.slice(0, hello.indexOf("\n"))) as { pid: number; player: number };
  await Bun.sleep(500); // let it settle
  try {
    const g = new Process(pid);
    const selected = selectRanges(g.maps());
    const selectedBytes = selected.reduce((n, r) => n + r.end - r.start, 0);
    const residentBytes = residentWithin(pid, selected);
    const rss0 = vmRss(pid);
    const pte0 = vmPte(pid);
    const health = g.readI32(player);
    const first = await scan(g, "i32", health);
    if (!Array.from(first.addresses()).includes(player)) throw new Error("the resident scan missed the game's health");
    const residentMs = await timed(async () => void (await scan(g, "i32", g.readI32(player))));
    const rss1 = vmRss(pid);
    const pte1 = vmPte(pid);
    // The full read once: it makes the game allocate every page it reads.
    const t0 = performance.now();
    const full = await scan(g, "i32", g.readI32(player), { resident: false });
    const fullMs = performance.now() - t0;
    const rss2 = vmRss(pid);
    const pte2 = vmPte(pid);
    if (!Array.from(full.addresses()).includes(player)) throw new Error("the full read missed the game's health");
    console.log(`\n  fresh Bun process (the demo game): ${mib(selectedBytes)} selected (rw-p), ${mib(residentBytes)} of it resident (smaps Rss)`);
    console.log(`  first i32 scan, resident only:   ${fmt(residentMs)}  read ${mib(first.stats.read)} (${(first.stats.read / residentBytes).toFixed(2)}x the resident writable bytes; goal <= 2x), pagemap: ${first.stats.pagemap}, VmRSS ${rss1 - rss0 >= 0 ? "+" : ""}${((rss1 - rss0) / 1024).toFixed(0)} KiB (goal < 1 MiB), page tables +${((pte1 - pte0) / 1024).toFixed(0)} KiB`);
    console.log(`  first i32 scan, resident: false: ${fmt(fullMs)}  read ${mib(full.stats.read)}, VmRSS +${mib(rss2 - rss1)}, page tables +${mib(pte2 - pte1)}`);
    console.log(`  resident only takes ${(residentMs / fullMs * 100).toFixed(2)}% of the full read's time (1/${(fullMs / residentMs).toFixed(0)}; goal <= 1/20)`);
  } finally {
    game.kill();
  }
} finally {
  terminateScanWorkers();
}

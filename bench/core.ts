/**
 * Core benchmark: the library beside a C reference and /proc/PID/mem, in one
 * run, on one target. Prints medians and ratios.
 *
 *   bun bench/core.ts
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Process, RemoteReader } from "../src/index.ts";
import { Target } from "../test/helpers/target.ts";
import { BUILD_DIR, buildC, machine, median, nsPerOp, printTable, runC, type Row } from "./harness.ts";

const ROUNDS = 7;
const SIZE = 64 * 2 ** 20;

const exe = buildC("core");
const target = await Target.start();
const proc = new Process(target.pid);
const region = await target.map(SIZE);
await target.cmd(`fill ${region.toString(16)} ${SIZE.toString(16)} 5a`);
console.log(`machine: ${machine()}`);
console.log(`target: pid ${target.pid}, ${SIZE / 2 ** 20} MiB region at 0x${region.toString(16)}; ${ROUNDS} rounds, medians`);

const c = (mode: string, iterations: number, extra: (string | number)[] = []) =>
  exe ? runC(exe, [target.pid, region, SIZE, mode, iterations, ...extra]) : NaN;
const fmt = (n: number, unit: string) => (Number.isNaN(n) ? "-" : `${n.toFixed(n < 10 ? 2 : 1)} ${unit}`);
const ratio = (a: number, b: number) => (Number.isNaN(b) ? "-" : `${(a / b).toFixed(3)}x`);

// 1. One 8-byte read per call.
const READS = 200_000;
const lib8: number[] = [];
const reader1: number[] = [];
const c8: number[] = [];
const mem8: number[] = [];
const one = new RemoteReader(target.pid, [{ address: region + 64, length: 8 }]);
for (let r = 0; r < ROUNDS; r++) {
  lib8.push(nsPerOp(READS, () => proc.readF64(region + 64)));
  reader1.push(nsPerOp(READS, () => one.read()));
  c8.push(c("read8", READS));
  mem8.push(c("mem8", READS));
}

// 2. Bulk: the whole region in 1 MiB chunks.
const chunk = new Uint8Array(new ArrayBuffer(2 ** 20));
const libBulk: number[] = [];
const cBulk: number[] = [];
const memBulk: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  libBulk.push(
    nsPerOp(1, () => {
      for (let off = 0; off < SIZE; off += chunk.byteLength) proc.readInto(region + off, chunk);
    }),
  );
  cBulk.push(c("bulk", 1));
  memBulk.push(c("membulk", 1));
}
const gbps = (ns: number) => SIZE / ns; // bytes per ns = GB/s

// 3. 1,024 random 8-byte ranges in one reader.
const offsets = Array.from({ length: 1024 }, () => Math.floor((Math.random() * (SIZE - 8)) / 8) * 8);
const offsetsFile = join(BUILD_DIR, "offsets.txt");
writeFileSync(offsetsFile, offsets.join("\n"));
const random = new RemoteReader(target.pid, offsets.map((o) => ({ address: region + o, length: 8 })));
const libRandom: number[] = [];
const cRandom: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  libRandom.push(nsPerOp(2000, () => random.read()) / 1024);
  cRandom.push(c("random1024", 2000, [offsetsFile]));
}

// 4. 1,024 ranges inside one 64 KiB window (coalesced into one span) vs C reading the window and picking values.
const window = new RemoteReader(target.pid, Array.from({ length: 1024 }, (_, i) => ({ address: region + i * 64, length: 8 })));
let sink = 0;
const libWindow: number[] = [];
const cWindow: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  libWindow.push(
    nsPerOp(5000, () => {
      window.read();
      sink += window.f64(3);
    }),
  );
  cWindow.push(c("window", 5000));
}

// 5. Heap growth over a million reads.
Bun.gc(true);
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < 1_000_000; i++) one.read();
Bun.gc(true);
const growth = process.memoryUsage().heapUsed - before;

const rows: Row[] = [
  { name: "8-byte read, one call (readF64)", library: fmt(median(lib8), "ns"), reference: fmt(median(c8), "ns"), ratio: ratio(median(lib8), median(c8)), goal: "<= 1.05x C time" },
  { name: "8-byte read, RemoteReader.read()", library: fmt(median(reader1), "ns"), reference: fmt(median(c8), "ns"), ratio: ratio(median(reader1), median(c8)), goal: "<= 1.05x C time" },
  { name: "8-byte read, /proc/PID/mem pread (C)", library: fmt(median(lib8), "ns"), reference: fmt(median(mem8), "ns"), ratio: ratio(median(lib8), median(mem8)), goal: "for comparison" },
  { name: "bulk 1 MiB chunks, throughput", library: fmt(gbps(median(libBulk)), "GB/s"), reference: fmt(gbps(median(cBulk)), "GB/s"), ratio: ratio(median(cBulk), median(libBulk)), goal: ">= 0.95x C throughput" },
  { name: "bulk via /proc/PID/mem pread (C)", library: fmt(gbps(median(libBulk)), "GB/s"), reference: fmt(gbps(median(memBulk)), "GB/s"), ratio: ratio(median(memBulk), median(libBulk)), goal: "for comparison" },
  { name: "1,024 random 8-byte ranges, per range", library: fmt(median(libRandom), "ns"), reference: fmt(median(cRandom), "ns"), ratio: ratio(median(libRandom), median(cRandom)), goal: "<= 1.05x C time" },
  { name: "1,024 ranges in a 64 KiB window", library: fmt(median(libWindow) / 1000, "us"), reference: fmt(median(cWindow) / 1000, "us"), ratio: ratio(median(libWindow), median(cWindow)), goal: "<= 2x C (one span + pick)" },
];
printTable("Core: process-vm vs C (process_vm_readv) and /proc/PID/mem", rows);
console.log(`\n  RemoteReader.read() x 1,000,000: heap grew by ${(growth / 1024).toFixed(1)} KiB (goal: under 1024 KiB)`);

// 6. The identity check that every write, freeze tick and watch poll makes (a 1-byte pread on /proc/PID/mem).
const verifyNs: number[] = [];
const write8: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  verifyNs.push(nsPerOp(READS, () => proc.verify()));
  write8.push(nsPerOp(READS, () => proc.writeF64(region + 64, 1.5)));
}
console.log(`  Process.verify() (identity check before each write): ${fmt(median(verifyNs), "ns")}; 8-byte write (writeF64, check included): ${fmt(median(write8), "ns")}`);
if (sink === 42) console.log("");
target.kill();

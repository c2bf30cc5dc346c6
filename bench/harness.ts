/**
 * Shared pieces of the benchmarks: building the C references on the spot,
 * medians, and printing a table of ratios.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
export const BUILD_DIR = join(ROOT, ".build");

/** Compiles bench/c/NAME.c with -O2; returns the executable, or null (with a message) without a compiler. */
export function buildC(name: string): string | null {
  if (spawnSync("cc", ["--version"]).status !== 0) {
    console.log(`(no C compiler: the C reference column for ${name} is skipped)`);
    return null;
  }
  mkdirSync(BUILD_DIR, { recursive: true });
  const exe = join(BUILD_DIR, name);
  const out = spawnSync("cc", ["-O2", "-o", exe, join(ROOT, "bench/c", `${name}.c`)], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`cc failed for bench/c/${name}.c:\n${out.stderr}`);
  return exe;
}

/** Runs a C reference and returns the number it prints. */
export function runC(exe: string, args: (string | number)[]): number {
  const out = spawnSync(exe, args.map(String), { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`${exe} ${args.join(" ")} exited with ${out.status}: ${out.stderr}`);
  return Number(out.stdout.trim());
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nanoseconds per operation of `fn` called `iterations` times. */
export function nsPerOp(iterations: number, fn: () => void): number {
  const start = Bun.nanoseconds();
  for (let i = 0; i < iterations; i++) fn();
  return (Bun.nanoseconds() - start) / iterations;
}

export interface Row {
  name: string;
  library: string;
  reference: string;
  ratio: string;
  goal: string;
}

/** Prints rows as an aligned table. */
export function printTable(title: string, rows: Row[]): void {
  const header: Row = { name: "measure", library: "process-vm", reference: "reference", ratio: "ratio", goal: "goal" };
  const all = [header, ...rows];
  const width = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  console.log(`\n${title}`);
  for (const r of all) {
    console.log(
      `  ${r.name.padEnd(width("name"))}  ${r.library.padStart(width("library"))}  ${r.reference.padStart(width("reference"))}  ${r.ratio.padStart(width("ratio"))}  ${r.goal}`,
    );
  }
}

/** A short description of this machine, for the figures. */
export function machine(): string {
  const cpu = (() => {
    try {
      const info = require("node:fs").readFileSync("/proc/cpuinfo", "utf8") as string;
      return /model name\s*:\s*(.*)/.exec(info)?.[1] ?? "unknown CPU";
    } catch {
      return "unknown CPU";
    }
  })();
  const os = require("node:os") as typeof import("node:os");
  return `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Bun ${Bun.version}`;
}

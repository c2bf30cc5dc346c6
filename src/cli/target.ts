/**
 * TARGET lookup: a pid, or a process name matched as people expect: an exact
 * name first, then a unique prefix of the name; never `pvm` itself. `pvm ps`
 * matches the same way.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { Process } from "../process.ts";
import { UsageError } from "./util.ts";

/** One process, as `pvm ps` shows it. */
export interface ProcessInfo {
  pid: number;
  /** The kernel's name (`comm`, at most 15 characters). */
  name: string;
  /** The names the process answers to: `comm`, the base name of `argv[0]`, and for an interpreter the script's base name. */
  names: string[];
  /** The command line, arguments joined by spaces. */
  command: string;
}

const INTERPRETER = /^(bun|bun\.exe|node|nodejs|deno|python[\d.]*|perl|ruby|sh|bash|dash|zsh|java)$/;
const base = (s: string | undefined) => (s ? s.slice(s.lastIndexOf("/") + 1) : "");

/** Whether `pid` (our parent) is a launcher of this very `pvm` (an npx or bin shim), which lookups leave out too. */
function isPvmLauncher(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.slice(0, 3).some((a) => /(^|\/)(pvm|main\.ts)$/.test(a));
  } catch {
    return false;
  }
}

/**
 * Every process but this one, sorted by pid (kernel threads included, with an empty command).
 *
 * @example
 * ```ts
 * for (const p of listProcesses()) console.log(p.pid, p.name);
 * ```
 */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    if (pid === process.ppid && isPvmLauncher(pid)) continue;
    try {
      const name = readFileSync(`/proc/${entry}/comm`, "utf8").replace(/\n$/, "");
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      while (argv.length && argv[argv.length - 1] === "") argv.pop();
      const names = [name];
      const argv0 = base(argv[0]);
      if (argv0 && !names.includes(argv0)) names.push(argv0);
      if (INTERPRETER.test(argv0)) {
        const script = base(argv.slice(1).find((a) => !a.startsWith("-")));
        if (script && !names.includes(script)) names.push(script);
      }
      out.push({ pid, name, names, command: argv.join(" ") });
    } catch {
      // gone meanwhile, or not ours to look at
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/**
 * The processes `spec` names: those with exactly that name if any, else those
 * whose name starts with it. With `full`, those whose command line contains it.
 *
 * @example
 * ```ts
 * matchProcesses("nethack"); // nethack-console, by prefix
 * ```
 */
export function matchProcesses(spec: string, full = false, all: readonly ProcessInfo[] = listProcesses()): ProcessInfo[] {
  if (full) return all.filter((p) => p.command.includes(spec));
  const exact = all.filter((p) => p.names.includes(spec));
  if (exact.length) return exact;
  return all.filter((p) => p.names.some((n) => n.startsWith(spec)));
}

/**
 * The process a command names: a pid, or a name (exact first, then a unique
 * prefix). Several candidates are a usage error that lists them with pids.
 *
 * @example
 * ```ts
 * const proc = openTarget("game");
 * ```
 */
export function openTarget(spec: string | undefined): Process {
  if (spec === undefined || spec === "") throw new UsageError("missing TARGET: a pid or a process name");
  if (/^\d+$/.test(spec)) {
    const pid = Number(spec);
    if (pid < 1 || pid > 0x7fffffff) throw new UsageError(`no such pid ${spec}`);
    return new Process(pid);
  }
  const found = matchProcesses(spec);
  if (found.length === 0) throw new UsageError(`no process named "${spec}" (pvm ps lists them)`);
  if (found.length > 1) {
    const list = found.slice(0, 10).map((p) => `  ${String(p.pid).padStart(7)}  ${p.name.padEnd(16)} ${p.command.slice(0, 80)}`);
    if (found.length > 10) list.push(`  … ${found.length - 10} more`);
    const how = found.every((p) => p.names.includes(spec)) ? "are named" : "have a name starting with";
    throw new UsageError(`${found.length} processes ${how} "${spec}"; give a pid:\n${list.join("\n")}`);
  }
  return new Process(found[0]!.pid);
}

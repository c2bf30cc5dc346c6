#!/usr/bin/env bun
/**
 * `pvm`: the process-vm command line.
 *
 * Conventions for commands (read this before adding one):
 *
 * - A command is one file in `src/cli/commands/` exporting a {@link Command}
 *   (`name`, `usage`, `summary`, `options`, `examples`, `json`, `run`), plus one
 *   line in `COMMANDS` below. Nothing else: help, `--help`/`-h`, `pvm help NAME`,
 *   strict option parsing, "did you mean", `--no-color` and `--json` come from here.
 * - Options are declared as `node:util` `parseArgs` options with a `description`
 *   (and `value: "N"` for the help); read them with `options.flag/string/strings/number`.
 *   Negative numbers are values, `--` ends the options. Unknown options are refused (status 2).
 * - Output goes through `out` (an {@link Output}): results with `out.line` (text)
 *   or `out.document` / `out.record` (JSON, when `out.json`); notes, hints and
 *   warnings with `out.note` (stderr); progress with `out.progress(label)` (drawn
 *   only on a terminal); colour only through `out.paint`. No chatter on stdout:
 *   a one-shot command prints its results and nothing else.
 * - Set `json: true` for a command that prints data, and print addresses in JSON
 *   with `jsonAddress` (a number and a `0x` string) and values with `jsonValue`.
 * - TARGET: `openTarget(args[0])` (pid, exact name, unique name prefix).
 *   ADDRESS: `parseAddress(proc, text)` takes numbers and pointer chains.
 *   Types: `parseType` (one set of names everywhere).
 * - Exit status: return a number from `run` (nothing means 0). Throw `UsageError`
 *   for a command-line mistake (2); other errors print `pvm NAME: message` (1).
 *   Long work takes `signal` (aborted on Ctrl-C or SIGTERM): stop, print what was
 *   found so far, and return; `pvm` then exits with 130. Set `interruptible: true`
 *   on such a command; any other command is ended at once by Ctrl-C (status 130).
 *   Anything that must be undone before exit (a patch, a child process) registers
 *   with `onExit` from `./exit.ts`.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { ProcessVmError } from "../errors.ts";
import { commandHelp, didYouMean, parseCommandLine } from "./args.ts";
import type { Command } from "./command.ts";
import { attach } from "./commands/attach.ts";
import { demo } from "./commands/demo.ts";
import { maps } from "./commands/maps.ts";
import { ps } from "./commands/ps.ts";
import { dump, read } from "./commands/read.ts";
import { find, scanCommand } from "./commands/scan.ts";
import { freezeCommand, pointersCommand, resolveCommand, watchCommand } from "./commands/trainer.ts";
import { tableCommand } from "./commands/table.ts";
import { ui } from "./commands/ui.ts";
import { patchCommand, write } from "./commands/write.ts";
import { runExitHooks } from "./exit.ts";
import { BrokenPipeError, Output } from "./output.ts";
import { UsageError } from "./util.ts";

/** Every command, in the order `pvm help` lists them. Add yours here. */
export const COMMANDS: readonly Command[] = [
  demo,
  attach,
  scanCommand,
  find,
  read,
  dump,
  write,
  patchCommand,
  resolveCommand,
  freezeCommand,
  watchCommand,
  pointersCommand,
  ps,
  maps,
  tableCommand,
  ui,
];

/** The package's version, from its package.json (two levels up in the repository, one in a built `dist/`). */
function version(): string {
  for (const path of ["../../package.json", "../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "process-vm" && pkg.version) return pkg.version;
    } catch {
      // not there
    }
  }
  return "unknown";
}

/**
 * The overview `pvm`, `pvm help` and `pvm --help` print.
 *
 * @example
 * ```ts
 * console.log(overview());
 * ```
 */
export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "pvm: read, write and scan another process's memory (process_vm_readv/process_vm_writev)",
    "",
    "usage: pvm COMMAND [ARGS…] [options]",
    "       pvm help COMMAND | pvm COMMAND --help     one command's options and examples",
    "       pvm --version",
    "",
    "TARGET is a pid or a process name (exact, else a unique prefix). ADDRESS is a number (decimal or 0x-hex)",
    'or a pointer chain ("game+0x2af108 -> 0x10 -> 0x8"). Data commands take --json.',
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "exit status: 0 success, 1 failure (or no match for scan/find), 2 usage mistake, 130 Ctrl-C, 143 SIGTERM",
  ].join("\n");
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (command) return command;
  const guess = didYouMean(name, COMMANDS.map((c) => c.name));
  throw new UsageError(`unknown command "${name}"${guess ? ` (did you mean ${guess}?)` : ""}; pvm help lists them`);
}

/** The exit status after an interruption: 130 for SIGINT (Ctrl-C), 143 for SIGTERM (from the abort's reason). */
function interruptedStatus(signal: AbortSignal): number {
  const status = (signal.reason as { status?: unknown } | undefined)?.status;
  return typeof status === "number" ? status : 130;
}

/** Errors that are mistakes in what was asked (status 2), as opposed to failures at run time (1). */
function isUsageMistake(error: unknown): boolean {
  return error instanceof UsageError || error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError;
}

/**
 * Runs `pvm` with `argv` (without the program name); resolves to the exit status.
 * `signal` is what Ctrl-C aborts (the caller installs the handlers).
 *
 * @example
 * ```ts
 * process.exitCode = await main(["read", "1234", "0x7f0000001000", "i32"]);
 * ```
 */
export async function main(argv: readonly string[], signal: AbortSignal = new AbortController().signal, onCommand?: (command: Command) => void): Promise<number> {
  const args = [...argv];
  let noColor = false;
  while (args[0] === "--no-color") {
    noColor = true;
    args.shift();
  }
  const [first, ...rest] = args;
  const out = new Output({ noColor });
  const fail = (message: string, status: number) => {
    out.note(`${out.paintErr("error", "pvm:")} ${message}`);
    return status;
  };
  if (first === undefined || first === "--help" || first === "-h") {
    out.line(overview());
    return 0;
  }
  if (first === "--version" || first === "-V" || first === "version") {
    out.line(version());
    return 0;
  }
  let command: Command;
  try {
    if (first === "help") {
      if (rest[0] === undefined) {
        out.line(overview());
        return 0;
      }
      out.line(commandHelp(findCommand(rest[0])));
      return 0;
    }
    if (first.startsWith("-")) {
      const known = ["--help", "--version", "--no-color"];
      const guess = didYouMean(first.replace(/^-+/, ""), known.map((k) => k.slice(2)));
      throw new UsageError(`unknown option ${first}${guess ? ` (did you mean --${guess}?)` : ""}; a command comes first: pvm help`);
    }
    command = findCommand(first);
  } catch (error) {
    return fail((error as Error).message, 2);
  }
  let parsed;
  try {
    parsed = parseCommandLine(command, rest);
  } catch (error) {
    return fail(`${command.name}: ${(error as Error).message}\nusage: pvm ${command.name} ${command.usage} [options]   (pvm ${command.name} --help)`, 2);
  }
  if (parsed.options.flag("help")) {
    out.line(commandHelp(command));
    return 0;
  }
  onCommand?.(command);
  const cmdOut = new Output({ json: parsed.options.flag("json"), noColor: noColor || parsed.options.flag("no-color") });
  try {
    const status = (await command.run({ args: parsed.args, options: parsed.options, out: cmdOut, signal })) ?? 0;
    return signal.aborted ? interruptedStatus(signal) : status;
  } catch (error) {
    if (error instanceof BrokenPipeError) return 0;
    if (signal.aborted) return fail(`${command.name}: interrupted`, interruptedStatus(signal));
    if (error instanceof UsageError) {
      return fail(`${command.name}: ${error.message}\nusage: pvm ${command.name} ${command.usage} [options]   (pvm ${command.name} --help)`, 2);
    }
    if (isUsageMistake(error)) return fail(`${command.name}: ${(error as Error).message}`, 2);
    if (error instanceof ProcessVmError || error instanceof Error) return fail(`${command.name}: ${error.message}`, 1);
    throw error;
  }
}

if (import.meta.main) {
  const controller = new AbortController();
  let running: Command | undefined;
  const interrupt = (status: number) => {
    if (running?.interruptible && !controller.signal.aborted) {
      controller.abort(Object.assign(new DOMException("interrupted", "AbortError"), { status }));
      return;
    }
    // A quick command, or a second Ctrl-C: do not wait; undo what must be undone and go.
    runExitHooks();
    process.exit(status);
  };
  process.on("SIGINT", () => interrupt(130));
  process.on("SIGTERM", () => interrupt(143));
  // A reader that goes away (pvm … | head) ends pvm quietly, as in rg or git.
  process.stdout.on("error", (error: Error & { code?: string }) => {
    if (error.code !== "EPIPE") throw error;
    runExitHooks();
    process.exit(0);
  });
  process.exitCode = await main(process.argv.slice(2), controller.signal, (command) => (running = command));
}

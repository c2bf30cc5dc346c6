/**
 * The shape of a `pvm` command, and what a command gets when it runs.
 *
 * @module
 */
import type { Output } from "./output.ts";

/** One option of a command, as `node:util` `parseArgs` takes it, plus its help. */
export interface OptionSpec {
  /** `"boolean"` for a flag, `"string"` for an option that takes a value. */
  readonly type: "boolean" | "string";
  /** One-letter alias (`-t`). */
  readonly short?: string;
  /** The value's name in the help (`TYPE`, `MS`). */
  readonly value?: string;
  /** Whether the option may be given several times (values collected in order). */
  readonly multiple?: boolean;
  /** One line of help. */
  readonly description: string;
}

/** Parsed options of one command line. */
export interface Options {
  /** The value of a `"string"` option, or `undefined` when absent (the last one when given twice). */
  string(name: string): string | undefined;
  /** Every value of a `multiple` option, in order. */
  strings(name: string): string[];
  /** Whether a boolean flag was given. */
  flag(name: string): boolean;
  /** The number given to an option (decimal or 0x-hex), or `fallback` when absent; a usage error otherwise. */
  number(name: string, fallback: number): number;
  number(name: string, fallback?: number): number | undefined;
}

/** What a command gets: its positional arguments, options, output, and the Ctrl-C signal. */
export interface Context {
  /** Positional arguments, in order (everything after `--` included). */
  readonly args: readonly string[];
  readonly options: Options;
  /** Where results (stdout), notes and progress (stderr) go; JSON when `--json` was given. */
  readonly out: Output;
  /** Aborted on the first Ctrl-C (SIGINT) or SIGTERM: stop, print what was found so far, and return. */
  readonly signal: AbortSignal;
}

/**
 * One `pvm` subcommand. See the conventions at the top of `src/cli/main.ts`.
 *
 * @example
 * ```ts
 * export const hello: Command = {
 *   name: "hello",
 *   usage: "TARGET",
 *   summary: "say hello to a process",
 *   options: { loud: { type: "boolean", description: "shout" } },
 *   examples: ["pvm hello game --loud"],
 *   run({ args, options, out }) {
 *     out.line(options.flag("loud") ? `HELLO ${args[0]}` : `hello ${args[0]}`);
 *   },
 * };
 * ```
 */
export interface Command {
  /** The word after `pvm`. */
  readonly name: string;
  /** Its positional arguments, for the help text (`TARGET ADDRESS [TYPE]`). */
  readonly usage: string;
  /** One line on what it does (shown in `pvm help`). */
  readonly summary: string;
  /** More on what it does, shown by `pvm COMMAND --help` (a few lines). */
  readonly description?: string;
  /** Its options (`--help`, `--no-color`, and `--json` when {@link json} is set, are added). */
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** Whether it takes `--json`: set for every command that prints data. */
  readonly json?: boolean;
  /**
   * Set when `run` watches `signal` (long or endless work): the first Ctrl-C
   * aborts it and lets it print what it has. Otherwise Ctrl-C ends `pvm` at once
   * (after the `onExit` hooks) with status 130.
   */
  readonly interruptible?: boolean;
  /** Example command lines, shown by `--help`. At least one. */
  readonly examples: readonly string[];
  /**
   * Runs it and returns the exit status (nothing means 0). Throws `UsageError`
   * for a command-line mistake (status 2); any other error is a runtime
   * failure (status 1). After Ctrl-C, return normally: `pvm` exits with 130.
   */
  run(context: Context): Promise<number | void> | number | void;
}

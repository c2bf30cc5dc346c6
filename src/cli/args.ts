/**
 * Command-line parsing for `pvm`: `node:util` `parseArgs` in strict mode, with
 * a pre-pass that keeps negative numbers (`-123456`, `-0x10`, `-1.5`) as
 * values, and "did you mean" suggestions for mistyped names.
 *
 * @module
 */
import { parseArgs as nodeParseArgs } from "node:util";
import type { Command, OptionSpec, Options } from "./command.ts";
import { parseNumber, UsageError } from "./util.ts";

/** Options every command takes. */
export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  help: { type: "boolean", short: "h", description: "show this help" },
  "no-color": { type: "boolean", description: "no colour (also when NO_COLOR is set or output is not a terminal)" },
};

/** `--big-endian`, for the commands that read or write typed values. */
export const BIG_ENDIAN_OPTION: OptionSpec = { type: "boolean", description: "the values are big-endian in memory (a console emulator's, network data)" };

/** The option every data command takes. */
export const JSON_OPTION: OptionSpec = { type: "boolean", description: "print JSON (see the README for the shapes)" };

/**
 * The options `command` accepts, with the common ones.
 *
 * @example
 * ```ts
 * Object.keys(optionsOf(scanCommand)); // ["type", …, "json", "help", "no-color"]
 * ```
 */
export function optionsOf(command: Command): Record<string, OptionSpec> {
  return { ...(command.options ?? {}), ...(command.json ? { json: JSON_OPTION } : {}), ...COMMON_OPTIONS };
}

/**
 * Edit distance (insertions, deletions, substitutions, adjacent swaps).
 *
 * @example
 * ```ts
 * distance("tpye", "type"); // 1
 * ```
 */
export function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The closest of `candidates` to `word`, when one is close enough to be a typo
 * (or `word` is a prefix of exactly one of them); otherwise `undefined`.
 *
 * @example
 * ```ts
 * didYouMean("tpye", ["type", "within"]); // "type"
 * ```
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.min(2, Math.floor(word.length / 3)))) return best;
  const prefixed = candidates.filter((c) => c.startsWith(word));
  return word.length >= 2 && prefixed.length === 1 ? prefixed[0] : undefined;
}

/** A negative number as a value (`-5`, `-0x10`, `-1.5`, `-.5`, `-1e3`, `-inf`), or a query such as `- 5`. */
const NEGATIVE = /^-(\d|\.\d|inf(inity)?$|\s)/i;

/** Parsed command line of one command. */
export interface Parsed {
  args: string[];
  options: Options;
}

/**
 * Parses `argv` (what follows the command's name) against `command`'s options,
 * strictly: an unknown option, a missing value or a value given to a flag is a
 * {@link UsageError} naming the option (with a suggestion when one is close).
 * Negative numbers are values, not options; `--` ends the options.
 *
 * @example
 * ```ts
 * const { args, options } = parseCommandLine(scan, ["game", "--type", "i32", "-5"]);
 * ```
 */
export function parseCommandLine(command: Command, argv: readonly string[]): Parsed {
  const specs = optionsOf(command);
  // Pre-pass: negative numbers become placeholders that parseArgs takes as values.
  const saved: string[] = [];
  const placeholder = (s: string) => `\u0000${saved.push(s) - 1}\u0000`;
  let ended = false;
  const args = argv.map((a) => {
    if (ended) return a;
    if (a === "--") ended = true;
    return NEGATIVE.test(a) ? placeholder(a) : a;
  });
  const restore = (s: string) => s.replace(/\u0000(\d+)\u0000/g, (_, i: string) => saved[Number(i)]!);
  const config: Record<string, { type: "boolean" | "string"; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    config[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  }
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = nodeParseArgs({ args, options: config, strict: true, allowPositionals: true });
  } catch (error) {
    throw translate(error as Error & { code?: string }, specs);
  }
  const values = parsed.values;
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === "string") values[k] = restore(v);
    else if (Array.isArray(v)) values[k] = v.map((x) => (typeof x === "string" ? restore(x) : x));
  }
  const options: Options = {
    string(name) {
      const v = values[name];
      if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
      return typeof v === "string" ? v : undefined;
    },
    strings(name) {
      const v = values[name];
      if (Array.isArray(v)) return v.map(String);
      return typeof v === "string" ? [v] : [];
    },
    flag(name) {
      return values[name] === true;
    },
    number(name: string, fallback?: number) {
      const text = options.string(name);
      if (text === undefined) return fallback as number;
      return parseNumber(text, `--${name}`);
    },
  };
  return { args: parsed.positionals.map(restore), options };
}

function translate(error: Error & { code?: string }, specs: Record<string, OptionSpec>): Error {
  const message = error.message;
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const name = /Unknown option '([^']+)'/.exec(message)?.[1] ?? "?";
    const bare = name.replace(/^-+/, "").replace(/=.*$/, "");
    const longs = Object.keys(specs);
    let hint = "";
    if (name.startsWith("--")) {
      const guess = didYouMean(bare, longs);
      if (guess) hint = ` (did you mean --${guess}?)`;
    } else {
      const guess = longs.find((l) => l === bare) ?? didYouMean(bare, longs);
      if (guess) hint = ` (did you mean --${guess}?)`;
    }
    return new UsageError(`unknown option ${name}${hint}`);
  }
  if (error.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const name = /Option '(?:-\w, )?(--[\w-]+)/.exec(message)?.[1] ?? "";
    if (/does not take an argument/.test(message)) return new UsageError(`option ${name} takes no value`);
    const spec = specs[name.slice(2)];
    return new UsageError(`option ${name} needs a value${spec?.value ? ` (${spec.value})` : ""}`);
  }
  return new UsageError(message);
}

/**
 * The help of one command: usage, description, options and examples.
 *
 * @example
 * ```ts
 * console.log(commandHelp(scan));
 * ```
 */
export function commandHelp(command: Command): string {
  const rows: [string, string][] = Object.entries(optionsOf(command)).map(([name, spec]) => [
    `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : ""}`,
    spec.description,
  ]);
  const width = Math.max(...rows.map(([l]) => l.length));
  return [
    `usage: pvm ${command.name}${command.usage ? ` ${command.usage}` : ""} [options]`,
    "",
    command.summary,
    ...(command.description ? ["", command.description] : []),
    "",
    "options:",
    ...rows.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`),
    "",
    command.examples.length > 1 ? "examples:" : "example:",
    ...command.examples.map((e) => `  ${e}`),
  ].join("\n");
}

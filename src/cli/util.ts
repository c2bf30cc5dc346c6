/**
 * Shared pieces of the `pvm` command line: argument parsing, target lookup,
 * number formatting and hex dumps.
 *
 * @module
 */
import { Process } from "../process.ts";
import { isValueType, type ValueType } from "../types.ts";

/** Thrown for a command-line mistake; `pvm` prints the message and exits with status 2. */
export class UsageError extends Error {
  override name = "UsageError" as const;
}

/** Parsed `argv`: positionals and `--flag` / `--key value` options. */
export interface Args {
  positionals: string[];
  flags: Map<string, string | true>;
}

/**
 * Splits `argv` into positionals and options. `--key=value` and `--key value`
 * take a value when `valued` names the key; other `--flags` are booleans.
 *
 * @example
 * ```ts
 * parseArgs(["1234", "--type", "i32", "--force"], ["type"]);
 * ```
 */
export function parseArgs(argv: readonly string[], valued: readonly string[] = []): Args {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      const key = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) flags.set(key, arg.slice(eq + 1));
      else if (valued.includes(key)) {
        const value = argv[++i];
        if (value === undefined) throw new UsageError(`--${key} needs a value`);
        flags.set(key, value);
      } else flags.set(key, true);
    } else positionals.push(arg);
  }
  return { positionals, flags };
}

/**
 * The number given with `--key`, or `fallback` when the option is absent.
 *
 * @example
 * ```ts
 * numberFlag(parseArgs(["--depth", "5"], ["depth"]).flags, "depth", 4); // 5
 * ```
 */
export function numberFlag(flags: Args["flags"], key: string, fallback: number): number;
export function numberFlag(flags: Args["flags"], key: string, fallback?: number): number | undefined;
export function numberFlag(flags: Args["flags"], key: string, fallback?: number): number | undefined {
  const value = flags.get(key);
  if (value === true) throw new UsageError(`--${key} needs a number`);
  return value === undefined ? fallback : parseNumber(value, `--${key}`);
}

/**
 * A number written as hex (`0x7f00`, `7f00h`) or decimal (`4096`).
 *
 * @example
 * ```ts
 * parseNumber("0x10"); // 16
 * ```
 */
export function parseNumber(text: string, what = "number"): number {
  const t = text.trim().replace(/_/g, "");
  let value = NaN;
  if (/^-?0x[0-9a-f]+$/i.test(t)) value = (t.startsWith("-") ? -1 : 1) * parseInt(t.replace(/^-/, "").slice(2), 16);
  else if (/^[0-9a-f]+h$/i.test(t)) value = parseInt(t.slice(0, -1), 16);
  else if (/^-?\d+$/.test(t)) value = Number(t);
  if (!Number.isSafeInteger(value)) throw new UsageError(`${what} must be a decimal or 0x-hex integer (got "${text}")`);
  return value;
}

/**
 * The process a command names: a pid, or a name that exactly one process has.
 *
 * @example
 * ```ts
 * const proc = openTarget("game");
 * ```
 */
export function openTarget(spec: string | undefined): Process {
  if (spec === undefined) throw new UsageError("missing target: a pid or a process name");
  if (/^\d+$/.test(spec)) return new Process(Number(spec));
  const found = Process.find(spec).filter((p) => p.pid !== process.pid);
  if (found.length === 0) throw new UsageError(`no process named "${spec}"`);
  if (found.length > 1) {
    // Each Process holds descriptors (its identity): release the ones not handed out now, not at some later GC.
    for (const p of found) p.close();
    throw new UsageError(`${found.length} processes are named "${spec}" (${found.map((p) => p.pid).join(", ")}): give a pid`);
  }
  return found[0]!;
}

/**
 * A value type name, with scanmem's aliases (`int32`, `float`, `double`).
 *
 * @example
 * ```ts
 * parseType("float"); // "f32"
 * ```
 */
export function parseType(text: string | undefined, fallback: ValueType = "i32"): ValueType {
  if (text === undefined) return fallback;
  const aliases: Record<string, ValueType> = {
    int8: "i8", int16: "i16", int32: "i32", int64: "i64", uint8: "u8", uint16: "u16", uint32: "u32", uint64: "u64",
    float: "f32", float32: "f32", double: "f64", float64: "f64", byte: "u8", short: "i16", int: "i32", long: "i64",
  };
  const type = aliases[text] ?? text;
  if (!isValueType(type)) throw new UsageError(`unknown type "${text}" (i8 u8 i16 u16 i32 u32 i64 u64 f32 f64)`);
  return type;
}

/** `0x`-prefixed hex. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * A classic hex dump: address, 16 bytes in hex, and their printable ASCII.
 *
 * @example
 * ```ts
 * console.log(hexDump(0x1000, proc.read(0x1000, 64)));
 * ```
 */
export function hexDump(address: number, bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, off + 16);
    const hexes = Array.from(row, (b) => b.toString(16).padStart(2, "0"));
    const left = hexes.slice(0, 8).join(" ");
    const right = hexes.slice(8).join(" ");
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${(address + off).toString(16).padStart(12, "0")}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines.join("\n");
}

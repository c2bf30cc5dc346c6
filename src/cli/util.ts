/**
 * Shared pieces of the `pvm` command line: numbers, type names, values,
 * addresses (or pointer chains) and hex dumps.
 *
 * @module
 */
import type { Process } from "../process.ts";
import { checkValue, isValueType, type Value, type ValueType } from "../types.ts";

/**
 * Thrown for a command-line mistake; `pvm` prints the message and exits with status 2.
 *
 * @example
 * ```ts
 * if (args[1] === undefined) throw new UsageError("missing ADDRESS");
 * ```
 */
export class UsageError extends Error {
  override name = "UsageError" as const;
}

/**
 * A number written as hex (`0x7f00`, `7f00h`) or decimal (`4096`), `_` allowed between digits.
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

/** The value types, in the order the help lists them. */
export const VALUE_TYPES: readonly ValueType[] = ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64"];

/**
 * Other names of the value types, each with one meaning everywhere. `int`,
 * `int8` … `int64` are not among them: in scans (as in scanmem) they mean
 * "either sign" (and `int` any width), so a read or write that needs one
 * signedness refuses them.
 */
export const TYPE_ALIASES: Readonly<Record<string, ValueType>> = {
  uint8: "u8", uint16: "u16", uint32: "u32", uint64: "u64", byte: "u8", float: "f32", float32: "f32", double: "f64", float64: "f64",
};

/** What each type word means, for help texts. */
export const TYPES_HELP =
  "i8 u8 i16 u16 i32 u32 i64 u64 f32 f64 (aliases uint8…uint64, float, double); scans also take int (any integer width, either sign), int8 int16 int32 int64 (either sign), string and bytes";

/** The types a scan takes besides the value types. */
export const SCAN_TYPES = ["int", "int8", "int16", "int32", "int64", "string", "bytes"] as const;

/**
 * A type name: one of the value types or an alias of one, or one of `extra`
 * (`int`, `string`, `bytes`: where the command takes them). The same word means
 * the same type in every command; `int` is always "any integer width".
 *
 * @example
 * ```ts
 * parseType("float"); // "f32"
 * parseType("int", ["int", "string", "bytes"]); // "int"
 * ```
 */
export function parseType<E extends string = never>(text: string, extra: readonly E[] = []): ValueType | E {
  const word = text.toLowerCase();
  if ((extra as readonly string[]).includes(word)) return word as E;
  const type = TYPE_ALIASES[word] ?? word;
  if (isValueType(type)) return type;
  if (word === "int") throw new UsageError(`type int means any integer width and is for scans; give a width here (i8 … u64)`);
  if (/^int(8|16|32|64)$/.test(word)) throw new UsageError(`type ${word} means either sign and is for scans; give i${word.slice(3)} or u${word.slice(3)} here`);
  const more = extra.length ? ` ${extra.join(" ")}` : "";
  throw new UsageError(`unknown type "${text}" (${VALUE_TYPES.join(" ")}${more}; aliases uint8…uint64, float, double)`);
}


/**
 * Parses VALUE for TYPE: integers in decimal or hex, floats as JavaScript numbers.
 *
 * @example
 * ```ts
 * parseValue("u64", "0xffffffffffffffff"); // 18446744073709551615n
 * ```
 */
export function parseValue(type: ValueType, text: string): Value {
  if (text.trim() === "") throw new UsageError("VALUE is empty");
  try {
    if (type === "f32" || type === "f64") {
      const t = text.trim().toLowerCase();
      const n = /^[+-]?inf(inity)?$/.test(t) ? (t.startsWith("-") ? -Infinity : Infinity) : Number(t);
      if (Number.isNaN(n) && t !== "nan") throw new UsageError(`"${text}" is not a number`);
      return checkValue(type, n);
    }
    if (type === "i64" || type === "u64") {
      const t = text.trim().replace(/_/g, "");
      const negative = t.startsWith("-");
      const big = BigInt(negative ? t.slice(1) : t);
      return checkValue(type, negative ? -big : big);
    }
    return checkValue(type, parseNumber(text, "VALUE"));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`VALUE: ${(error as Error).message}`);
  }
}

/**
 * Whether an ADDRESS argument is a plain number (as opposed to a pointer chain).
 *
 * @example
 * ```ts
 * isPlainAddress("0x7f00"); // true
 * isPlainAddress("game+0x10 -> 0x8"); // false
 * ```
 */
export function isPlainAddress(text: string): boolean {
  return /^(0x[0-9a-f_]+|[0-9_]+|[0-9a-f]+h)$/i.test(text.trim());
}

/**
 * An ADDRESS argument: a number, or a pointer chain (`game+0x1a2b0 -> 0x10 -> 0x8`,
 * `[[game+1a2b0]+10]+8`) resolved now.
 *
 * @example
 * ```ts
 * const at = parseAddress(proc, "libgame.so+0x20 -> 0x8");
 * ```
 */
export function parseAddress(proc: Process, text: string | undefined, what = "ADDRESS"): number {
  if (text === undefined || text.trim() === "") throw new UsageError(`missing ${what} (a number or a pointer chain)`);
  if (isPlainAddress(text)) {
    const n = parseNumber(text, what);
    if (n < 0) throw new UsageError(`${what} must not be negative (got ${text})`);
    return n;
  }
  if (!/[+\]>]/.test(text)) throw new UsageError(`${what} must be a number or a pointer chain such as "game+0x1a2b0 -> 0x10" (got "${text}")`);
  return proc.resolve(text);
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

/**
 * A `START,END` (or `START-END`, `START..END`) address range.
 *
 * @example
 * ```ts
 * parseRange("0x1000,0x2000"); // [4096, 8192]
 * ```
 */
export function parseRange(text: string, what = "--within"): [number, number] {
  const parts = text.split(/,|\.\.|-(?=0x|\d)/).map((s) => s.trim());
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") throw new UsageError(`${what} takes START,END (got "${text}")`);
  const start = parseNumber(parts[0]!, `${what} START`);
  const end = parseNumber(parts[1]!, `${what} END`);
  if (end < start) throw new UsageError(`${what}: END is below START`);
  return [start, end];
}

export { hex } from "./output.ts";
export { openTarget } from "./target.ts";

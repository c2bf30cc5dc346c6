/**
 * `pvm write TARGET ADDRESS TYPE VALUE [--force]`.
 *
 * @module
 */
import { VALUE_SIZE, checkValue, setValue, type Value } from "../../types.ts";
import type { Command } from "../command.ts";
import { hex, openTarget, parseArgs, parseNumber, parseType, UsageError } from "../util.ts";

/**
 * Parses VALUE for TYPE: integers in decimal or hex, floats as JavaScript numbers.
 *
 * @example
 * ```ts
 * parseValue("u64", "0xffffffffffffffff"); // 18446744073709551615n
 * ```
 */
export function parseValue(type: keyof typeof VALUE_SIZE, text: string): Value {
  if (text.trim() === "") throw new UsageError("VALUE is empty");
  try {
    if (type === "f32" || type === "f64") {
      const n = Number(text);
      if (Number.isNaN(n) && text !== "NaN") throw new UsageError(`"${text}" is not a number`);
      return checkValue(type, n);
    }
    if (type === "i64" || type === "u64") return checkValue(type, BigInt(text));
    return checkValue(type, parseNumber(text, "VALUE"));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`VALUE: ${(error as Error).message}`);
  }
}

/** `pvm write`. */
export const write: Command = {
  name: "write",
  usage: "TARGET ADDRESS TYPE VALUE [--force] | TARGET ADDRESS bytes HEX… [--force]",
  summary: "write a typed value or bytes; --force writes read-only pages through /proc/PID/mem",
  run(argv) {
    const { positionals, flags } = parseArgs(argv);
    const proc = openTarget(positionals[0]);
    const address = parseNumber(positionals[1] ?? "", "ADDRESS");
    const force = flags.has("force");
    if (positionals[2] === "bytes") {
      const text = positionals.slice(3).join("").replace(/\s+/g, "");
      if (!/^([0-9a-f]{2})+$/i.test(text)) throw new UsageError("bytes must be pairs of hex digits, e.g. 90 90 or 9090");
      proc.write(address, Buffer.from(text, "hex"), { force });
      console.log(`wrote ${text.length / 2} bytes at ${hex(address)}`);
      return;
    }
    const type = parseType(positionals[2]);
    if (positionals[3] === undefined) throw new UsageError("missing VALUE");
    const value = parseValue(type, positionals[3]);
    const bytes = new Uint8Array(new ArrayBuffer(VALUE_SIZE[type]));
    setValue(new DataView(bytes.buffer), 0, type, value);
    proc.write(address, bytes, { force });
    console.log(`wrote ${type} ${String(value)} at ${hex(address)}`);
  },
};

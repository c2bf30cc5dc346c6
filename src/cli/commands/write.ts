/**
 * `pvm write` (one typed value, bytes or a string, for good) and `pvm patch`
 * (bytes held until Ctrl-C, then restored, unless `--keep`).
 *
 * @module
 */
import { VALUE_SIZE, getValue, setValue } from "../../types.ts";
import { BIG_ENDIAN_OPTION } from "../args.ts";
import type { Command } from "../command.ts";
import { onExit } from "../exit.ts";
import { hex } from "../output.ts";
import { openTarget } from "../target.ts";
import { parseAddress, parseType, parseValue, UsageError } from "../util.ts";
import { untilStopped } from "./trainer.ts";

/** Re-exported for older imports. */
export { parseValue } from "../util.ts";

function hexBytes(parts: readonly string[]): Uint8Array {
  const text = parts.join("").replace(/\s+/g, "");
  if (!/^([0-9a-f]{2})+$/i.test(text)) throw new UsageError("bytes must be pairs of hex digits, e.g. 90 90 or 9090");
  return new Uint8Array(Buffer.from(text, "hex"));
}

function spaced(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** `pvm write`. */
export const write: Command = {
  name: "write",
  usage: "TARGET ADDRESS|CHAIN TYPE VALUE | TARGET ADDRESS|CHAIN bytes HEX… | TARGET ADDRESS|CHAIN string TEXT",
  summary: "write a typed value, bytes or a NUL-terminated string; prints the value before and after",
  description: "TYPE: i8 u8 i16 u16 i32 u32 i64 u64 f32 f64 (aliases uint8…uint64, float, double). The write stays: pvm patch restores.",
  options: {
    force: { type: "boolean", short: "f", description: "write read-only pages (code) through /proc/PID/mem" },
    "big-endian": BIG_ENDIAN_OPTION,
  },
  examples: ['pvm write nethack "nethack-console+0x2af108" i32 5000', "pvm write 4242 0x7ffd1000 f32 -12.5", "pvm write 4242 0x401000 bytes 90 90 --force"],
  run({ args, options, out }) {
    const proc = openTarget(args[0]);
    const address = parseAddress(proc, args[1]);
    const force = options.flag("force");
    const kind = args[2];
    if (kind === undefined) throw new UsageError("missing TYPE");
    if (kind === "bytes" || kind === "string") {
      if (args.length < 4) throw new UsageError(kind === "bytes" ? "missing HEX bytes" : "missing TEXT");
      const data = kind === "bytes" ? hexBytes(args.slice(3)) : new TextEncoder().encode(`${args.slice(3).join(" ")}\0`);
      const before = proc.read(address, data.length);
      proc.write(address, data, { force });
      out.line(`${hex(address)}  ${spaced(before)} -> ${spaced(data)}`);
      return;
    }
    const type = parseType(kind);
    if (args[3] === undefined) throw new UsageError("missing VALUE");
    if (args.length > 4) throw new UsageError("too many arguments (a chain with spaces must be quoted)");
    const value = parseValue(type, args[3]);
    const bytes = new Uint8Array(new ArrayBuffer(VALUE_SIZE[type]));
    const little = !options.flag("big-endian");
    setValue(new DataView(bytes.buffer), 0, type, value, little);
    const before = proc.read(address, bytes.length);
    proc.write(address, bytes, { force });
    out.line(`${out.paint("address", hex(address))}  ${type} ${String(getValue(new DataView(before.buffer, before.byteOffset), 0, type, little))} -> ${String(value)}`);
  },
};

/** `pvm patch`. */
export const patchCommand: Command = {
  name: "patch",
  interruptible: true,
  usage: "TARGET ADDRESS|CHAIN HEX… | TARGET ADDRESS|CHAIN --nop LENGTH",
  summary: "patch bytes (code too) until Ctrl-C, then restore the original bytes; --keep leaves the patch",
  options: {
    nop: { type: "string", value: "LENGTH", description: "write LENGTH bytes of no-op instructions instead of HEX" },
    keep: { type: "boolean", description: "leave the patch in place and exit at once (the original bytes are printed)" },
    for: { type: "string", value: "MS", description: "restore after MS milliseconds instead of waiting for Ctrl-C" },
  },
  examples: ["pvm patch game 0x401000 90 90", "pvm patch game game+0x1234 --nop 5 --keep"],
  async run({ args, options, out, signal }) {
    const proc = openTarget(args[0]);
    const address = parseAddress(proc, args[1]);
    const nop = options.number("nop");
    if (nop !== undefined && args.length > 2) throw new UsageError("give HEX bytes or --nop LENGTH, not both");
    if (nop === undefined && args.length < 3) throw new UsageError("missing HEX bytes (or --nop LENGTH)");
    if (nop !== undefined && (nop < 1 || nop > 4096)) throw new UsageError("--nop LENGTH must be from 1 to 4096");
    // Without --keep the library also restores the patch if pvm dies of a signal or an error.
    const keep = options.flag("keep");
    const patch = nop === undefined ? proc.patch(address, hexBytes(args.slice(2)), { keep }) : proc.nop(address, nop, { keep });
    out.line(`${out.paint("address", hex(address))}  ${spaced(patch.original)} -> ${spaced(patch.bytes)}`);
    if (keep) return;
    const release = onExit(() => patch.restore());
    try {
      out.note(`patched; ${options.string("for") ? "restoring after the time given" : "Ctrl-C restores the original bytes"}`);
      await untilStopped(signal, options.number("for"));
    } finally {
      release();
      if (patch.restore()) out.note(`restored ${patch.original.length} bytes at ${hex(address)}`);
    }
  },
};


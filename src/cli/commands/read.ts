/**
 * `pvm read TARGET ADDRESS [TYPE] [COUNT]` and `pvm dump TARGET ADDRESS [LENGTH]`.
 *
 * @module
 */
import { VALUE_SIZE, getValue } from "../../types.ts";
import { BIG_ENDIAN_OPTION } from "../args.ts";
import type { Command } from "../command.ts";
import { hex, jsonAddress, jsonValue } from "../output.ts";
import { openTarget } from "../target.ts";
import { hexDump, parseAddress, parseNumber, parseType, TYPES_HELP, UsageError } from "../util.ts";

/** `pvm read`. */
export const read: Command = {
  name: "read",
  usage: "TARGET ADDRESS|CHAIN [TYPE] [COUNT]",
  summary: "read COUNT typed values (default one i32), or a C string, at an address or pointer chain",
  description: `TYPE: ${TYPES_HELP.split(";")[0]}, or string (a NUL-terminated UTF-8 string of at most COUNT bytes, default 4096).`,
  options: { "big-endian": BIG_ENDIAN_OPTION },
  json: true,
  examples: ['pvm read nethack 0x55d0c0de1000 i32', 'pvm read game "game+0x2af108 -> 0x10" f32 4', "pvm read 4242 0x7ffd0000 string --json"],
  run({ args, options, out }) {
    const proc = openTarget(args[0]);
    const address = parseAddress(proc, args[1]);
    if (args.length > 4) throw new UsageError(`too many arguments (a chain with spaces must be quoted)`);
    const typeWord = args[2] ?? "i32";
    if (typeWord.toLowerCase() === "string") {
      const max = args[3] === undefined ? 4096 : parseNumber(args[3], "COUNT");
      const text = proc.readCString(address, max);
      if (out.json) out.document([{ ...jsonAddress(address), type: "string", value: text }]);
      else out.line(JSON.stringify(text));
      return;
    }
    const type = parseType(typeWord);
    const count = args[3] === undefined ? 1 : parseNumber(args[3], "COUNT");
    if (count < 1 || count > 1 << 20) throw new UsageError("COUNT must be from 1 to 1048576");
    const size = VALUE_SIZE[type];
    const bytes = proc.read(address, size * count);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const little = !options.flag("big-endian");
    const values = Array.from({ length: count }, (_, i) => getValue(view, i * size, type, little));
    if (out.json) out.document(values.map((v, i) => ({ ...jsonAddress(address + i * size), type, value: jsonValue(v) })));
    else values.forEach((v, i) => out.line(`${out.paint("address", hex(address + i * size))}  ${String(v)}`));
  },
};

/** `pvm dump`. */
export const dump: Command = {
  name: "dump",
  usage: "TARGET ADDRESS|CHAIN [LENGTH]",
  summary: "hex dump of LENGTH bytes (default 256) at an address or pointer chain",
  json: true,
  examples: ["pvm dump nethack 0x55d0c0de1000 64", "pvm dump 4242 0x7ffd0000 16 --json"],
  run({ args, out }) {
    const proc = openTarget(args[0]);
    const address = parseAddress(proc, args[1]);
    const length = args[2] === undefined ? 256 : parseNumber(args[2], "LENGTH");
    if (length < 1 || length > 1 << 26) throw new UsageError("LENGTH must be from 1 to 64 MiB");
    const bytes = proc.read(address, length);
    if (out.json) out.document({ ...jsonAddress(address), length: bytes.length, hex: Buffer.from(bytes).toString("hex") });
    else out.line(hexDump(address, bytes));
  },
};

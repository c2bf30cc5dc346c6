/**
 * `pvm read TARGET ADDRESS [TYPE] [COUNT]` and `pvm dump TARGET ADDRESS LENGTH`.
 *
 * @module
 */
import { VALUE_SIZE, getValue } from "../../types.ts";
import type { Command } from "../command.ts";
import { hex, hexDump, openTarget, parseArgs, parseNumber, parseType } from "../util.ts";

/** `pvm read`. */
export const read: Command = {
  name: "read",
  usage: "TARGET ADDRESS [TYPE] [COUNT] | TARGET ADDRESS string [MAX]",
  summary: "read typed values (default i32) or a C string at ADDRESS",
  run(argv) {
    const { positionals } = parseArgs(argv);
    const proc = openTarget(positionals[0]);
    const address = parseNumber(positionals[1] ?? "", "ADDRESS");
    if (positionals[2] === "string") {
      console.log(JSON.stringify(proc.readCString(address, positionals[3] ? parseNumber(positionals[3], "MAX") : 4096)));
      return;
    }
    const type = parseType(positionals[2]);
    const count = positionals[3] ? parseNumber(positionals[3], "COUNT") : 1;
    const size = VALUE_SIZE[type];
    const bytes = proc.read(address, size * count);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < count; i++) console.log(`${hex(address + i * size)}  ${String(getValue(view, i * size, type))}`);
  },
};

/** `pvm dump`. */
export const dump: Command = {
  name: "dump",
  usage: "TARGET ADDRESS [LENGTH]",
  summary: "hex dump of LENGTH bytes (default 256) at ADDRESS",
  run(argv) {
    const { positionals } = parseArgs(argv);
    const proc = openTarget(positionals[0]);
    const address = parseNumber(positionals[1] ?? "", "ADDRESS");
    const length = positionals[2] ? parseNumber(positionals[2], "LENGTH") : 256;
    console.log(hexDump(address, proc.read(address, length)));
  },
};

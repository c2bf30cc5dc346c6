/**
 * The command line's pure parts: strict option parsing with negative numbers
 * as values, suggestions, type names, ranges, batches of a scan, JSON values.
 */
import { describe, expect, test } from "bun:test";
import { didYouMean, distance, parseCommandLine } from "../src/cli/args.ts";
import type { Command } from "../src/cli/command.ts";
import { jsonValue } from "../src/cli/output.ts";
import { batchWindows, writeType, type AddressMatch } from "../src/cli/scans.ts";
import { parseRange, parseType, parseValue, SCAN_TYPES, UsageError } from "../src/cli/util.ts";

const command: Command = {
  name: "demo-parse",
  usage: "TARGET QUERY…",
  summary: "a command to parse with",
  options: {
    type: { type: "string", short: "t", value: "TYPE", description: "type" },
    kind: { type: "string", multiple: true, description: "kind" },
    force: { type: "boolean", description: "force" },
    depth: { type: "string", description: "depth" },
  },
  json: true,
  examples: ["pvm demo-parse 1 2"],
  run() {},
};

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("no error");
}

describe("parseCommandLine", () => {
  test("options, short options, repeated options, positionals in any order", () => {
    const { args, options } = parseCommandLine(command, ["game", "-t", "f32", "--kind", "heap", "100", "--kind=stack", "--force", "--json"]);
    expect(args).toEqual(["game", "100"]);
    expect(options.string("type")).toBe("f32");
    expect(options.strings("kind")).toEqual(["heap", "stack"]);
    expect(options.flag("force")).toBe(true);
    expect(options.flag("json")).toBe(true);
    expect(options.flag("help")).toBe(false);
    expect(options.number("depth", 4)).toBe(4);
  });

  test("negative numbers are values, as positionals and as option values", () => {
    const { args, options } = parseCommandLine(command, ["game", "-123456", "--depth", "-0x10", "-1.5e3", "- 5", "-inf"]);
    expect(args).toEqual(["game", "-123456", "-1.5e3", "- 5", "-inf"]);
    expect(options.number("depth")).toBe(-16);
  });

  test("-- ends the options", () => {
    expect(parseCommandLine(command, ["game", "--", "--force", "-t"]).args).toEqual(["game", "--force", "-t"]);
  });

  test("mistakes name the option, with a suggestion when one is close", () => {
    expect(usageError(() => parseCommandLine(command, ["--tpye", "f32"]))).toBe("unknown option --tpye (did you mean --type?)");
    expect(usageError(() => parseCommandLine(command, ["--frobnicate"]))).toBe("unknown option --frobnicate");
    expect(usageError(() => parseCommandLine(command, ["-x"]))).toBe("unknown option -x");
    expect(usageError(() => parseCommandLine(command, ["--type"]))).toBe("option --type needs a value (TYPE)");
    expect(usageError(() => parseCommandLine(command, ["--force=1"]))).toBe("option --force takes no value");
    expect(usageError(() => parseCommandLine(command, ["--depth", "x"]).options.number("depth"))).toContain("--depth must be a decimal or 0x-hex integer");
  });
});

describe("suggestions", () => {
  test("distance counts an adjacent swap as one edit", () => {
    expect(distance("tpye", "type")).toBe(1);
    expect(distance("scan", "scan")).toBe(0);
    expect(distance("", "abc")).toBe(3);
  });

  test("didYouMean: close words and unique prefixes, nothing for far ones", () => {
    expect(didYouMean("sacn", ["scan", "find", "read"])).toBe("scan");
    expect(didYouMean("poin", ["pointers", "ps"])).toBe("pointers");
    expect(didYouMean("xyzzy", ["scan", "find"])).toBeUndefined();
    expect(didYouMean("r", ["read", "resolve"])).toBeUndefined();
  });
});

describe("values and types", () => {
  test("one set of type names", () => {
    expect(parseType("float")).toBe("f32");
    expect(parseType("uint16")).toBe("u16");
    expect(parseType("int", SCAN_TYPES)).toBe("int");
    expect(parseType("int16", SCAN_TYPES)).toBe("int16");
    expect(usageError(() => parseType("int"))).toContain("any integer width");
    expect(usageError(() => parseType("int32"))).toContain("give i32 or u32");
    expect(usageError(() => parseType("i33"))).toContain('unknown type "i33"');
  });

  test("values per type, 64-bit exact, floats with infinities", () => {
    expect(parseValue("i32", "-0x10")).toBe(-16);
    expect(parseValue("u64", "18446744073709551615")).toBe(18446744073709551615n);
    expect(parseValue("i64", "-9223372036854775808")).toBe(-9223372036854775808n);
    expect(parseValue("f64", "-inf")).toBe(-Infinity);
    expect(usageError(() => parseValue("u8", "256"))).toContain("does not fit u8");
  });

  test("ranges", () => {
    expect(parseRange("0x1000,0x2000")).toEqual([0x1000, 0x2000]);
    expect(parseRange("4096-8192")).toEqual([4096, 8192]);
    expect(parseRange("0x1000..0x2000")).toEqual([0x1000, 0x2000]);
    expect(usageError(() => parseRange("0x2000,0x1000"))).toContain("END is below START");
  });

  test("JSON values: exact numbers, strings beyond 2^53, hex bytes", () => {
    expect(jsonValue(5n)).toBe(5);
    expect(jsonValue(2n ** 60n)).toBe("1152921504606846976");
    expect(jsonValue(Number.NaN)).toBe("NaN");
    expect(jsonValue(Uint8Array.of(0xde, 0xad))).toBe("dead");
  });
});

describe("batchWindows", () => {
  test("cuts at page boundaries every `batch` bytes of memory read, each window reaching `overlap` into the next", () => {
    expect(batchWindows([{ start: 0, end: 100 }], [0, 100], 0, 40, 1)).toEqual([[0, 40], [40, 80], [80, 100]]);
    expect(batchWindows([{ start: 0, end: 100 }], [0, 100], 3, 40, 1)).toEqual([[0, 43], [40, 83], [80, 100]]);
    expect(batchWindows([{ start: 0, end: 100 }], [0, 100], 0, 40, 16)).toEqual([[0, 32], [32, 80], [80, 100]]);
  });

  test("counts only the memory read, and the windows tile the whole span (untouched pages included)", () => {
    expect(batchWindows([{ start: 0, end: 1000 }], [0, 10, 500, 600], 0, 50, 1)).toEqual([[0, 540], [540, 590], [590, 1000]]);
    expect(batchWindows([{ start: 0, end: 1000 }], [], 0, 50, 1)).toEqual([[0, 1000]]);
    expect(batchWindows([], [], 0)).toEqual([]);
  });

  test("without an overlap, cuts only at the start of a selected range", () => {
    const ranges = [{ start: 0, end: 10 }, { start: 20, end: 30 }, { start: 40, end: 100 }];
    expect(batchWindows(ranges, [0, 10, 20, 30, 40, 100], null, 15)).toEqual([[0, 40], [40, 100]]);
    expect(batchWindows(ranges, [0, 10, 20, 30, 40, 100], null, 1000)).toEqual([[0, 100]]);
  });
});

describe("writeType", () => {
  const match = (type: AddressMatch["type"]): AddressMatch => ({ address: 0x1000, types: [type], readings: [type], type, value: 1, previous: undefined });
  test("the match's type, the signed one of its width for a negative value in an either-sign scan", () => {
    expect(writeType(match("u32"), "int", "5")).toBe("u32");
    expect(writeType(match("u32"), "int", "-5")).toBe("i32");
    expect(writeType(match("u32"), "u32", "-5")).toBe("u32");
    expect(writeType(match("f32"), "f32", "-5")).toBe("f32");
    expect(writeType(match("bytes"), "bytes", "90")).toBeNull();
  });
});

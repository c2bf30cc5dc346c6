/**
 * `pvm scan` (a first scan and next scans, non-interactively) and `pvm find`
 * (byte patterns).
 *
 * @module
 */
import type { RegionKind } from "../../maps.ts";
import type { Process } from "../../process.ts";
import { compilePattern, findPattern, type MemoryOptions } from "../../scan/index.ts";
import { BIG_ENDIAN_OPTION } from "../args.ts";
import type { Command, Options } from "../command.ts";
import { bytes, hex, jsonAddress, jsonValue, type Output } from "../output.ts";
import { BatchedScan, planBatches, type AddressMatch } from "../scans.ts";
import { show } from "../session.ts";
import { openTarget } from "../target.ts";
import { parseRange, parseType, SCAN_TYPES, TYPES_HELP, UsageError } from "../util.ts";

/** Options that select memory, shared by scan and find. */
const MEMORY_OPTIONS = {
  within: { type: "string", value: "START,END", description: "only this address range" },
  module: { type: "string", value: "NAME", description: "only the mappings of this module (e.g. nethack-console, libc.so.6)" },
  kind: { type: "string", value: "KIND", multiple: true, description: "only mappings of this kind: heap, stack, anonymous, file, named… (repeatable)" },
  untouched: { type: "boolean", description: "also read pages the target never touched (slower; by default they are known to hold zeros)" },
} as const;

function memoryOptions(options: Options): MemoryOptions {
  const within = options.string("within");
  const module = options.string("module");
  const kinds = options.strings("kind");
  return {
    ...(within !== undefined ? { within: parseRange(within) } : {}),
    ...(module !== undefined ? { module } : {}),
    ...(kinds.length ? { kinds: kinds as RegionKind[] } : {}),
    ...(options.flag("untouched") ? { resident: false } : {}),
  };
}

/** A match as JSON. */
function jsonMatch(m: AddressMatch) {
  return { ...jsonAddress(m.address), types: m.readings, value: jsonValue(m.value), previous: m.previous === undefined ? null : jsonValue(m.previous) };
}

function printMatches(out: Output, scan: BatchedScan, limit: number): number {
  let i = 0;
  for (const m of scan.byAddress()) {
    if (limit > 0 && i >= limit) break;
    const was = m.previous === undefined ? "" : `  (was ${show(m.previous)})`;
    out.line(`${out.paint("address", hex(m.address))}  ${m.types.join(" ")} ${out.paint("value", show(m.value))}${was}`);
    i++;
  }
  return i;
}

/** `pvm scan`. */
export const scanCommand: Command = {
  name: "scan",
  interruptible: true,
  usage: "TARGET QUERY [QUERY…]",
  summary: "scan for a value, narrow it with further queries, print the matches",
  description: [
    'QUERY: a value (100, -5, 1.5, 0x10), a range (1..10), "> 5", "!= 3", unknown; then changed, unchanged,',
    'increased, decreased, "+ 5", "- 5", or a value. Exits 1 when nothing matches, 130 after Ctrl-C (the matches',
    `found so far are printed). TYPE: ${TYPES_HELP}.`,
  ].join("\n"),
  options: {
    type: { type: "string", short: "t", value: "TYPE", description: "value type (default i32; int = any integer width)" },
    ...MEMORY_OPTIONS,
    align: { type: "string", value: "N", description: "address alignment (default: the type's size; 1 = every offset)" },
    delay: { type: "string", value: "MS", description: "milliseconds to wait between queries" },
    limit: { type: "string", short: "n", value: "N", description: "matches to print (default 20; 0 prints all)" },
    "big-endian": BIG_ENDIAN_OPTION,
  },
  json: true,
  examples: ["pvm scan nethack --type int 17", "pvm scan game --type f32 --delay 2000 100 decreased", "pvm scan 4242 --within 0x7f0000000000,0x7f0001000000 -- -123456"],
  async run({ args, options, out, signal }) {
    const proc = openTarget(args[0]);
    const queries = args.slice(1);
    if (queries.length === 0) throw new UsageError("missing QUERY");
    const type = parseType(options.string("type") ?? "i32", SCAN_TYPES);
    const align = options.number("align");
    const limit = options.number("limit", 20);
    if (limit < 0) throw new UsageError("--limit must not be negative");
    const delay = options.number("delay", 0);
    const memory = memoryOptions(options);
    const progress = out.progress("scan");
    const onProgress = (d: number, t: number, unit: "bytes" | "matches") => progress.update(d, t, unit === "bytes" ? "bytes" : "steps");
    const steps: { query: string; count: number }[] = [];
    let scan: BatchedScan | null = null;
    let interrupted = false;
    try {
      for (const query of queries) {
        if (scan && delay > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delay);
            signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
          });
        }
        if (signal.aborted) {
          interrupted = true;
          break;
        }
        if (!scan) {
          const first = await BatchedScan.start(proc, type, query, { ...memory, ...(align !== undefined ? { align } : {}), ...(options.flag("big-endian") ? { endian: "big" as const } : {}) }, { signal, onProgress });
          scan = first.scan;
          interrupted = first.interrupted;
        } else {
          try {
            await scan.next(query, { signal, onProgress });
          } catch (error) {
            if (!signal.aborted) throw error;
            interrupted = true;
          }
        }
        progress.end();
        if (interrupted) break;
        steps.push({ query, count: scan.addressCount });
        if (progress.enabled) {
          const { selected, untouched } = scan.stats;
          out.note(`${query}: ${scan.addressCount} match${scan.addressCount === 1 ? "" : "es"} (${bytes(selected - untouched)} read of ${bytes(selected)}; the rest was never touched)`);
        }
      }
    } finally {
      progress.end();
    }
    const count = scan?.addressCount ?? 0;
    if (out.json) {
      const matches: ReturnType<typeof jsonMatch>[] = [];
      if (scan) for (const m of scan.byAddress()) if (limit === 0 || matches.length < limit) matches.push(jsonMatch(m));
      out.document({ type, count, shown: matches.length, steps, ...(interrupted ? { interrupted: true } : {}), matches });
    } else if (scan) {
      const shown = printMatches(out, scan, limit);
      if (count > shown) out.note(`… ${count - shown} more (--limit 0 prints all)`);
    }
    if (interrupted) out.note(scan ? `interrupted: matches after ${steps.length ? `"${steps[steps.length - 1]!.query}"` : "the part of the first scan done"}` : "interrupted");
    if (scan && scan.skipped > 0 && !out.json && progress.enabled) out.note(`${scan.skipped} bytes could not be read`);
    return count === 0 && !interrupted ? 1 : 0;
  },
};

/**
 * Every address of `pattern`, over the memory in batches, so that an abort
 * keeps what the batches done found.
 */
async function findBatched(
  proc: Process,
  pattern: string,
  options: MemoryOptions & { code?: boolean; permissions?: string; align?: number },
  signal: AbortSignal,
  onProgress: (done: number, total: number) => void,
): Promise<{ found: number[]; interrupted: boolean }> {
  const { windows: batches, total } = planBatches(proc, options, compilePattern(pattern).length - 1);
  if (batches.length === 0) return { found: await findPattern(proc, pattern, { ...options, signal }), interrupted: false };
  const found: number[] = [];
  let offset = 0;
  for (const within of batches) {
    let batchTotal = 0;
    try {
      const part = await findPattern(proc, pattern, {
        ...options,
        within,
        signal,
        onProgress: (d, t) => {
          batchTotal = t;
          onProgress(offset + d, total);
        },
      });
      for (const a of part) found.push(a);
    } catch (error) {
      if (signal.aborted) return { found, interrupted: true };
      throw error;
    }
    offset += batchTotal;
  }
  return { found, interrupted: false };
}

/** `pvm find`. */
export const find: Command = {
  name: "find",
  interruptible: true,
  usage: "TARGET PATTERN",
  summary: "every address where a byte pattern occurs (?? any byte, 4? nibble, : mask)",
  description: "Searches readable private memory by default; --code searches executable file mappings. Exits 1 when nothing matches.",
  options: {
    code: { type: "boolean", description: "search executable file-backed mappings (code)" },
    ...MEMORY_OPTIONS,
    align: { type: "string", value: "N", description: "only matches at multiples of N" },
    limit: { type: "string", short: "n", value: "N", description: "addresses to print (default: all)" },
  },
  json: true,
  examples: ['pvm find game "48 8b ?? 4? : ff ff 00 f0" --code', 'pvm find nethack "de ad be ef" --json'],
  async run({ args, options, out, signal }) {
    const proc = openTarget(args[0]);
    const pattern = args.slice(1).join(" ");
    if (pattern.trim() === "") throw new UsageError("missing PATTERN");
    const limit = options.number("limit", 0);
    if (limit < 0) throw new UsageError("--limit must not be negative");
    const align = options.number("align");
    const progress = out.progress("find");
    let result;
    try {
      result = await findBatched(
        proc,
        pattern,
        {
          permissions: options.flag("code") ? "r?x?" : "r???",
          ...memoryOptions(options),
          ...(options.flag("code") ? { code: true } : {}),
          ...(align !== undefined ? { align } : {}),
        },
        signal,
        (d, t) => progress.update(d, t),
      );
    } finally {
      progress.end();
    }
    const { found, interrupted } = result;
    const shown = limit === 0 ? found : found.slice(0, limit);
    if (out.json) out.document({ pattern, count: found.length, shown: shown.length, ...(interrupted ? { interrupted: true } : {}), matches: shown.map(jsonAddress) });
    else {
      for (const address of shown) out.line(hex(address));
      if (found.length > shown.length) out.note(`… ${found.length - shown.length} more`);
    }
    if (interrupted) out.note("interrupted: the addresses found so far");
    return found.length === 0 && !interrupted ? 1 : 0;
  },
};


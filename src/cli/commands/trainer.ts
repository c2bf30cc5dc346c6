/**
 * Trainer commands: `resolve`, `freeze`, `watch`, `pointers`.
 *
 * @module
 */
import { ProcessVmError } from "../../errors.ts";
import type { Process } from "../../process.ts";
import { formatChain, type FreezeHandle, type PointerPath, PointerPaths, type PointerScanError } from "../../trainer/index.ts";
import { getValue, VALUE_SIZE, type Value, type ValueType } from "../../types.ts";
import { BIG_ENDIAN_OPTION } from "../args.ts";
import type { Command } from "../command.ts";
import { hex, jsonAddress, jsonValue } from "../output.ts";
import { show } from "../session.ts";
import { openTarget } from "../target.ts";
import { isPlainAddress, parseAddress, parseType, parseValue, TYPES_HELP, UsageError } from "../util.ts";

/**
 * Resolves when `signal` aborts (Ctrl-C), after `ms` milliseconds when given,
 * or when `also` settles.
 *
 * @example
 * ```ts
 * await untilStopped(signal, 5000);
 * ```
 */
export function untilStopped(signal: AbortSignal, ms?: number, also?: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = ms === undefined ? undefined : setTimeout(done, ms);
    if (signal.aborted) done();
    else signal.addEventListener("abort", done);
    also?.then(done, done);
  });
}

/** An ADDRESS|CHAIN argument: a number, or the chain's text for the library to follow live. */
function liveTarget(proc: Process, text: string | undefined): number | string {
  if (text === undefined) throw new UsageError("missing ADDRESS (a number or a pointer chain)");
  if (isPlainAddress(text)) return parseAddress(proc, text);
  parseAddress(proc, text); // a chain that cannot be parsed or followed now is refused now
  return text;
}

/** `pvm resolve`. */
export const resolveCommand: Command = {
  name: "resolve",
  usage: "TARGET CHAIN [TYPE]",
  summary: "follow a pointer chain; print the address and the value there (default i32)",
  description: 'CHAIN: "module+0x1a2b0 -> 0x10 -> 0x8" (arrows), "[[module+1a2b0]+10]+8" (brackets) or a plain address.',
  options: { "big-endian": BIG_ENDIAN_OPTION },
  json: true,
  examples: ['pvm resolve game "libgame.so+0x1a2b0 -> 0x10 -> 0x8" f32', 'pvm resolve game "[[game+2af108]+10]+8" --json'],
  run({ args, options, out }) {
    const proc = openTarget(args[0]);
    const at = parseAddress(proc, args[1], "CHAIN");
    const type = parseType(args[2] ?? "i32");
    const bytes = proc.read(at, VALUE_SIZE[type]);
    const value = getValue(new DataView(bytes.buffer, bytes.byteOffset), 0, type, !options.flag("big-endian"));
    if (out.json) out.document({ chain: args[1], ...jsonAddress(at), type, value: jsonValue(value) });
    else out.line(`${out.paint("address", hex(at))}  ${type} ${String(value)}`);
  },
};

/** `pvm freeze`. */
export const freezeCommand: Command = {
  name: "freeze",
  interruptible: true,
  usage: "TARGET ADDRESS|CHAIN TYPE VALUE",
  summary: "hold a value until Ctrl-C (a chain is followed again on every tick); prints what it holds where",
  description: `TYPE: ${TYPES_HELP.split(";")[0]}. Ctrl-C releases the value and exits with status 130.`,
  options: {
    interval: { type: "string", value: "MS", description: "milliseconds between writes (default 100)" },
    for: { type: "string", value: "MS", description: "stop after MS milliseconds" },
    "allow-increase": { type: "boolean", description: "let the target raise the value (hold the higher one)" },
    "allow-decrease": { type: "boolean", description: "let the target lower the value" },
    "big-endian": BIG_ENDIAN_OPTION,
  },
  json: true,
  examples: ["pvm freeze nethack 0x55d0c0de1000 i32 999", 'pvm freeze game "game+0x2af108 -> 0x10" f32 100 --json'],
  async run({ args, options, out, signal }) {
    const proc = openTarget(args[0]);
    const target = liveTarget(proc, args[1]);
    if (args[2] === undefined) throw new UsageError("missing TYPE");
    const type: ValueType = parseType(args[2]);
    if (args[3] === undefined) throw new UsageError("missing VALUE");
    if (args.length > 4) throw new UsageError("too many arguments (a chain with spaces must be quoted)");
    const value = parseValue(type, args[3]);
    const intervalMs = options.number("interval", 100);
    if (intervalMs < 1) throw new UsageError("--interval must be at least 1");
    const duration = options.number("for");
    const event = (name: string, address: number | null, extra: Record<string, unknown> = {}) => {
      if (out.json) out.record({ event: name, ...(address === null ? { address: null } : jsonAddress(address)), type, value: jsonValue(value), ...extra });
    };
    let failure: Error | null = null;
    const handle: FreezeHandle = proc.freeze(target, type, value, {
      intervalMs,
      allowIncrease: options.flag("allow-increase"),
      allowDecrease: options.flag("allow-decrease"),
      endian: options.flag("big-endian") ? "big" : "little",
      onError: (error) => (failure = error),
      // A chain is followed on every tick: say when it breaks, comes back or moves.
      onChainChange: (address, error) => {
        if (address === null || error) {
          event("lost", null, { reason: error?.message ?? "" });
          if (!out.json) out.line(`waiting: ${error?.message ?? "the chain leads nowhere"}`);
        } else {
          event("hold", address);
          if (!out.json) out.line(`holding at ${hex(address)}`);
        }
      },
    });
    const where = typeof target === "number" ? hex(target) : `${target} (${handle.broken ? `waiting: ${handle.broken.message}` : hex(handle.address)})`;
    event("hold", handle.broken ? null : handle.address);
    if (!out.json) out.line(`holding ${type} ${String(value)} at ${where}${duration === undefined ? "; Ctrl-C releases it" : ""}`);
    try {
      await untilStopped(signal, duration, handle.stopped);
    } finally {
      handle.stop();
    }
    event("released", handle.broken ? null : handle.address);
    if (!out.json) out.line(`released ${handle.broken ? String(target) : hex(handle.address)}`);
    if (failure) throw failure;
  },
};

/** `pvm watch`. */
export const watchCommand: Command = {
  name: "watch",
  interruptible: true,
  usage: "TARGET ADDRESS|CHAIN…",
  summary: "print each change of the values at addresses or chains until Ctrl-C",
  options: {
    type: { type: "string", short: "t", value: "TYPE", description: `value type (default i32): ${TYPES_HELP.split(";")[0]}` },
    interval: { type: "string", value: "MS", description: "milliseconds between polls (default 50)" },
    count: { type: "string", short: "n", value: "N", description: "stop after N changes" },
    "big-endian": BIG_ENDIAN_OPTION,
  },
  json: true,
  examples: ["pvm watch nethack 0x55d0c0de1000 0x55d0c0de1004 --type i16", 'pvm watch game "game+0x2af108 -> 0x10" --json --count 5'],
  async run({ args, options, out, signal }) {
    const proc = openTarget(args[0]);
    if (args.length < 2) throw new UsageError("missing ADDRESS (a number or a pointer chain)");
    const type = parseType(options.string("type") ?? "i32");
    const texts = args.slice(1);
    const targets = texts.map((text) => ({ address: liveTarget(proc, text), type }));
    const limit = options.number("count", Infinity);
    if (limit < 1) throw new UsageError("--count must be at least 1");
    const intervalMs = options.number("interval", 50);
    if (intervalMs < 1) throw new UsageError("--interval must be at least 1");
    let seen = 0;
    let failure: Error | null = null;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const watcher = proc.watch(targets, {
      intervalMs,
      endian: options.flag("big-endian") ? "big" : "little",
      onChange: (change) => {
        if (seen >= limit) return;
        const from = change.old as Value | null;
        const to = change.new as Value | null;
        if (out.json) {
          out.record({
            time: new Date().toISOString(), target: texts[change.index]!, ...jsonAddress(change.address), type,
            old: jsonValue(from), new: jsonValue(to), ...(change.error ? { error: change.error.message } : {}),
          });
        } else {
          // A chain's line names the chain: its address moves with the object, and several may be watched.
          const label = typeof targets[change.index]!.address === "number" ? "" : `${texts[change.index]!}  `;
          out.line(`${label}${out.paint("address", hex(change.address))}  ${show(from)} -> ${show(to)}${change.error ? `  (${change.error.message})` : ""}`);
        }
        if (++seen >= limit) finish();
      },
      onError: (error) => {
        failure = error;
        finish();
      },
    });
    // Only changes are printed: say at once which targets cannot be read, or the user waits for nothing.
    for (let i = 0; i < texts.length; i++) {
      if (watcher.value(i) === null) out.note(`${texts[i]}: cannot be read now (${watcher.error(i)?.message ?? `nothing readable at ${hex(watcher.address(i))}`}); waiting for it`);
    }
    try {
      await untilStopped(signal, undefined, finished);
    } finally {
      watcher.stop();
    }
    if (failure) throw failure;
  },
};

/** Total size of a path's offsets (the base's offset into its module not counted). */
function offsetSize(path: PointerPath): number {
  let n = 0;
  for (const o of path.offsets) n += Math.abs(o);
  return n;
}

/** `pvm pointers`. */
export const pointersCommand: Command = {
  name: "pointers",
  interruptible: true,
  usage: "TARGET ADDRESS|CHAIN",
  summary: "pointer paths from module images to an address, shortest and smallest offsets first",
  description:
    "Paths are ranked by depth, then by the total size of their offsets; --limit shows more. Use them with resolve, read, freeze. " +
    "Ctrl-C prints the paths found so far (the shallow ones) and exits with status 130; so does a target that exits mid-scan, with status 1.",
  options: {
    depth: { type: "string", value: "N", description: "most dereferences in a path (default 4)" },
    offset: { type: "string", value: "N", description: "largest offset after a dereference (default 0x800)" },
    module: { type: "string", value: "NAME", multiple: true, description: "only paths based in this module (repeatable)" },
    limit: { type: "string", short: "n", value: "N", description: "paths to print (default 20; 0 prints all)" },
    max: { type: "string", value: "N", description: "paths to find at most (default 10000)" },
  },
  json: true,
  examples: ["pvm pointers nethack 0x55d0c0de1000", "pvm pointers game 0x55d0c0de1000 --depth 5 --module game --json"],
  async run({ args, options, out, signal }) {
    const proc = openTarget(args[0]);
    const at = parseAddress(proc, args[1]);
    const limit = options.number("limit", 20);
    if (limit < 0) throw new UsageError("--limit must not be negative");
    const modules = options.strings("module");
    const progress = out.progress("pointers");
    let paths: PointerPaths;
    let stopped: unknown = null;
    try {
      paths = await proc.findPointerPaths(at, {
        maxDepth: options.number("depth", 4),
        maxOffset: options.number("offset", 0x800),
        maxResults: options.number("max", 10000),
        ...(modules.length ? { modules } : {}),
        signal,
        onProgress: (p) => progress.update(p.done, p.total, p.phase === "search" ? "steps" : "bytes"),
      });
    } catch (error) {
      // Ctrl-C, or the target's exit: the scan's rejection holds the paths found so far.
      const partial = (error as Partial<PointerScanError> | null)?.partial;
      const exited = error instanceof ProcessVmError && error.code === "ESRCH";
      if (!(partial instanceof PointerPaths) || !(signal.aborted || exited)) throw error;
      paths = partial;
      stopped = error;
    } finally {
      progress.end();
    }
    const ranked = [...paths.paths].sort((a, b) => a.offsets.length - b.offsets.length || offsetSize(a) - offsetSize(b));
    const shown = limit === 0 ? ranked : ranked.slice(0, limit);
    if (out.json) {
      out.document({
        ...jsonAddress(at),
        count: ranked.length,
        shown: shown.length,
        truncated: paths.truncated,
        ...(stopped ? { interrupted: true } : {}),
        paths: shown.map((p) => ({ chain: formatChain(p), module: p.base.module, baseOffset: p.base.offset, offsets: [...p.offsets], depth: p.offsets.length })),
      });
    } else {
      for (const p of shown) out.line(formatChain(p));
      if (ranked.length > shown.length) out.note(`… ${ranked.length - shown.length} more (--limit 0 prints all)`);
      if (paths.truncated) out.note("the search stopped at --max paths; there may be more");
      if (stopped && signal.aborted) out.note(`interrupted: ${ranked.length === 1 ? "1 path" : `${ranked.length} paths`} found so far (the shallow ones first)`);
    }
    if (stopped && !signal.aborted) throw stopped; // the target exited: its error after the paths found before
    return ranked.length === 0 && !stopped ? 1 : 0;
  },
};

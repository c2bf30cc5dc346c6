/**
 * Trainer commands: `resolve`, `freeze`, `watch`, `pointers`.
 *
 * @module
 */
import { getValue, VALUE_SIZE } from "../../types.ts";
import type { Command } from "../command.ts";
import { hex, numberFlag, openTarget, parseArgs, parseNumber, parseType, UsageError } from "../util.ts";
import { parseValue } from "./write.ts";

/** Resolves an ADDRESS argument that may also be a pointer chain (`libgame.so+0x10 -> 0x8`). */
function address(proc: ReturnType<typeof openTarget>, text: string | undefined): number {
  if (text === undefined) throw new UsageError("missing ADDRESS");
  if (/^(0x[0-9a-f_]+|\d+)$/i.test(text.trim())) return parseNumber(text, "ADDRESS");
  return proc.resolve(text);
}

/** An ADDRESS argument as a number, or a pointer chain kept as text so that freeze and watch follow it live. */
function liveAddress(text: string | undefined): number | string {
  if (text === undefined) throw new UsageError("missing ADDRESS");
  if (/^(0x[0-9a-f_]+|\d+)$/i.test(text.trim())) return parseNumber(text, "ADDRESS");
  return text;
}

/** Runs until SIGINT/SIGTERM (or `ms` milliseconds when given). */
function untilInterrupted(ms?: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = ms === undefined ? undefined : setTimeout(done, ms);
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
}

/** `pvm resolve`. */
export const resolveCommand: Command = {
  name: "resolve",
  usage: 'TARGET CHAIN [TYPE]      e.g. "libgame.so+0x1a2b0 -> 0x10 -> 0x8" or "[[libgame.so+1a2b0]+10]+8"',
  summary: "follow a pointer chain; print the address and the value there",
  run(argv) {
    const { positionals } = parseArgs(argv);
    const proc = openTarget(positionals[0]);
    const at = address(proc, positionals[1]);
    const type = parseType(positionals[2]);
    const bytes = proc.read(at, VALUE_SIZE[type]);
    console.log(`${hex(at)}  ${type} ${String(getValue(new DataView(bytes.buffer), 0, type))}`);
  },
};

/** `pvm freeze`. */
export const freezeCommand: Command = {
  name: "freeze",
  usage: "TARGET ADDRESS|CHAIN TYPE VALUE [--interval MS] [--for MS] [--allow-increase] [--allow-decrease]",
  summary: "hold a value until interrupted (Ctrl-C)",
  async run(argv) {
    const { positionals, flags } = parseArgs(argv, ["interval", "for"]);
    const proc = openTarget(positionals[0]);
    const at = liveAddress(positionals[1]);
    const type = parseType(positionals[2]);
    if (positionals[3] === undefined) throw new UsageError("missing VALUE");
    const value = parseValue(type, positionals[3]);
    const duration = numberFlag(flags, "for");
    let failure: Error | null = null;
    const handle = proc.freeze(at, type, value, {
      intervalMs: numberFlag(flags, "interval", 100),
      allowIncrease: flags.has("allow-increase"),
      allowDecrease: flags.has("allow-decrease"),
      onError: (error) => (failure = error),
      // a chain is followed every tick: say when it breaks, comes back or moves
      onChainChange: (address, error) => console.log(error ? `waiting: ${error.message}` : `holding at ${hex(address!)}`),
    });
    const where = typeof at === "number" ? hex(at) : `${at} (${handle.broken ? `waiting: ${handle.broken.message}` : hex(handle.address)})`;
    console.log(`holding ${type} ${String(value)} at ${where}${duration ? "" : "; Ctrl-C to stop"}`);
    await Promise.race([untilInterrupted(duration), handle.stopped]);
    handle.stop();
    if (failure) throw failure;
  },
};

/** `pvm watch`. */
export const watchCommand: Command = {
  name: "watch",
  usage: "TARGET ADDRESS|CHAIN… [--type TYPE] [--interval MS] [--count N]",
  summary: "print each change of the values at the addresses until interrupted",
  async run(argv) {
    const { positionals, flags } = parseArgs(argv, ["type", "interval", "count"]);
    const proc = openTarget(positionals[0]);
    if (positionals.length < 2) throw new UsageError("missing ADDRESS");
    const type = parseType(flags.get("type") as string | undefined);
    const targets = positionals.slice(1).map((text) => ({ address: liveAddress(text), type }));
    const limit = numberFlag(flags, "count", Infinity);
    const stop = new AbortController();
    void untilInterrupted().then(() => stop.abort());
    const watcher = proc.watch(targets, {
      intervalMs: numberFlag(flags, "interval", 50),
      signal: stop.signal,
    });
    let seen = 0;
    for await (const change of watcher) {
      const broken = change.error ? `  (${change.error.message})` : "";
      console.log(`${hex(change.address)}  ${String(change.old)} -> ${String(change.new)}${broken}`);
      if (++seen >= limit) break;
    }
    watcher.stop();
    stop.abort();
  },
};

/** `pvm pointers`. */
export const pointersCommand: Command = {
  name: "pointers",
  usage: "TARGET ADDRESS [--depth N] [--offset N] [--max N]",
  summary: "find pointer paths from module images to ADDRESS (as chains for resolve/freeze)",
  async run(argv) {
    const { positionals, flags } = parseArgs(argv, ["depth", "offset", "max"]);
    const proc = openTarget(positionals[0]);
    const at = address(proc, positionals[1]);
    const paths = await proc.findPointerPaths(at, {
      maxDepth: numberFlag(flags, "depth", 4),
      maxOffset: numberFlag(flags, "offset", 0x800),
      maxResults: numberFlag(flags, "max", 1000),
      onProgress: (p) => process.stderr.write(`\r${p.phase} ${Math.round((100 * p.done) / Math.max(1, p.total))}%   `),
    });
    process.stderr.write("\r");
    for (const line of paths.toStrings()) console.log(line);
    console.error(`${paths.paths.length} path(s)${paths.truncated ? " (truncated: raise --max)" : ""}`);
  },
};

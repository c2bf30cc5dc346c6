/**
 * The interactive `pvm attach` session, in the manner of scanmem: type a
 * value to scan for it, then type how it changed to narrow the matches, then
 * set or freeze what is left.
 *
 * @module
 */
import type { Process } from "../process.ts";
import { findPattern, type MemoryOptions, type ScanValueType } from "../scan/index.ts";
import type { FreezeHandle, Patch } from "../trainer/index.ts";
import { getValue, setValue, VALUE_SIZE, type Value, type ValueType } from "../types.ts";
import { didYouMean } from "./args.ts";
import { hex, type Progress } from "./output.ts";
import { BatchedScan, sameValue, writeType, type AddressMatch } from "./scans.ts";
import { hexDump, parseAddress, parseNumber, parseType, parseValue, SCAN_TYPES, TYPES_HELP, UsageError } from "./util.ts";

/** Help of each session command: usage, what it does, an example. */
export const SESSION_COMMANDS: Readonly<Record<string, { usage: string; help: string; example: string }>> = {
  "VALUE|QUERY": {
    usage: "VALUE | QUERY",
    help: 'first scan, then narrow: 100, 1..10, "> 5", "!= 3", changed, unchanged, increased, decreased, "+ 5" (increased by 5), "- 5"; = > < alone compare with the last value',
    example: "100   then   decreased   then   93",
  },
  type: { usage: "type TYPE", help: `value type of the next first scan (default i32): ${TYPES_HELP}`, example: "type f32" },
  within: { usage: "within START END | within MODULE | within off", help: "scan only [START, END), or one module's mappings; off scans all writable memory again", example: "within 0x7f0000000000 0x7f0001000000" },
  list: { usage: "list [N]", help: "the first N matches (default 20): address, type(s), the value now in memory, and the value before the last step", example: "list 50" },
  count: { usage: "count", help: "how many addresses match", example: "count" },
  set: { usage: "set VALUE [I…]", help: "write VALUE to every match, or to matches number I…", example: "set 999 0" },
  freeze: { usage: "freeze I [VALUE]", help: "hold match I at VALUE (default: its value now) until unfreeze or the end of the session", example: "freeze 0 999" },
  unfreeze: { usage: "unfreeze [I]", help: "release match I, or every freeze", example: "unfreeze" },
  update: { usage: "update", help: "keep every match but read its value again, so that the next increased/decreased compares with now", example: "update" },
  undo: { usage: "undo", help: "back to the matches before the last step", example: "undo" },
  reset: { usage: "reset", help: "forget the scan", example: "reset" },
  pattern: { usage: "pattern PATTERN", help: "every address of a byte pattern (?? any byte, 4? nibble, : mask)", example: "pattern 48 8b ?? 4?" },
  read: { usage: "read ADDRESS|CHAIN [TYPE]", help: "dump 64 bytes, or read one value", example: "read 0x55d0c0de1000 i32" },
  write: { usage: "write ADDRESS|CHAIN TYPE VALUE", help: "write one value", example: "write game+0x2af108 i32 5000" },
  patch: { usage: "patch ADDRESS|CHAIN HEX…", help: "write bytes (read-only code too), restored when the session ends unless attach --keep", example: "patch 0x401000 90 90" },
  restore: { usage: "restore", help: "undo every patch of this session now", example: "restore" },
  maps: { usage: "maps", help: "the writable mappings", example: "maps" },
  pointers: { usage: "pointers I", help: "pointer paths from module images to match I (depth 3; pvm pointers goes deeper)", example: "pointers 0" },
  help: { usage: "help [COMMAND]", help: "the commands, or one command's help", example: "help set" },
  quit: { usage: "quit", help: "end the session (Ctrl-D too); freezes are released, patches restored", example: "quit" },
};

/** The words the session understands (for completion). */
export const SESSION_WORDS: readonly string[] = [
  ...Object.keys(SESSION_COMMANDS).filter((k) => k !== "VALUE|QUERY"),
  "exit", "changed", "unchanged", "increased", "decreased",
];

function overview(): string {
  const rows = Object.values(SESSION_COMMANDS).map((c) => [c.usage, c.help.split(/[;:(]/)[0]!.trim()] as const);
  const width = Math.max(...rows.map(([u]) => u.length));
  return ["commands (help COMMAND for more):", ...rows.map(([u, h]) => `  ${u.padEnd(width)}  ${h}`)].join("\n");
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Where a session writes its output. */
export type Print = (line: string) => void;

/** Options of {@link Session.execute}. */
export interface ExecuteOptions {
  /** Throw errors instead of printing them (for scripts, which need an exit status). */
  strict?: boolean;
  /** Aborts a scan, pattern search or pointer scan in progress (Ctrl-C). */
  signal?: AbortSignal;
  /** Drawn while a long step runs. */
  progress?: Progress;
}

/**
 * One attached process and the state of its scan.
 *
 * @example
 * ```ts
 * const session = new Session(new Process(pid), console.log);
 * await session.execute("100");
 * await session.execute("decreased");
 * ```
 */
export class Session {
  readonly #proc: Process;
  readonly #print: Print;
  #type: ScanValueType = "i32";
  #scan: BatchedScan | null = null;
  #memory: MemoryOptions = {};
  readonly #frozen = new Map<number, FreezeHandle>();
  readonly #patches: Patch[] = [];
  /** Whether a command failed (for the exit status of a piped or batch session). */
  failed = false;

  readonly #keep: boolean;

  /** With `keep`, patches made in the session stay in the target when it ends. */
  constructor(proc: Process, print: Print, keep = false) {
    this.#proc = proc;
    this.#print = print;
    this.#keep = keep;
  }

  /** The current scan, if any. */
  get scan(): BatchedScan | null {
    return this.#scan;
  }

  /** Addresses of the current matches, in order. */
  addresses(): number[] {
    return this.#scan ? [...this.#scan.byAddress()].map((m) => m.address) : [];
  }

  /**
   * Runs one command line. Resolves to false when the session should end.
   * An error is printed as `error: …` and the session goes on, unless
   * `strict` is set: then it is thrown.
   */
  async execute(line: string, strictOrOptions: boolean | ExecuteOptions = {}): Promise<boolean> {
    const options: ExecuteOptions = typeof strictOrOptions === "boolean" ? { strict: strictOrOptions } : strictOrOptions;
    const text = line.trim();
    if (text === "" || text.startsWith("#")) return true;
    const [word = "", ...args] = text.split(/\s+/);
    const rest = text.slice(word.length).trim();
    try {
      switch (word) {
        case "quit":
        case "exit":
        case "q":
          return false;
        case "help":
        case "?":
          this.#help(args[0]);
          return true;
        case "type":
          this.#setType(args[0]);
          return true;
        case "within":
          this.#within(args);
          return true;
        case "list":
          this.#list(args[0] ? parseNumber(args[0], "N") : 20);
          return true;
        case "count":
          this.#print(plural(this.#scan?.addressCount ?? 0, "match", "matches"));
          return true;
        case "set":
          this.#set(args);
          return true;
        case "freeze":
          this.#freeze(args);
          return true;
        case "unfreeze":
          this.#unfreeze(args[0]);
          return true;
        case "undo":
          this.#print(this.#scan?.undo() ? `back to ${plural(this.#scan.addressCount, "match", "matches")}` : "nothing to undo");
          return true;
        case "reset":
          this.#scan = null;
          this.#print("scan forgotten");
          return true;
        case "pattern":
          await this.#pattern(rest, options);
          return true;
        case "read":
          this.#read(args);
          return true;
        case "write":
          this.#write(args);
          return true;
        case "patch":
          this.#patch(args);
          return true;
        case "restore":
          this.#print(`restored ${plural(this.restore(), "patch", "patches")}`);
          return true;
        case "maps":
          for (const r of this.#proc.maps().filter((m) => m.writable)) {
            this.#print(`${hex(r.start)}-${hex(r.end)} ${r.permissions} ${r.kind.padEnd(10)} ${r.path || r.name || ""}`);
          }
          return true;
        case "pointers":
          await this.#pointers(args[0], options);
          return true;
        default:
          if (this.#type !== "string" && this.#type !== "bytes" && /^[a-z][a-z-]+$/i.test(word) && !/^(nan|inf(inity)?|unknown)$/i.test(word) && !SESSION_WORDS.includes(word)) {
            const guess = didYouMean(word, SESSION_WORDS);
            throw new UsageError(`unknown command "${word}"${guess ? ` (did you mean ${guess}?)` : ""}; help lists them`);
          }
          await this.#query(text, options);
          return true;
      }
    } catch (error) {
      if (options.strict) throw error;
      this.failed = true;
      if (options.signal?.aborted) this.#print("interrupted");
      else this.#print(`error: ${(error as Error).message}`);
      return true;
    }
  }

  /** Restores every patch of the session; returns how many. */
  restore(): number {
    const n = this.#patches.length;
    while (this.#patches.length) this.#patches.pop()!.restore();
    return n;
  }

  /** Stops every freeze and, unless `keep` (or the session's own), restores every patch. */
  close(keep = this.#keep): void {
    for (const handle of this.#frozen.values()) handle.stop();
    this.#frozen.clear();
    if (!keep) this.restore();
  }

  #help(word: string | undefined): void {
    if (word === undefined) {
      this.#print(overview());
      return;
    }
    const entry = SESSION_COMMANDS[word] ?? (/^\d|^[<>=!]/.test(word) ? SESSION_COMMANDS["VALUE|QUERY"] : undefined);
    if (!entry) {
      const guess = didYouMean(word, Object.keys(SESSION_COMMANDS));
      throw new UsageError(`no command "${word}"${guess ? ` (did you mean ${guess}?)` : ""}`);
    }
    this.#print(`${entry.usage}\n  ${entry.help}\n  e.g. ${entry.example}`);
  }

  #setType(name: string | undefined): void {
    if (name === undefined) {
      this.#print(`type ${this.#type}`);
      return;
    }
    this.#type = parseType(name, SCAN_TYPES);
    this.#scan = null;
  }

  #within(args: string[]): void {
    if (args.length === 0 || args[0] === "off") this.#memory = {};
    else if (args.length === 1) this.#memory = { module: args[0]! };
    else this.#memory = { within: [parseNumber(args[0]!, "START"), parseNumber(args[1]!, "END")] };
    this.#scan = null;
  }

  async #query(text: string, options: ExecuteOptions): Promise<void> {
    const started = performance.now();
    const progress = options.progress;
    const onProgress = (done: number, total: number, unit: "bytes" | "matches") => progress?.update(done, total, unit === "bytes" ? "bytes" : "steps");
    try {
      if (this.#scan === null) {
        const { scan, interrupted } = await BatchedScan.start(this.#proc, this.#type, text, this.#memory, { signal: options.signal, onProgress });
        this.#scan = scan;
        if (interrupted) {
          progress?.end();
          if (options.strict) throw options.signal!.reason ?? new Error("interrupted");
          this.#print(`interrupted: ${plural(scan.addressCount, "match", "matches")} in the memory scanned so far`);
          this.failed = true;
          return;
        }
      } else {
        await this.#scan.next(text, { signal: options.signal, onProgress });
      }
    } finally {
      progress?.end();
    }
    const ms = (performance.now() - started).toFixed(0);
    const n = this.#scan.addressCount;
    this.#print(`${plural(n, "match", "matches")} (${ms} ms)`);
    if (n > 0 && n <= 5) this.#list(5);
  }

  #requireScan(): BatchedScan {
    if (!this.#scan) throw new UsageError("no scan yet: type a value first");
    return this.#scan;
  }

  /** The value now in memory at a match (null when unreadable). */
  #now(m: AddressMatch): Value | null {
    const type = m.type;
    if (type === "bytes" || type === "string") return null;
    try {
      return this.#readValue(m.address, type);
    } catch {
      return null;
    }
  }

  #list(n: number): void {
    const s = this.#requireScan();
    let i = 0;
    for (const m of s.byAddress()) {
      if (i >= n) break;
      const now = this.#now(m);
      const shown = now === null ? m.value : now;
      const notes: string[] = [];
      if (now !== null && !sameValue(now, m.value as Value)) notes.push(`scanned ${show(m.value)}`);
      if (m.previous !== undefined) notes.push(`was ${show(m.previous)}`);
      if (this.#frozen.has(m.address)) notes.push("frozen");
      this.#print(`[${i}] ${hex(m.address)}  ${m.types.join(" ")} ${show(shown)}${notes.length ? `  (${notes.join(", ")})` : ""}`);
      i++;
    }
    const total = s.addressCount;
    if (total > n) this.#print(`… ${total - n} more`);
  }

  /** Match number `index`, and the type to write `valueText` there as. */
  #match(index: string | undefined, valueText = ""): { address: number; type: ValueType } {
    const s = this.#requireScan();
    const i = parseNumber(index ?? "", "match number");
    let k = 0;
    for (const m of s.byAddress()) {
      if (k++ === i) {
        const type = writeType(m, s.type, valueText);
        if (type === null) throw new UsageError(`match [${i}] is ${m.types.join(" ")}, not a number`);
        return { address: m.address, type };
      }
    }
    throw new UsageError(`no match [${i}] (there are ${s.addressCount})`);
  }

  #set(args: string[]): void {
    const [valueText, ...indices] = args;
    if (valueText === undefined) throw new UsageError("set VALUE [I…]");
    const s = this.#requireScan();
    const targets: { address: number; type: ValueType }[] = [];
    if (indices.length) for (const i of indices) targets.push(this.#match(i, valueText));
    else {
      for (const m of s.byAddress()) {
        const type = writeType(m, s.type, valueText);
        if (type) targets.push({ address: m.address, type });
      }
    }
    const values = targets.map(({ type }) => parseValue(type, valueText));
    targets.forEach(({ address, type }, i) => this.#writeValue(address, type, values[i]!));
    this.#print(`wrote ${valueText} to ${plural(targets.length, "address", "addresses")}`);
  }

  #writeValue(address: number, type: ValueType, value: Value): void {
    const bytes = new Uint8Array(new ArrayBuffer(VALUE_SIZE[type]));
    setValue(new DataView(bytes.buffer), 0, type, value);
    this.#proc.write(address, bytes);
  }

  #freeze(args: string[]): void {
    const { address, type } = this.#match(args[0], args[1]);
    const value = args[1] === undefined ? this.#readValue(address, type) : parseValue(type, args[1]);
    this.#frozen.get(address)?.stop();
    const handle = this.#proc.freeze(address, type, value, {
      intervalMs: 50,
      keepAlive: false,
      onError: (error) => {
        this.#print(`freeze at ${hex(address)} stopped: ${error.message}`);
        this.#frozen.delete(address);
      },
    });
    this.#frozen.set(address, handle);
    this.#print(`holding ${hex(address)} at ${String(value)}`);
  }

  #unfreeze(index: string | undefined): void {
    if (index === undefined) {
      const n = this.#frozen.size;
      for (const handle of this.#frozen.values()) handle.stop();
      this.#frozen.clear();
      this.#print(`released ${n}`);
      return;
    }
    const { address } = this.#match(index);
    this.#frozen.get(address)?.stop();
    this.#frozen.delete(address);
    this.#print(`released ${hex(address)}`);
  }

  #readValue(address: number, type: ValueType): Value {
    const bytes = this.#proc.read(address, VALUE_SIZE[type]);
    return getValue(new DataView(bytes.buffer), 0, type);
  }

  async #pattern(text: string, options: ExecuteOptions): Promise<void> {
    if (text === "") throw new UsageError("pattern PATTERN, e.g. pattern 48 8b ?? 4?");
    const started = performance.now();
    const found = await findPattern(this.#proc, text, {
      permissions: "r???",
      ...this.#memory,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (d, t) => options.progress?.update(d, t),
    }).finally(() => options.progress?.end());
    this.#print(`${plural(found.length, "match", "matches")} (${(performance.now() - started).toFixed(0)} ms)`);
    for (const address of found.slice(0, 20)) this.#print(`  ${hex(address)}`);
    if (found.length > 20) this.#print(`  … ${found.length - 20} more`);
  }

  #read(args: string[]): void {
    const address = parseAddress(this.#proc, args[0]);
    if (args[1] === undefined) {
      this.#print(hexDump(address, this.#proc.read(address, 64)));
      return;
    }
    const type = parseType(args[1]);
    this.#print(`${hex(address)}  ${type} ${String(this.#readValue(address, type))}`);
  }

  #write(args: string[]): void {
    if (args.length < 3) throw new UsageError("write ADDRESS TYPE VALUE");
    const address = parseAddress(this.#proc, args.slice(0, -2).join(" "));
    const type = parseType(args[args.length - 2]!);
    this.#writeValue(address, type, parseValue(type, args[args.length - 1]!));
    this.#print(`wrote ${type} ${args[args.length - 1]} at ${hex(address)}`);
  }

  #patch(args: string[]): void {
    const i = args.findIndex((a, k) => k > 0 && /^([0-9a-f]{2})+$/i.test(a));
    if (i < 1) throw new UsageError("patch ADDRESS HEX…, e.g. patch 0x401000 90 90");
    const address = parseAddress(this.#proc, args.slice(0, i).join(" "));
    const text = args.slice(i).join("");
    if (!/^([0-9a-f]{2})+$/i.test(text)) throw new UsageError("bytes must be pairs of hex digits, e.g. 90 90 or 9090");
    this.#patches.push(this.#proc.patch(address, Buffer.from(text, "hex"), { keep: this.#keep }));
    this.#print(`patched ${text.length / 2} bytes at ${hex(address)}${this.#keep ? " (kept when the session ends)" : " (restored at the end of the session; restore does it now)"}`);
  }

  async #pointers(index: string | undefined, options: ExecuteOptions): Promise<void> {
    const { address } = this.#match(index);
    const paths = await this.#proc
      .findPointerPaths(address, {
        maxDepth: 3,
        maxOffset: 0x800,
        maxResults: 50,
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (p) => options.progress?.update(p.done, p.total, p.phase === "search" ? "steps" : "bytes"),
      })
      .finally(() => options.progress?.end());
    if (paths.paths.length === 0) this.#print("no pointer path from a module image (try pvm pointers with --depth 5)");
    for (const line of paths.toStrings().slice(0, 20)) this.#print(`  ${line}`);
  }
}

/**
 * A value for people: numbers as they are, bytes in hex, strings quoted.
 *
 * @example
 * ```ts
 * show(Uint8Array.of(0x90, 0x90)); // "90 90"
 * ```
 */
export function show(value: Value | Uint8Array | string | null | undefined): string {
  if (value instanceof Uint8Array) return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join(" ");
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

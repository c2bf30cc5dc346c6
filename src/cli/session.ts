/**
 * The interactive `pvm attach` session, in the manner of scanmem: type a
 * value to scan for it, then type how it changed to narrow the matches, then
 * set or freeze what is left.
 *
 * @module
 */
import type { Process } from "../process.ts";
import { scan, findPattern, type MemoryOptions, type Scan, type ScanValueType } from "../scan/index.ts";
import type { FreezeHandle } from "../trainer/index.ts";
import { getValue, isValueType, setValue, VALUE_SIZE, type Value, type ValueType } from "../types.ts";
import { hex, hexDump, parseNumber, parseType, UsageError } from "./util.ts";
import { parseValue } from "./commands/write.ts";

const HELP = `commands:
  VALUE | QUERY        first scan, then narrow: 100, 1..10, "> 5", "!= 3", changed, unchanged,
                       increased, decreased, "+ 5" (increased by 5), "- 5", =, >, < (vs last value)
  within START END     scan only [START, END); within MODULE scans one module; within off
  type TYPE            value type of the next first scan: i8 u8 i16 u16 i32 u32 i64 u64 f32 f64,
                       int (any width), string, bytes (default i32)
  list [N]             the first N matches (default 20), with the value before the last step
  count                how many matches are left
  set VALUE [I…]       write VALUE to every match, or to matches number I…
  freeze I [VALUE]     hold match I at VALUE (default: its current value); unfreeze [I] releases
  undo                 back to the matches before the last step
  reset                forget the scan
  pattern PATTERN      find a byte pattern: 48 8b ?? 4? : ff ff 00 f0
  read ADDRESS [TYPE]  dump 64 bytes, or read one value
  write ADDRESS TYPE VALUE
  maps                 writable mappings
  pointers I           pointer paths from module images to match I
  help, quit`;

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Where a session writes its output. */
export type Print = (line: string) => void;

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
  #scan: Scan | null = null;
  #memory: MemoryOptions = {};
  readonly #frozen = new Map<number, FreezeHandle>();

  constructor(proc: Process, print: Print) {
    this.#proc = proc;
    this.#print = print;
  }

  /** The current scan, if any. */
  get scan(): Scan | null {
    return this.#scan;
  }

  /**
   * Runs one command line. Resolves to false when the session should end.
   * An error is printed as `error: …` and the session goes on, unless
   * `strict` is set: then it is thrown (for scripts, which need an exit status).
   */
  async execute(line: string, strict = false): Promise<boolean> {
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
          this.#print(HELP);
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
          this.#print(plural(this.#scan?.count ?? 0, "match", "matches"));
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
          this.#print(this.#scan?.undo() ? `back to ${plural(this.#scan.count, "match", "matches")}` : "nothing to undo");
          return true;
        case "reset":
          this.#scan = null;
          this.#print("scan forgotten");
          return true;
        case "pattern":
          await this.#pattern(rest);
          return true;
        case "read":
          this.#read(args);
          return true;
        case "write":
          this.#write(args);
          return true;
        case "maps":
          for (const r of this.#proc.maps().filter((m) => m.writable)) {
            this.#print(`${hex(r.start)}-${hex(r.end)} ${r.permissions} ${r.kind.padEnd(10)} ${r.path || r.name || ""}`);
          }
          return true;
        case "pointers":
          await this.#pointers(args[0]);
          return true;
        default:
          await this.#query(text);
          return true;
      }
    } catch (error) {
      if (strict) throw error;
      this.#print(`error: ${(error as Error).message}`);
      return true;
    }
  }

  /** Stops every freeze. */
  close(): void {
    for (const handle of this.#frozen.values()) handle.stop();
    this.#frozen.clear();
  }

  #setType(name: string | undefined): void {
    if (name === "int" || name === "string" || name === "bytes") this.#type = name;
    else this.#type = parseType(name);
    this.#scan = null;
    this.#print(`type ${this.#type}; the next value starts a new scan`);
  }

  #within(args: string[]): void {
    if (args.length === 0 || args[0] === "off") this.#memory = {};
    else if (args.length === 1) this.#memory = { module: args[0]! };
    else this.#memory = { within: [parseNumber(args[0]!, "START"), parseNumber(args[1]!, "END")] };
    this.#scan = null;
    const m = this.#memory;
    this.#print(m.within ? `scanning ${hex(m.within[0])}-${hex(m.within[1])} only` : m.module ? `scanning ${m.module} only` : "scanning all writable memory");
  }

  async #query(text: string): Promise<void> {
    const started = performance.now();
    let lastReport = started;
    const onProgress = (done: number, total: number) => {
      const now = performance.now();
      if (now - lastReport > 500 && total > 0) {
        lastReport = now;
        this.#print(`  … ${Math.round((100 * done) / total)}% of ${(total / 2 ** 20).toFixed(0)} MiB`);
      }
    };
    if (this.#scan === null) {
      this.#scan = await scan(this.#proc, this.#type, text, { ...this.#memory, onProgress });
    } else {
      await this.#scan.next(text, { onProgress });
    }
    const ms = (performance.now() - started).toFixed(0);
    this.#print(`${plural(this.#scan.count, "match", "matches")} (${ms} ms)`);
    if (this.#scan.count > 0 && this.#scan.count <= 5) this.#list(5);
  }

  #requireScan(): Scan {
    if (!this.#scan) throw new UsageError("no scan yet: type a value first");
    return this.#scan;
  }

  #list(n: number): void {
    const s = this.#requireScan();
    let i = 0;
    for (const match of s) {
      if (i >= n) break;
      const previous = match.previous === undefined ? "" : `  (was ${String(match.previous)})`;
      this.#print(`[${i}] ${hex(match.address)}  ${match.type} ${String(match.value)}${previous}${this.#frozen.has(match.address) ? "  frozen" : ""}`);
      i++;
    }
    if (s.count > n) this.#print(`… ${s.count - n} more`);
  }

  /** The address and type of match `index`. */
  #match(index: string | undefined): { address: number; type: ValueType } {
    const s = this.#requireScan();
    const i = parseNumber(index ?? "", "match number");
    if (i < 0 || i >= s.count) throw new UsageError(`no match [${i}] (there are ${s.count})`);
    let k = 0;
    for (const match of s) {
      if (k++ === i) {
        if (!isValueType(match.type)) throw new UsageError(`match [${i}] is ${match.type}, not a number`);
        return { address: match.address, type: match.type };
      }
    }
    throw new UsageError(`no match [${i}]`);
  }

  #set(args: string[]): void {
    const [valueText, ...indices] = args;
    if (valueText === undefined) throw new UsageError("set VALUE [I…]");
    const s = this.#requireScan();
    const targets: { address: number; type: ValueType }[] = [];
    if (indices.length) for (const i of indices) targets.push(this.#match(i));
    else {
      for (const match of s) if (isValueType(match.type)) targets.push({ address: match.address, type: match.type });
    }
    for (const { address, type } of targets) this.#writeValue(address, type, parseValue(type, valueText));
    this.#print(`wrote ${valueText} to ${targets.length} address(es)`);
  }

  #writeValue(address: number, type: ValueType, value: Value): void {
    const bytes = new Uint8Array(new ArrayBuffer(VALUE_SIZE[type]));
    setValue(new DataView(bytes.buffer), 0, type, value);
    this.#proc.write(address, bytes);
  }

  #freeze(args: string[]): void {
    const { address, type } = this.#match(args[0]);
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
      this.close();
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

  async #pattern(text: string): Promise<void> {
    if (text === "") throw new UsageError("pattern PATTERN, e.g. pattern 48 8b ?? 4?");
    const started = performance.now();
    const found = await findPattern(this.#proc, text, { permissions: "r???", ...this.#memory });
    this.#print(`${plural(found.length, "match", "matches")} (${(performance.now() - started).toFixed(0)} ms)`);
    for (const address of found.slice(0, 20)) this.#print(`  ${hex(address)}`);
    if (found.length > 20) this.#print(`  … ${found.length - 20} more`);
  }

  #read(args: string[]): void {
    const address = parseNumber(args[0] ?? "", "ADDRESS");
    if (args[1] === undefined) {
      this.#print(hexDump(address, this.#proc.read(address, 64)));
      return;
    }
    const type = parseType(args[1]);
    this.#print(`${hex(address)}  ${type} ${String(this.#readValue(address, type))}`);
  }

  #write(args: string[]): void {
    const address = parseNumber(args[0] ?? "", "ADDRESS");
    const type = parseType(args[1]);
    if (args[2] === undefined) throw new UsageError("write ADDRESS TYPE VALUE");
    this.#writeValue(address, type, parseValue(type, args[2]));
    this.#print(`wrote ${type} ${args[2]} at ${hex(address)}`);
  }

  async #pointers(index: string | undefined): Promise<void> {
    const { address } = this.#match(index);
    const paths = await this.#proc.findPointerPaths(address, { maxDepth: 3, maxOffset: 0x800, maxResults: 50 });
    if (paths.paths.length === 0) this.#print("no pointer path from a module image (try pvm pointers with --depth 5)");
    for (const line of paths.toStrings().slice(0, 20)) this.#print(`  ${line}`);
  }
}

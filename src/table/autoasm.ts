/**
 * Cheat Engine's Auto Assembler, the byte-patch subset: the scripts that find
 * code by a byte pattern and overwrite a few bytes of it ("infinite ammo",
 * "no damage").
 *
 * ```
 * [ENABLE]
 * aobscanmodule(INJECT, Game.exe, 29 47 08 8B 47 ?? 85 C0)   // find the code
 * registersymbol(INJECT)                                      // remember it for [DISABLE]
 * INJECT:
 *   nop 3                                                     // 3 bytes of 0x90
 * [DISABLE]
 * INJECT:
 *   db 29 47 08                                               // the original bytes
 * unregistersymbol(INJECT)
 * ```
 *
 * Supported: `[ENABLE]` / `[DISABLE]` (lines before both belong to both);
 * `aobscanmodule(name, module, pattern)` (the module's first match) and
 * `aobscan(name, pattern)` (the first match in executable file mappings);
 * `label(…)`, `registersymbol(…)`, `unregistersymbol(…)`; position lines
 * `name:`, `name+N:`, `module+N:`, `"module"+N:`, `ADDRESS:`; `db` with hex
 * bytes; `nop` and `nop N`. Numbers are hexadecimal, as in Cheat Engine.
 * Comments: `//`, `{ … }`, `/* … *\/`. Anything else (`alloc`, code caves,
 * `jmp newmem`, other instructions, `{$lua}`) is refused with the first such
 * line quoted.
 *
 * {@link parseAutoAssembler} is pure; {@link AutoAssemblerRunner} runs a
 * parsed script against a process with the library's `findPattern` and
 * `patch` (original bytes kept for `restore`).
 *
 * @module
 */
import { compilePattern } from "../scan/index.ts";
import type { Patch } from "../trainer/index.ts";
import type { Process } from "../process.ts";

/** One statement of a parsed script. `line` is 1-based in the script text. */
export type AutoAssemblerStatement =
  | { op: "aobscan"; line: number; name: string; module: string | null; pattern: string }
  | { op: "label"; line: number; names: string[] }
  | { op: "registersymbol"; line: number; names: string[] }
  | { op: "unregistersymbol"; line: number; names: string[] }
  /** A position: a symbol (`name`), a module (`module`) or an absolute address (`address`), plus `offset`. */
  | { op: "at"; line: number; symbol?: string; module?: string; address?: number; offset: number }
  | { op: "bytes"; line: number; bytes: number[] };

/** A parsed script: the statements of its two sections. */
export interface AutoAssemblerScript {
  enable: AutoAssemblerStatement[];
  disable: AutoAssemblerStatement[];
}

/**
 * A script that is outside the supported subset, or malformed: `line` and
 * `text` quote the first line at fault.
 *
 * @example
 * ```ts
 * try { parseAutoAssembler(source); } catch (e) { if (e instanceof AutoAssemblerError) console.log(e.line, e.text); }
 * ```
 */
export class AutoAssemblerError extends Error {
  override name = "AutoAssemblerError" as const;
  constructor(
    readonly reason: string,
    /** 1-based line in the script (0 when the problem is the script as a whole). */
    readonly line: number,
    /** The line as written (trimmed). */
    readonly text: string,
  ) {
    super(line > 0 ? `line ${line}${text === "" ? "" : ` "${text}"`}: ${reason}` : reason);
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEX = /^[0-9a-f]+$/i;

/** Removes `//`, `{ }` and `/* *\/` comments, keeping line numbers; `{$…}` directives are kept for the caller to refuse. */
function stripComments(source: string): string[] {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  let inBrace = false;
  let inStar = false;
  return lines.map((raw) => {
    let out = "";
    for (let k = 0; k < raw.length; k++) {
      if (inBrace) {
        if (raw[k] === "}") inBrace = false;
        continue;
      }
      if (inStar) {
        if (raw[k] === "*" && raw[k + 1] === "/") {
          inStar = false;
          k++;
        }
        continue;
      }
      if (raw[k] === "/" && raw[k + 1] === "/") break;
      if (raw[k] === "/" && raw[k + 1] === "*") {
        inStar = true;
        k++;
        continue;
      }
      if (raw[k] === "{") {
        if (raw[k + 1] === "$") return raw.trim(); // a directive: the whole line, refused by the caller
        inBrace = true;
        continue;
      }
      out += raw[k];
    }
    return out.trim();
  });
}

/**
 * Converts a Cheat Engine byte pattern (`"29 47 08 ?? 8B"`, `"2947*8B"`,
 * `"29 47 x? 8B"`) to the library's pattern syntax (`"29 47 ?? 8b"`).
 *
 * @throws {SyntaxError} for a pattern with something other than hex digits and wildcards.
 * @example
 * ```ts
 * cePatternToPattern("8B0D????????"); // "8B 0D ?? ?? ?? ??"
 * ```
 */
export function cePatternToPattern(text: string): string {
  const tokens = text.trim().split(/[\s,]+/).filter((t) => t !== "");
  const out: string[] = [];
  for (const token of tokens) {
    const t = token.replace(/[*xX]/g, "?");
    if (!/^[0-9a-fA-F?]+$/.test(t)) throw new SyntaxError(`invalid byte pattern "${text}": "${token}" is not hex bytes or wildcards`);
    if (t.length <= 2) out.push(t.length === 1 ? (t === "?" ? "??" : `0${t}`) : t);
    else {
      if (t.length % 2 !== 0) throw new SyntaxError(`invalid byte pattern "${text}": "${token}" has an odd number of digits`);
      for (let k = 0; k < t.length; k += 2) out.push(t.slice(k, k + 2));
    }
  }
  if (out.length === 0) throw new SyntaxError("empty byte pattern");
  return out.join(" ");
}

function hexNumber(text: string): number {
  const t = text.trim().replace(/^\$/, "").replace(/^0x/i, "");
  if (!HEX.test(t)) return NaN;
  return parseInt(t, 16);
}

/** Parses a position (`name`, `name+N`, `"module"+N`, `module+N`, `ADDRESS`, each `±N` hex). */
function parsePosition(text: string, line: number, raw: string): AutoAssemblerStatement {
  const m = /^(.*?)(?:\s*([+-])\s*(?:0x|\$)?([0-9a-f]+))?$/i.exec(text.trim())!;
  let base = m[1]!.trim();
  const offset = m[3] === undefined ? 0 : (m[2] === "-" ? -1 : 1) * parseInt(m[3], 16);
  const quoted = /^"(.*)"$/.exec(base);
  if (quoted) return { op: "at", line, module: quoted[1]!, offset };
  const address = hexNumber(base);
  if (!Number.isNaN(address) && !IDENT.test(base)) return { op: "at", line, address: address + offset, offset: 0 };
  if (IDENT.test(base)) return { op: "at", line, symbol: base, offset };
  if (/^[^\s()[\]:,+]+\.[A-Za-z0-9_.]+$/.test(base)) return { op: "at", line, module: base, offset };
  base ||= text;
  throw new AutoAssemblerError(`"${base}" is not a label, a module or an address`, line, raw);
}

function args(inner: string): string[] {
  return inner.split(",").map((a) => a.trim());
}

/**
 * Parses a script of the byte-patch subset.
 *
 * @throws {AutoAssemblerError} quoting the first line outside the subset (or malformed).
 * @example
 * ```ts
 * const script = parseAutoAssembler("[ENABLE]\naobscanmodule(hit, game.exe, 29 47 08)\nhit:\n  nop 3\n[DISABLE]\nhit:\n  db 29 47 08");
 * script.enable.length; // 3
 * ```
 */
export function parseAutoAssembler(source: string): AutoAssemblerScript {
  if (typeof source !== "string") throw new TypeError("the script must be a string");
  const lines = stripComments(source);
  const rawLines = source.replace(/\r\n?/g, "\n").split("\n");
  const shared: AutoAssemblerStatement[] = [];
  const enable: AutoAssemblerStatement[] = [];
  const disable: AutoAssemblerStatement[] = [];
  let section: AutoAssemblerStatement[] | null = null;
  let sawEnable = false;
  let sawDisable = false;
  for (let n = 0; n < lines.length; n++) {
    const text = lines[n]!;
    const line = n + 1;
    const raw = rawLines[n]!.trim();
    if (text === "") continue;
    const unsupported = (why: string): never => {
      throw new AutoAssemblerError(why, line, raw);
    };
    if (text.startsWith("{$")) unsupported(`directive ${text} is not supported (only the byte-patch subset of Auto Assembler is)`);
    const header = /^\[(enable|disable)\]$/i.exec(text);
    if (header) {
      const which = header[1]!.toLowerCase();
      if (which === "enable") {
        if (sawEnable) unsupported("a second [ENABLE] section");
        sawEnable = true;
        section = enable;
      } else {
        if (sawDisable) unsupported("a second [DISABLE] section");
        sawDisable = true;
        section = disable;
      }
      continue;
    }
    const out = section ?? shared;
    const call = /^([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)$/.exec(text);
    if (call) {
      const fn = call[1]!.toLowerCase();
      const a = args(call[2]!);
      const names = (): string[] => {
        if (a.length === 0 || a.some((x) => !IDENT.test(x))) unsupported(`${call[1]} takes symbol names`);
        return a;
      };
      const pattern = (p: string): string => {
        try {
          const converted = cePatternToPattern(p);
          compilePattern(converted);
          return converted;
        } catch (error) {
          return unsupported((error as Error).message);
        }
      };
      switch (fn) {
        case "aobscanmodule":
          if (a.length !== 3 || !IDENT.test(a[0]!)) unsupported("aobscanmodule takes (name, module, pattern)");
          out.push({ op: "aobscan", line, name: a[0]!, module: a[1]!.replace(/^"(.*)"$/, "$1"), pattern: pattern(a[2]!) });
          continue;
        case "aobscan":
          if (a.length !== 2 || !IDENT.test(a[0]!)) unsupported("aobscan takes (name, pattern)");
          out.push({ op: "aobscan", line, name: a[0]!, module: null, pattern: pattern(a[1]!) });
          continue;
        case "label":
        case "registersymbol":
        case "unregistersymbol":
          out.push({ op: fn, line, names: names() });
          continue;
        default:
          unsupported(`${call[1]}(…) is not supported (only aobscanmodule, aobscan, label, registersymbol and unregistersymbol are)`);
      }
    }
    if (text.endsWith(":") && !/\s(db|nop)\b/i.test(text)) {
      out.push(parsePosition(text.slice(0, -1), line, raw));
      continue;
    }
    const db = /^db\s+(.+)$/i.exec(text);
    if (db) {
      const bytes: number[] = [];
      for (const token of db[1]!.trim().split(/[\s,]+/)) {
        if (!/^[0-9a-f]{1,2}$/i.test(token)) unsupported(`db takes hex bytes ("${token}" is not one)`);
        bytes.push(parseInt(token, 16));
      }
      out.push({ op: "bytes", line, bytes });
      continue;
    }
    const nop = /^nop(?:\s+(?:0x|\$)?([0-9a-f]+))?$/i.exec(text);
    if (nop) {
      const count = nop[1] === undefined ? 1 : parseInt(nop[1], 16);
      if (!(count >= 1 && count <= 4096)) unsupported("nop takes a count from 1 to 1000 (hex)");
      out.push({ op: "bytes", line, bytes: new Array<number>(count).fill(0x90) });
      continue;
    }
    const word = /^[A-Za-z_.][A-Za-z0-9_.]*/.exec(text)?.[0] ?? text;
    unsupported(`"${word}" is not supported (only db and nop are, with aobscanmodule, aobscan, label, registersymbol and unregistersymbol)`);
  }
  if (!sawEnable) throw new AutoAssemblerError("the script has no [ENABLE] section", 0, "");
  if (!sawDisable) throw new AutoAssemblerError("the script has no [DISABLE] section", 0, "");
  return { enable: [...shared, ...enable], disable: [...shared, ...disable] };
}

/** A contiguous write a section makes. */
interface Write {
  address: number;
  bytes: number[];
  line: number;
}

/**
 * Runs the sections of a parsed script against a process: `enable()` runs
 * `[ENABLE]` (pattern searches with `findPattern`, writes with `patch`, which
 * keeps the original bytes), `disable()` runs `[DISABLE]`, and `restore()`
 * puts back the bytes that `enable()` changed, whatever `[DISABLE]` says.
 * Symbols given to `registersymbol` live in `symbols`, which runners of one
 * table share.
 *
 * @example
 * ```ts
 * const runner = new AutoAssemblerRunner(proc, parseAutoAssembler(source));
 * await runner.enable();
 * // ...
 * await runner.disable();
 * ```
 */
export class AutoAssemblerRunner {
  readonly process: Process;
  readonly script: AutoAssemblerScript;
  /** Registered symbols (lower-cased name → address), shared between the scripts of a table. */
  readonly symbols: Map<string, number>;
  #patches: Patch[] = [];
  #enabled = false;

  constructor(process: Process, script: AutoAssemblerScript, symbols: Map<string, number> = new Map()) {
    this.process = process;
    this.script = script;
    this.symbols = symbols;
  }

  /** Whether `[ENABLE]` ran last (and `[DISABLE]` not since). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Resolves a section to its writes (scanning for patterns), updating the symbols. */
  async #plan(statements: readonly AutoAssemblerStatement[], section: string): Promise<Write[]> {
    const local = new Map<string, number>();
    const declared = new Set<string>();
    const registered: [string, number][] = [];
    const unregistered: string[] = [];
    const writes: Write[] = [];
    let cursor: number | null = null;
    const fail = (s: AutoAssemblerStatement, why: string): never => {
      throw new AutoAssemblerError(`${section}: ${why}`, s.line, "");
    };
    const lookup = (name: string): number | undefined => local.get(name.toLowerCase()) ?? this.symbols.get(name.toLowerCase());
    for (const s of statements) {
      switch (s.op) {
        case "aobscan": {
          let options: { module: string } | { code: true };
          if (s.module !== null) {
            const m = this.process.findModule(s.module);
            if (!m) fail(s, `module "${s.module}" is not mapped in pid ${this.process.pid}`);
            options = { module: m!.path };
          } else options = { code: true };
          const found = await this.process.findPattern(s.pattern, options);
          if (found.length === 0) fail(s, `${s.module === null ? "aobscan" : `aobscanmodule in ${s.module}`}: pattern ${s.pattern} not found`);
          local.set(s.name.toLowerCase(), Math.min(...found));
          break;
        }
        case "label":
          for (const n of s.names) declared.add(n.toLowerCase());
          break;
        case "registersymbol":
          for (const n of s.names) {
            const v = lookup(n);
            if (v === undefined) fail(s, `registersymbol(${n}): ${n} has no address`);
            registered.push([n.toLowerCase(), v!]);
          }
          break;
        case "unregistersymbol":
          unregistered.push(...s.names.map((n) => n.toLowerCase()));
          break;
        case "at": {
          if (s.address !== undefined) cursor = s.address;
          else if (s.module !== undefined) {
            const m = this.process.findModule(s.module);
            if (!m) fail(s, `module "${s.module}" is not mapped in pid ${this.process.pid}`);
            cursor = m!.base + s.offset;
          } else {
            const name = s.symbol!;
            const v = lookup(name);
            if (v !== undefined) cursor = v + s.offset;
            else if (declared.has(name.toLowerCase()) && s.offset === 0) {
              if (cursor === null) fail(s, `label ${name} is placed before any address`);
              local.set(name.toLowerCase(), cursor!);
            } else {
              const m = /\./.test(name) ? this.process.findModule(name) : null;
              if (!m) fail(s, `unknown symbol ${name}${declared.has(name.toLowerCase()) ? "" : " (not found by an aobscan, not a label, not registered by an enabled script)"}`);
              cursor = m!.base + s.offset;
            }
          }
          break;
        }
        case "bytes": {
          if (cursor === null) fail(s, "bytes without an address (a line such as INJECT: must come first)");
          const last = writes[writes.length - 1];
          if (last && last.address + last.bytes.length === cursor) last.bytes.push(...s.bytes);
          else writes.push({ address: cursor!, bytes: [...s.bytes], line: s.line });
          cursor! += s.bytes.length;
          break;
        }
      }
    }
    for (const [n, v] of registered) this.symbols.set(n, v);
    for (const n of unregistered) this.symbols.delete(n);
    return writes;
  }

  /**
   * Runs `[ENABLE]`: scans, then writes every patch (all or none: a failed
   * write puts back the ones made before it).
   *
   * @throws {AutoAssemblerError} when a pattern is not found or a symbol is unknown (nothing is written).
   * @throws {ProcessVmError} when a write fails.
   * @example
   * ```ts
   * await runner.enable();
   * ```
   */
  async enable(): Promise<void> {
    if (this.#enabled) return;
    const writes = await this.#plan(this.script.enable, "[ENABLE]");
    const made: Patch[] = [];
    try {
      for (const w of writes) made.push(this.process.patch(w.address, w.bytes));
    } catch (error) {
      for (const p of made.reverse()) p.restore();
      throw error;
    }
    this.#patches = made;
    this.#enabled = true;
  }

  /**
   * Runs `[DISABLE]` (its writes, typically the original bytes, made with
   * forced writes so that code pages take them).
   *
   * @throws {AutoAssemblerError} when a symbol is unknown.
   * @example
   * ```ts
   * await runner.disable();
   * ```
   */
  async disable(): Promise<void> {
    if (!this.#enabled) return;
    const writes = await this.#plan(this.script.disable, "[DISABLE]");
    for (const w of writes) this.process.write(w.address, new Uint8Array(w.bytes), { force: true });
    this.#patches = [];
    this.#enabled = false;
  }

  /**
   * Puts back the original bytes of every patch `[ENABLE]` made (in reverse
   * order), without running `[DISABLE]`: for leaving a target as it was.
   * Returns whether anything was restored.
   *
   * @example
   * ```ts
   * runner.restore();
   * ```
   */
  restore(): boolean {
    let any = false;
    for (const p of this.#patches.reverse()) any = p.restore() || any;
    this.#patches = [];
    this.#enabled = false;
    return any;
  }
}

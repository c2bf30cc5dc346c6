/**
 * Cheat Engine's `.CT` tables, read into the table model. Pure: XML text in,
 * {@link Table} out.
 *
 * What is read, per `CheatEntry`: `ID`, `Description` (its quotes removed),
 * `GroupHeader`, `VariableType` (`Byte`, `2 Bytes`, `4 Bytes`, `8 Bytes`,
 * `Float`, `Double`, `String` with `Length` and `Unicode`, `Array of byte`
 * with `ByteLength`, `Binary` with `BitStart` and `BitLength`, `Auto
 * Assembler Script` with `AssemblerScript`), `ShowAsHex`, `ShowAsSigned`,
 * `Address` (`0040A2B0`, `"Game.exe"+1A2B0`, `Game.exe+1A2B0`, Cheat
 * Engine's bracket form, or `+10` from the parent entry's address), `Offsets`
 * and nested `CheatEntries`.
 *
 * **Offsets.** Cheat Engine keeps a pointer's offsets in the order its
 * `Offsets` element lists them, and follows them from the last to the first
 * (`getPointerAddress`: `for i := length(offsets)-1 downto 0`, reading a
 * pointer and adding `offsets[i]` at each step). So the *first* `<Offset>` is
 * the one added last, without a dereference after it, and the chain
 * `[[["Game.exe"+10]+A]+B]+C` is stored as `<Offset>C</Offset>
 * <Offset>B</Offset> <Offset>A</Offset>`. Offsets are hexadecimal 32-bit
 * integers (`FFFFFFF0` is -0x10).
 *
 * Cheat Engine's standard big-endian custom types (`2 Byte Big Endian`,
 * `4 Byte Big Endian`, `Float Big Endian`, as emulator tables use) become the
 * plain types with `endian: "big"`.
 *
 * Integer types are unsigned unless `ShowAsSigned` is 1 (Cheat Engine's
 * default display). Strings are taken as UTF-8 (`Unicode` 1: UTF-16LE).
 *
 * Entries the model cannot express load as `unsupported` entries that say
 * why: custom types, Lua, scripts outside the byte-patch subset, addresses
 * that name a symbol a script registers at run time (a `UserdefinedSymbols`
 * entry with an address of its own is put in its place; any other name is
 * taken as a module, quoted or not), addresses relative to a parent without
 * an address, unknown types. Nothing is dropped silently. With
 * `{ strict: true }` the first such entry throws instead.
 *
 * @module
 */
import { formatChain, parseChain, type PointerChainSpec } from "../trainer/chain.ts";
import { AutoAssemblerError, parseAutoAssembler } from "./autoasm.ts";
import { TABLE_FORMAT, TABLE_VERSION, TableError, validateTable, type Table, type TableEntry, type ValueEntry } from "./model.ts";
import { child, children, parseXml, textOf, XmlError, type XmlElement } from "./xml.ts";

/** Options of {@link readCheatTable}. */
export interface ReadCheatTableOptions {
  /** Throw a {@link CheatTableError} for the first entry the model cannot express, instead of loading it as unsupported. */
  strict?: boolean;
}

/**
 * A `.CT` file that cannot be read: malformed XML, not a cheat table, or
 * (with `strict`) an entry the model cannot express. The message names the
 * entry (`entry 12 "Health"`) and the line.
 *
 * @example
 * ```ts
 * try { readCheatTable(xml); } catch (e) { if (e instanceof CheatTableError) console.error(e.message); }
 * ```
 */
export class CheatTableError extends TableError {
  override name = "CheatTableError" as const;
  constructor(
    message: string,
    /** Line of the problem in the file (0 when unknown). */
    readonly line = 0,
    /** The entry at fault, when there is one. */
    readonly entry?: { id?: number; description?: string },
  ) {
    super(message);
  }
}

const INT_TYPES: Record<string, [signed: string, unsigned: string]> = {
  "byte": ["i8", "u8"],
  "2 bytes": ["i16", "u16"],
  "4 bytes": ["i32", "u32"],
  "8 bytes": ["i64", "u64"],
};

/** Why an entry cannot be expressed; becomes an unsupported entry (or a strict error). */
class Unsupported extends Error {}

function text(entry: XmlElement, name: string): string | undefined {
  const e = child(entry, name);
  return e === undefined ? undefined : textOf(e);
}

function describeEntry(id: number | undefined, description: string | undefined): string {
  return `entry${id === undefined ? "" : ` ${id}`}${description === undefined ? "" : ` "${description}"`}`;
}

/** An `<Offset>`: hex, as a signed 32-bit integer (Cheat Engine's `strtoint('$'+…)` into an `integer`). */
function parseOffset(t: string): number {
  const s = t.trim();
  const m = /^(-)?(?:\$|0x)?([0-9a-f]{1,16})$/i.exec(s);
  if (!m) throw new Unsupported(`offset "${s}" is not a hex number (symbols and expressions in offsets are not supported)`);
  let v = parseInt(m[2]!, 16);
  if (m[2]!.length <= 8 && v > 0x7fffffff) v -= 0x100000000;
  if (!Number.isSafeInteger(v)) throw new Unsupported(`offset "${s}" is too large`);
  return m[1] ? -v : v;
}

/** Reads an `Address` into a chain base (and the dereferences a bracket form adds). `symbols`: names scripts register or the table defines (lower case). */
function parseAddress(address: string, symbols: Symbols): PointerChainSpec {
  const a = address.trim();
  if (a === "") throw new Unsupported("the entry has no address");
  if (a.includes("[")) {
    try {
      return checkBase(parseChain(a), a, symbols);
    } catch (error) {
      if (error instanceof Unsupported) throw error;
      throw new Unsupported(`address "${a}" cannot be read (${(error as Error).message})`);
    }
  }
  const m = /^(.*?)\s*(?:([+-])\s*(?:0x|\$)?([0-9a-f]+))?$/i.exec(a)!;
  const base = m[1]!.trim();
  const offset = m[3] === undefined ? 0 : (m[2] === "-" ? -1 : 1) * parseInt(m[3], 16);
  if (/^(?:0x|\$)?[0-9a-f]+$/i.test(base)) {
    const v = parseInt(base.replace(/^(0x|\$)/i, ""), 16) + offset;
    if (!Number.isSafeInteger(v) || v < 0) throw new Unsupported(`address "${a}" is not a user-space address`);
    return { base: v, offsets: [] };
  }
  return checkBase({ base: { module: base.replace(/^"(.*)"$/, "$1"), offset }, offsets: [] }, a, symbols);
}

/** The symbols of a table: names that scripts register (lower case), and those `UserdefinedSymbols` gives an address. */
interface Symbols {
  registered: ReadonlySet<string>;
  defined: ReadonlyMap<string, PointerChainSpec>;
}

/**
 * A name in an address is a module unless the table makes it a symbol: a
 * user-defined symbol with an address of its own (`UserdefinedSymbols`) is
 * put in its place; one that a script registers (`registersymbol`), or whose
 * address cannot be read, makes the entry unsupported. (A quoted name is
 * always a module.)
 */
function checkBase(spec: PointerChainSpec, address: string, symbols: Symbols): PointerChainSpec {
  const b = spec.base;
  if (typeof b !== "object") return spec;
  const quoted = address.includes(`"${b.module}"`);
  const name = b.module.toLowerCase();
  if (!quoted && symbols.defined.has(name)) {
    // The symbol's own chain, then the offset added to its address, then this address's offsets.
    const sym = symbols.defined.get(name)!;
    if (sym.offsets.length === 0) {
      const base = typeof sym.base === "object" ? { module: sym.base.module, offset: sym.base.offset + b.offset } : Number(sym.base) + b.offset;
      return { base, offsets: spec.offsets };
    }
    const offsets = [...sym.offsets];
    offsets[offsets.length - 1]! += b.offset;
    return { base: sym.base, offsets: [...offsets, ...spec.offsets] };
  }
  if (!quoted && symbols.registered.has(name)) {
    throw new Unsupported(`address "${address}" names the symbol "${b.module}", which only a script or Cheat Engine's symbol handler defines`);
  }
  if (/[\s[\]()*]/.test(b.module)) throw new Unsupported(`address "${address}" is an expression, which is not supported`);
  return spec;
}

function readValue(entry: XmlElement, base: { id: number; description: string }, symbols: Symbols, parent: TableEntry | null): TableEntry {
  const rawType = text(entry, "VariableType")?.trim();
  if (rawType === undefined) throw new Unsupported("the entry has neither a VariableType nor GroupHeader 1");
  const type = rawType.toLowerCase();
  if (type === "auto assembler script") {
    const script = text(entry, "AssemblerScript") ?? "";
    if (/^\s*\{\$lua\}/im.test(script)) throw new Unsupported(`Lua in the script ("${script.split("\n").find((l) => /\{\$lua\}/i.test(l))!.trim()}") is not supported`);
    try {
      parseAutoAssembler(script);
    } catch (error) {
      if (error instanceof AutoAssemblerError) throw new Unsupported(`Auto Assembler ${error.message}`);
      throw error;
    }
    return { kind: "script", ...base, script };
  }
  let endian: "big" | undefined;
  let effective = type;
  if (type === "custom") {
    // Cheat Engine's standard big-endian custom types (emulators' guest memory) are plain types here; others are scripts.
    const custom = text(entry, "CustomType")?.trim() ?? "";
    const big = /^(2|4|8) bytes? big endian$|^(float|double) big endian$/i.exec(custom);
    if (!big) throw new Unsupported(`custom type "${custom || "?"}" is not supported (its conversion is a Cheat Engine script)`);
    endian = "big";
    effective = big[1] ? `${big[1]} bytes` : big[2]!.toLowerCase();
  }
  if (type === "pointer") throw new Unsupported("the Pointer type (4 or 8 bytes by the target) is not supported: use 4 Bytes or 8 Bytes with ShowAsHex");
  const showAsHex = text(entry, "ShowAsHex")?.trim() === "1";
  const signedText = text(entry, "ShowAsSigned")?.trim();
  const signed = signedText === undefined ? undefined : signedText === "1";
  const value: Omit<ValueEntry, "type" | "address"> = { kind: "value", ...base };
  let typed: Pick<ValueEntry, "type" | "length" | "encoding" | "bit" | "bitLength">;
  const int = (name: string, min: number, max: number): number => {
    const t = text(entry, name)?.trim();
    const n = t === undefined ? NaN : Number(t);
    if (!Number.isInteger(n) || n < min || n > max) throw new Unsupported(`${rawType} needs ${name} from ${min} to ${max} (got ${t === undefined ? "none" : `"${t}"`})`);
    return n;
  };
  if (Object.hasOwn(INT_TYPES, effective)) typed = { type: INT_TYPES[effective]![signed ? 0 : 1] as ValueEntry["type"] };
  else if (effective === "float") typed = { type: "f32" };
  else if (effective === "double") typed = { type: "f64" };
  else if (type === "string" || type === "unicode string") {
    const unicode = type === "unicode string" || text(entry, "Unicode")?.trim() === "1";
    typed = { type: "string", length: int("Length", 1, 1 << 20), encoding: unicode ? "utf-16le" : "utf-8" };
  } else if (type === "array of byte") typed = { type: "bytes", length: int("ByteLength", 1, 1 << 20) };
  else if (type === "binary") {
    const start = int("BitStart", 0, 63);
    const length = int("BitLength", 1, 64);
    if (start + length > 32 || start > 7) throw new Unsupported(`Binary with BitStart ${start} and BitLength ${length} is not supported (bits 0 to 31, starting in the first byte)`);
    typed = { type: "bits", bit: start, bitLength: length };
  } else throw new Unsupported(`unknown VariableType "${rawType}"`);
  const addressText = (text(entry, "Address") ?? "").trim();
  // "+10": relative to the parent entry's address (Cheat Engine adds it to the parent's real address).
  const rel = /^([+-])\s*(?:0x|\$)?([0-9a-f]+)$/i.exec(addressText);
  if (/^[+-]/.test(addressText)) {
    if (!rel) throw new Unsupported(`relative address "${addressText}" is not an offset in hex`);
    if (parent?.kind !== "value") throw new Unsupported(`address "${addressText}" is relative to the parent entry, which has no address (${parent === null ? "there is none" : parent.kind === "group" ? "a group header" : "it is unsupported"})`);
  }
  let spec: PointerChainSpec = rel ? { base: 0, offsets: [] } : parseAddress(addressText, symbols);
  const offsetsNode = child(entry, "Offsets");
  if (offsetsNode) {
    // Stored last-applied first: reverse into the order they are followed.
    const stored = children(offsetsNode, "Offset").map((o) => parseOffset(textOf(o)));
    spec = { base: spec.base, offsets: [...spec.offsets, ...stored.reverse()] };
  }
  const address = rel ? [`${rel[1]}0x${parseInt(rel[2]!, 16).toString(16)}`, ...spec.offsets.map((o) => (o < 0 ? `-0x${(-o).toString(16)}` : `0x${o.toString(16)}`))].join(" -> ") : formatChain(spec);
  const out: ValueEntry = { ...value, address, ...typed };
  if (showAsHex) out.hex = true;
  if (signed !== undefined) out.signed = signed;
  if (endian) out.endian = endian;
  return out;
}

/**
 * Reads the XML of a Cheat Engine table (`.CT`) into a {@link Table}.
 *
 * @throws {CheatTableError} for malformed XML (line, column and the entry being read), a document that is not a
 *   `CheatTable`, or with `strict`, the first entry the model cannot express.
 * @example
 * ```ts
 * const table = readCheatTable(await Bun.file("Game.CT").text());
 * for (const e of table.entries) if (e.kind === "unsupported") console.log(e.description, e.reason);
 * ```
 */
export function readCheatTable(xml: string, options: ReadCheatTableOptions = {}): Table {
  if (typeof xml !== "string") throw new TypeError("the .CT text must be a string");
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    if (!(error instanceof XmlError)) throw error;
    const within = enclosingEntry(xml, error.offset);
    throw new CheatTableError(`${error.message}${within ? ` (in ${describeEntry(within.id, within.description)})` : ""}`, error.line, within ?? undefined);
  }
  if (root.name !== "CheatTable") throw new CheatTableError(`not a Cheat Engine table: the root element is <${root.name}>, not <CheatTable>`, root.line);
  const symbols = tableSymbols(root);
  const used = new Set<number>();
  const pending: { entry: TableEntry; wanted: number | null }[] = [];
  const readEntries = (list: XmlElement | undefined, parent: TableEntry | null): TableEntry[] => {
    if (!list) return [];
    const out: TableEntry[] = [];
    for (const node of children(list)) {
      if (node.name !== "CheatEntry") continue;
      out.push(readEntry(node, parent));
    }
    return out;
  };
  const readEntry = (node: XmlElement, parent: TableEntry | null): TableEntry => {
    const idText = text(node, "ID")?.trim();
    const idNumber = idText !== undefined && /^\d+$/.test(idText) ? Number(idText) : null;
    let description = text(node, "Description") ?? "";
    if (description.length >= 2 && description.startsWith('"') && description.endsWith('"')) description = description.slice(1, -1);
    const base = { id: -1, description };
    let entry: TableEntry;
    try {
      if (idText !== undefined && idNumber === null) throw new Unsupported(`ID "${idText}" is not a number`);
      if (text(node, "GroupHeader")?.trim() === "1") entry = { kind: "group", ...base };
      else if (child(node, "VariableType") === undefined && child(node, "CheatEntries") !== undefined && child(node, "Address") === undefined) entry = { kind: "group", ...base };
      else entry = readValue(node, base, symbols, parent);
    } catch (error) {
      if (!(error instanceof Unsupported)) throw error;
      if (options.strict) {
        throw new CheatTableError(`${describeEntry(idNumber ?? undefined, description)} (line ${node.line}): ${error.message}`, node.line, { ...(idNumber === null ? {} : { id: idNumber }), description });
      }
      const original: Record<string, string> = {};
      for (const k of ["VariableType", "Address", "CustomType"]) {
        const v = text(node, k);
        if (v !== undefined) original[k] = v.trim();
      }
      const script = text(node, "AssemblerScript");
      if (script !== undefined) original.AssemblerScript = script;
      entry = { kind: "unsupported", ...base, reason: error.message, ...(Object.keys(original).length ? { original } : {}) };
    }
    pending.push({ entry, wanted: idNumber });
    const kids = readEntries(child(node, "CheatEntries"), entry);
    if (kids.length > 0) entry.children = kids;
    return entry;
  };
  const entries = readEntries(child(root, "CheatEntries"), null);
  // Cheat Engine's IDs where they are unique; fresh ones for the rest.
  for (const p of pending) {
    if (p.wanted !== null && !used.has(p.wanted)) {
      p.entry.id = p.wanted;
      used.add(p.wanted);
    }
  }
  let next = 0;
  for (const p of pending) {
    if (p.entry.id >= 0) continue;
    while (used.has(next)) next++;
    p.entry.id = next;
    used.add(next);
  }
  const table: Table = { format: TABLE_FORMAT, version: TABLE_VERSION, entries };
  const notes: string[] = [];
  const version = root.attributes.CheatEngineTableVersion;
  notes.push(`converted from a Cheat Engine table${version ? ` (table version ${version})` : ""}`);
  if (child(root, "LuaScript") && text(root, "LuaScript")!.trim() !== "") notes.push("its Lua script (LuaScript) is not run");
  const defined = child(root, "UserdefinedSymbols");
  if (defined && children(defined).length > 0) notes.push(`its ${children(defined).length} user-defined symbol(s) are not defined`);
  table.comment = notes.join("; ");
  return validateTable(table);
}

/**
 * The symbols of a table: names that scripts register (`registersymbol(…)`,
 * in lower case), and the `UserdefinedSymbols` whose `Address` reads as an
 * address, module+offset or chain (the others count as registered: unknown).
 */
function tableSymbols(root: XmlElement): Symbols {
  const registered = new Set<string>();
  const entries: [string, string][] = [];
  const walk = (e: XmlElement): void => {
    if (e.name === "AssemblerScript" || e.name === "LuaScript") {
      for (const m of textOf(e).matchAll(/registersymbol\s*\(([^)]*)\)/gi)) for (const n of m[1]!.split(",")) registered.add(n.trim().toLowerCase());
      return;
    }
    if (e.name === "SymbolEntry") {
      const n = text(e, "Name")?.trim();
      if (n) entries.push([n.toLowerCase(), text(e, "Address")?.trim() ?? ""]);
      return;
    }
    for (const c of children(e)) walk(c);
  };
  walk(root);
  const known = new Set([...registered, ...entries.map(([n]) => n)]);
  const defined = new Map<string, PointerChainSpec>();
  for (const [name, address] of entries) {
    try {
      // A symbol defined from another symbol is not followed: it stays unknown.
      const spec = parseAddress(address, { registered: known, defined: new Map() });
      if (spec.base === 0 && spec.offsets.length === 0) registered.add(name); // 0: filled in by a script at run time
      else defined.set(name, spec);
    } catch {
      registered.add(name);
    }
  }
  return { registered, defined };
}

/** The `CheatEntry` that encloses `offset` (its ID and Description, as far as they come before), for error messages. */
function enclosingEntry(xml: string, offset: number): { id?: number; description?: string } | null {
  const before = xml.slice(0, offset);
  const stack: number[] = [];
  const re = /<(\/?)CheatEntry\s*>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(before))) {
    if (m[1]) stack.pop();
    else stack.push(m.index);
  }
  if (stack.length === 0) return null;
  let body = before.slice(stack[stack.length - 1]!);
  // Only its own ID and Description: those before its first child entry.
  const nested = body.indexOf("<CheatEntry", 1);
  if (nested > 0) body = body.slice(0, nested);
  const id = /<ID>\s*(\d+)\s*<\/ID>/.exec(body);
  const d = /<Description>"?([^<"]*)"?<\/Description>/.exec(body);
  if (!id && !d) return {};
  return { ...(id ? { id: Number(id[1]) } : {}), ...(d ? { description: d[1]! } : {}) };
}

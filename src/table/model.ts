/**
 * Cheat tables: the model, and its JSON file format.
 *
 * A table is a tree of entries. An entry is one of:
 * - a **value** (`kind: "value"`): a description, an address (an absolute
 *   address, `module+offset`, or a pointer chain in the arrow form that
 *   `parseChain` reads: `"game.exe+0x1a2b0 -> 0x10 -> 0x8"`; under another
 *   value entry, `"+0x10"` is relative to the parent's address), a type,
 *   display options (`hex`, `signed`) and an optional freeze setting;
 * - a **group** (`kind: "group"`): a header with children only;
 * - a **script** (`kind: "script"`): a patch script, in the Auto Assembler
 *   byte-patch subset (`[ENABLE]` / `[DISABLE]`, `aobscanmodule`, `db`, `nop`);
 * - an **unsupported** entry (`kind: "unsupported"`): something read from
 *   another format that this model cannot express, kept (disabled) with the
 *   reason, so that nothing is silently dropped.
 *
 * Every entry may have `children`. Entry ids are unique in a table.
 *
 * The file format (version 1):
 * ```json
 * {
 *   "format": "process-vm-table",
 *   "version": 1,
 *   "pointerSize": 4,
 *   "entries": [
 *     { "kind": "group", "id": 1, "description": "Player", "children": [
 *       { "kind": "value", "id": 2, "description": "Health", "address": "game.exe+0x1a2b0 -> 0x10 -> 0x8",
 *         "type": "i32", "freeze": { "active": false, "value": "999", "allowIncrease": true } },
 *       { "kind": "value", "id": 3, "description": "Name", "address": "0x7f0000001000", "type": "string", "length": 32, "encoding": "utf-16le" }
 *     ] },
 *     { "kind": "script", "id": 4, "description": "Infinite ammo", "script": "[ENABLE]\n..." }
 *   ]
 * }
 * ```
 * Types: `i8 u8 i16 u16 i32 u32 i64 u64 f32 f64`; `string` with `length` (in
 * characters) and `encoding` (`utf-8`, the default, or `utf-16le`);
 * `bytes` with `length`; `bits` with `bit` (0–7, the first bit) and
 * `bitLength` (1–32). Numeric values may be `"endian": "big"` (an emulator's
 * guest memory). `pointerSize` (4 or 8) is optional: without it the target's
 * own is used.
 *
 * Everything here is pure: parsing and validation ({@link parseTable},
 * {@link validateTable}), formatting and editing. `loadTable` / `saveTable`
 * (in `file.ts`) read and write files.
 *
 * @module
 */
import { parseChain, type PointerChainSpec } from "../trainer/chain.ts";
import type { ValueType } from "../types.ts";

/**
 * The `format` field of a table file.
 *
 * @example
 * ```ts
 * const table = { format: TABLE_FORMAT, version: TABLE_VERSION, entries: [] };
 * ```
 */
export const TABLE_FORMAT = "process-vm-table";
/**
 * The version of the table file format this library writes (and the newest it reads).
 *
 * @example
 * ```ts
 * if (JSON.parse(text).version > TABLE_VERSION) console.warn("written by a newer process-vm");
 * ```
 */
export const TABLE_VERSION = 1;

/** The type of a value entry: every fixed-width scan type, strings, byte arrays and bit fields. */
export type TableValueType = ValueType | "string" | "bytes" | "bits";

/** Encodings of a `string` entry. */
export type TableStringEncoding = "utf-8" | "utf-16le";

/** How a value entry is held. */
export interface FreezeSetting {
  /** Held right now (a saved table keeps the state; the runtime starts frozen entries when attached). */
  active: boolean;
  /** The value to hold, as text in the entry's type (`"999"`, `"0x3e7"` for `hex`, `"1.5"`); without it, the value found when freezing starts. */
  value?: string;
  /** When the target raises the value, keep the higher value. */
  allowIncrease?: boolean;
  /** When the target lowers the value, keep the lower value. */
  allowDecrease?: boolean;
}

interface EntryCommon {
  /** Unique in the table; Cheat Engine's `ID` when read from a `.CT`. */
  id: number;
  description: string;
  children?: TableEntry[];
}

/** A group header: children only. */
export interface GroupEntry extends EntryCommon {
  kind: "group";
}

/** A value in the target's memory. */
export interface ValueEntry extends EntryCommon {
  kind: "value";
  /**
   * An absolute address (`"0x7f001000"`), a module and offset
   * (`"game.exe+0x1a2b0"`) or a pointer chain (`"game.exe+0x1a2b0 -> 0x10 -> 0x8"`);
   * or, under a value entry, an address relative to the parent's
   * (`"+0x10"`, and a chain from there: `"+0x10 -> 0x8"`).
   */
  address: string;
  type: TableValueType;
  /** `string`: characters; `bytes`: bytes. Required for both. */
  length?: number;
  /** `string` only; default `utf-8`. */
  encoding?: TableStringEncoding;
  /** `bits` only: the first bit (0–7) of the first byte. */
  bit?: number;
  /** `bits` only: how many bits (1–32). */
  bitLength?: number;
  /** Show in hexadecimal. */
  hex?: boolean;
  /** Show integers as signed (overrides the type's own signedness for display). */
  signed?: boolean;
  /** Byte order of a numeric value in memory (default `"little"`; `"big"` for an emulator's guest memory). */
  endian?: "little" | "big";
  freeze?: FreezeSetting;
}

/** A patch script (the Auto Assembler byte-patch subset), enabled and disabled as a whole. */
export interface ScriptEntry extends EntryCommon {
  kind: "script";
  /** The script text, with `[ENABLE]` and `[DISABLE]` sections. */
  script: string;
  /** Enabled right now (saved with the table; a runtime does not re-enable scripts by itself). */
  enabled?: boolean;
}

/** An entry read from another format that this model cannot express: kept, disabled, with the reason. */
export interface UnsupportedEntry extends EntryCommon {
  kind: "unsupported";
  /** Why it cannot be used, e.g. `Lua script (LuaScript) is not supported`. */
  reason: string;
  /** What it was, for reference (the original type, address or script text). */
  original?: Record<string, string>;
}

/** One entry of a table. */
export type TableEntry = GroupEntry | ValueEntry | ScriptEntry | UnsupportedEntry;

/** A cheat table. */
export interface Table {
  format: typeof TABLE_FORMAT;
  version: typeof TABLE_VERSION;
  /** The target's pointer size, when the table says (a 32-bit game's table: 4). */
  pointerSize?: 4 | 8;
  /** Free text: where the table came from. */
  comment?: string;
  entries: TableEntry[];
}

/**
 * A table file or model that is not valid: the message names the entry
 * (`entry 3 "Health" (entries[0].children[1])`) and the field.
 *
 * @example
 * ```ts
 * try {
 *   parseTable(text);
 * } catch (e) {
 *   if (e instanceof TableError) console.error(e.message, e.path);
 * }
 * ```
 */
export class TableError extends Error {
  override name: string = "TableError";
  constructor(
    message: string,
    /** Where in the JSON the problem is, e.g. `entries[0].children[1].type`; `""` for the whole file. */
    readonly path = "",
  ) {
    super(message);
  }
}

const KINDS = ["group", "value", "script", "unsupported"] as const;
const TYPES: readonly TableValueType[] = ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64", "string", "bytes", "bits"];

/**
 * Whether `name` is a {@link TableValueType}.
 *
 * @example
 * ```ts
 * isTableValueType("bytes"); // true
 * ```
 */
export function isTableValueType(name: unknown): name is TableValueType {
  return typeof name === "string" && (TYPES as readonly string[]).includes(name);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(raw: Record<string, unknown>, path: string): string {
  const id = typeof raw.id === "number" ? ` ${raw.id}` : "";
  const d = typeof raw.description === "string" ? ` "${raw.description}"` : "";
  return `entry${id}${d} (${path})`;
}

/**
 * Checks a parsed JSON value against the table format and returns it as a
 * {@link Table} (a deep copy with only known fields).
 *
 * @throws {TableError} naming the entry and the field that is wrong.
 * @example
 * ```ts
 * const table = validateTable(JSON.parse(text));
 * ```
 */
export function validateTable(value: unknown): Table {
  if (!isObject(value)) throw new TableError("a table must be a JSON object");
  if (value.format !== TABLE_FORMAT) throw new TableError(`not a process-vm table: "format" must be "${TABLE_FORMAT}" (got ${JSON.stringify(value.format)})`, "format");
  if (value.version !== TABLE_VERSION) {
    const newer = typeof value.version === "number" && value.version > TABLE_VERSION;
    throw new TableError(`table version ${JSON.stringify(value.version)} is not supported${newer ? " (written by a newer process-vm)" : ""}: this library reads version ${TABLE_VERSION}`, "version");
  }
  if (!Array.isArray(value.entries)) throw new TableError('"entries" must be an array', "entries");
  const table: Table = { format: TABLE_FORMAT, version: TABLE_VERSION, entries: [] };
  if (value.pointerSize !== undefined) {
    if (value.pointerSize !== 4 && value.pointerSize !== 8) throw new TableError(`"pointerSize" must be 4 or 8 (got ${JSON.stringify(value.pointerSize)})`, "pointerSize");
    table.pointerSize = value.pointerSize;
  }
  if (value.comment !== undefined) {
    if (typeof value.comment !== "string") throw new TableError('"comment" must be a string', "comment");
    table.comment = value.comment;
  }
  const ids = new Map<number, string>();
  table.entries = value.entries.map((e, i) => validateEntry(e, `entries[${i}]`, ids));
  return table;
}

/**
 * Reads the address of a value entry: a chain (see `parseChain`), or, when it
 * starts with `+` or `-`, an offset from the parent entry's address and the
 * offsets of a chain from there.
 *
 * @throws {SyntaxError} naming the part that cannot be read.
 * @example
 * ```ts
 * parseEntryAddress("+0x10 -> 0x8"); // { relative: 16, chain: { base: 16, offsets: [8] } }
 * parseEntryAddress("game.exe+0x1a2b0 -> 0x10"); // { relative: null, chain: { base: { module: "game.exe", offset: 0x1a2b0 }, offsets: [16] } }
 * ```
 */
export function parseEntryAddress(address: string): { relative: number | null; chain: PointerChainSpec } {
  const t = address.trim();
  if (/^[+-]/.test(t)) {
    const chain = parseChain(`0x0${t}`);
    if (typeof chain.base !== "number") throw new SyntaxError(`invalid relative address "${address}"`);
    return { relative: chain.base, chain };
  }
  return { relative: null, chain: parseChain(t) };
}

function validateEntry(raw: unknown, path: string, ids: Map<number, string>, parent: TableEntry | null = null): TableEntry {
  if (!isObject(raw)) throw new TableError(`${path} must be an object`, path);
  const where = describe(raw, path);
  const fail = (field: string, message: string): never => {
    throw new TableError(`${where}: ${message}`, field === "" ? path : `${path}.${field}`);
  };
  if (!(KINDS as readonly unknown[]).includes(raw.kind)) fail("kind", `"kind" must be one of ${KINDS.join(", ")} (got ${JSON.stringify(raw.kind)})`);
  if (!Number.isSafeInteger(raw.id) || (raw.id as number) < 0) fail("id", `"id" must be a non-negative integer (got ${JSON.stringify(raw.id)})`);
  const id = raw.id as number;
  const seen = ids.get(id);
  if (seen !== undefined) fail("id", `id ${id} is already used by ${seen}`);
  ids.set(id, path);
  if (typeof raw.description !== "string") fail("description", `"description" must be a string`);
  const common: EntryCommon = { id, description: raw.description as string };
  const bool = (field: string): boolean | undefined => {
    const v = raw[field];
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") fail(field, `"${field}" must be true or false (got ${JSON.stringify(v)})`);
    return v as boolean;
  };
  let entry: TableEntry;
  switch (raw.kind as TableEntry["kind"]) {
    case "group":
      entry = { kind: "group", ...common };
      break;
    case "script": {
      if (typeof raw.script !== "string") fail("script", `"script" must be a string`);
      entry = { kind: "script", ...common, script: raw.script as string };
      const enabled = bool("enabled");
      if (enabled !== undefined) entry.enabled = enabled;
      break;
    }
    case "unsupported": {
      if (typeof raw.reason !== "string" || raw.reason === "") fail("reason", `"reason" must be a non-empty string`);
      entry = { kind: "unsupported", ...common, reason: raw.reason as string };
      if (raw.original !== undefined) {
        if (!isObject(raw.original) || !Object.values(raw.original).every((v) => typeof v === "string")) fail("original", `"original" must be an object of strings`);
        entry.original = { ...(raw.original as Record<string, string>) };
      }
      break;
    }
    case "value": {
      if (typeof raw.address !== "string" || raw.address.trim() === "") fail("address", `"address" must be a non-empty string (an address, module+offset or pointer chain)`);
      let relative: number | null = null;
      try {
        relative = parseEntryAddress(raw.address as string).relative;
      } catch (error) {
        fail("address", (error as Error).message);
      }
      if (relative !== null && parent?.kind !== "value") fail("address", `a relative address ("${raw.address}") needs a value entry as its parent`);
      if (!isTableValueType(raw.type)) fail("type", `unknown type ${JSON.stringify(raw.type)} (${TYPES.join(" ")})`);
      const type = raw.type as TableValueType;
      const v: ValueEntry = { kind: "value", ...common, address: raw.address as string, type };
      const int = (field: string, min: number, max: number): number | undefined => {
        const n = raw[field];
        if (n === undefined) return undefined;
        if (!Number.isSafeInteger(n) || (n as number) < min || (n as number) > max) fail(field, `"${field}" must be an integer from ${min} to ${max} (got ${JSON.stringify(n)})`);
        return n as number;
      };
      const length = int("length", 1, 1 << 20);
      if (type === "string" || type === "bytes") {
        if (length === undefined) fail("length", `a ${type} entry needs "length"`);
        v.length = length;
      } else if (length !== undefined) fail("length", `"length" is only for string and bytes entries`);
      if (raw.encoding !== undefined) {
        if (type !== "string") fail("encoding", `"encoding" is only for string entries`);
        if (raw.encoding !== "utf-8" && raw.encoding !== "utf-16le") fail("encoding", `"encoding" must be "utf-8" or "utf-16le" (got ${JSON.stringify(raw.encoding)})`);
        v.encoding = raw.encoding as TableStringEncoding;
      }
      const bit = int("bit", 0, 7);
      const bitLength = int("bitLength", 1, 32);
      if (type === "bits") {
        if (bitLength === undefined) fail("bitLength", `a bits entry needs "bitLength"`);
        v.bit = bit ?? 0;
        v.bitLength = bitLength;
      } else if (bit !== undefined || bitLength !== undefined) fail(bit !== undefined ? "bit" : "bitLength", `"bit" and "bitLength" are only for bits entries`);
      const hex = bool("hex");
      if (hex !== undefined) v.hex = hex;
      const signed = bool("signed");
      if (signed !== undefined) v.signed = signed;
      if (raw.endian !== undefined) {
        if (raw.endian !== "little" && raw.endian !== "big") fail("endian", `"endian" must be "little" or "big" (got ${JSON.stringify(raw.endian)})`);
        if (type === "string" || type === "bytes" || type === "bits") fail("endian", `"endian" is only for numeric types`);
        v.endian = raw.endian as "little" | "big";
      }
      if (raw.freeze !== undefined) {
        const f = raw.freeze;
        if (!isObject(f)) fail("freeze", `"freeze" must be an object { active, value?, allowIncrease?, allowDecrease? }`);
        const fr = f as Record<string, unknown>;
        if (typeof fr.active !== "boolean") fail("freeze.active", `"freeze.active" must be true or false`);
        const setting: FreezeSetting = { active: fr.active as boolean };
        if (fr.value !== undefined) {
          if (typeof fr.value !== "string") fail("freeze.value", `"freeze.value" must be a string (the value as text)`);
          setting.value = fr.value as string;
        }
        for (const k of ["allowIncrease", "allowDecrease"] as const) {
          if (fr[k] === undefined) continue;
          if (typeof fr[k] !== "boolean") fail(`freeze.${k}`, `"freeze.${k}" must be true or false`);
          setting[k] = fr[k] as boolean;
        }
        if (setting.allowIncrease && setting.allowDecrease) fail("freeze", `"allowIncrease" and "allowDecrease" cannot both be set`);
        v.freeze = setting;
      }
      entry = v;
      break;
    }
  }
  if (raw.children !== undefined) {
    if (!Array.isArray(raw.children)) fail("children", `"children" must be an array`);
    entry.children = (raw.children as unknown[]).map((c, i) => validateEntry(c, `${path}.children[${i}]`, ids, entry));
  }
  return entry;
}

/**
 * Parses the text of a table file.
 *
 * @throws {TableError} for text that is not JSON or not a valid table (naming the entry).
 * @example
 * ```ts
 * const table = parseTable(await Bun.file("game.json").text());
 * ```
 */
export function parseTable(text: string): Table {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TableError(`not a JSON table file: ${(error as Error).message}`);
  }
  return validateTable(json);
}

/**
 * The text of a table file: the table validated, as indented JSON.
 *
 * @throws {TableError} when the table is not valid.
 * @example
 * ```ts
 * await Bun.write("game.json", formatTable(table));
 * ```
 */
export function formatTable(table: Table): string {
  return `${JSON.stringify(validateTable(table), null, 2)}\n`;
}

/**
 * A new, empty table (or one holding `entries`).
 *
 * @example
 * ```ts
 * const table = createTable();
 * addEntry(table, { kind: "value", id: 0, description: "Health", address: "game.exe+0x1a2b0 -> 0x10", type: "i32" });
 * ```
 */
export function createTable(entries: TableEntry[] = []): Table {
  return validateTable({ format: TABLE_FORMAT, version: TABLE_VERSION, entries });
}

/** An entry with its place in the tree, as {@link flattenEntries} lists them. */
export interface FlatEntry {
  entry: TableEntry;
  /** Nesting depth: 0 for top-level entries. */
  depth: number;
  /** The parent entry, or `null` at the top. */
  parent: TableEntry | null;
}

/**
 * Every entry, depth first, in display order (a group before its children).
 *
 * @example
 * ```ts
 * for (const { entry, depth } of flattenEntries(table)) console.log("  ".repeat(depth) + entry.description);
 * ```
 */
export function flattenEntries(table: Table): FlatEntry[] {
  const out: FlatEntry[] = [];
  const walk = (entries: readonly TableEntry[], depth: number, parent: TableEntry | null): void => {
    for (const entry of entries) {
      out.push({ entry, depth, parent });
      if (entry.children) walk(entry.children, depth + 1, entry);
    }
  };
  walk(table.entries, 0, null);
  return out;
}

/**
 * The entry with this id, or `null`.
 *
 * @example
 * ```ts
 * const hp = findEntry(table, 2);
 * ```
 */
export function findEntry(table: Table, id: number): TableEntry | null {
  return flattenEntries(table).find((f) => f.entry.id === id)?.entry ?? null;
}

/**
 * The smallest id above every id in the table.
 *
 * @example
 * ```ts
 * const id = nextEntryId(table);
 * ```
 */
export function nextEntryId(table: Table): number {
  let max = -1;
  for (const { entry } of flattenEntries(table)) max = Math.max(max, entry.id);
  return max + 1;
}

/**
 * Adds an entry (at the top, or as the last child of `parentId`), giving it a
 * fresh id when its id is taken. Returns the entry as added.
 *
 * @throws {TableError} when the entry is not valid or `parentId` is not in the table.
 * @example
 * ```ts
 * addEntry(table, { kind: "value", id: 0, description: "Gold", address: "0x601040", type: "u32" }, groupId);
 * ```
 */
export function addEntry(table: Table, entry: TableEntry, parentId?: number): TableEntry {
  const taken = new Set(flattenEntries(table).map((f) => f.entry.id));
  let next = nextEntryId(table);
  const copy = structuredClone(entry);
  const renumber = (e: TableEntry): void => {
    if (taken.has(e.id)) e.id = next++;
    taken.add(e.id);
    e.children?.forEach(renumber);
  };
  renumber(copy);
  const list = parentId === undefined ? table.entries : parentChildren(table, parentId);
  list.push(copy);
  try {
    validateTable(table);
  } catch (error) {
    list.pop();
    throw error;
  }
  return copy;
}

function parentChildren(table: Table, parentId: number): TableEntry[] {
  const parent = findEntry(table, parentId);
  if (!parent) throw new TableError(`no entry with id ${parentId}`);
  return (parent.children ??= []);
}

/**
 * Removes an entry (and its children). Returns the removed entry, or `null` when no entry has that id.
 *
 * @example
 * ```ts
 * removeEntry(table, 7);
 * ```
 */
export function removeEntry(table: Table, id: number): TableEntry | null {
  const flat = flattenEntries(table).find((f) => f.entry.id === id);
  if (!flat) return null;
  const list = flat.parent ? flat.parent.children! : table.entries;
  list.splice(list.indexOf(flat.entry), 1);
  if (flat.parent && flat.parent.children!.length === 0) delete flat.parent.children;
  return flat.entry;
}

/**
 * Changes fields of an entry in place (not its kind or id); the table is
 * validated again and the change undone when it is not valid.
 *
 * @throws {TableError} when no entry has that id, or the change makes the entry invalid.
 * @example
 * ```ts
 * updateEntry(table, 2, { description: "Health (max 100)", freeze: { active: true, value: "100" } });
 * ```
 */
export function updateEntry(table: Table, id: number, changes: Partial<Omit<ValueEntry, "kind" | "id">> | Partial<Omit<ScriptEntry, "kind" | "id">> | Partial<Omit<GroupEntry, "kind" | "id">>): TableEntry {
  const entry = findEntry(table, id);
  if (!entry) throw new TableError(`no entry with id ${id}`);
  const before = structuredClone(entry);
  const target = entry as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(changes)) {
    if (k === "kind" || k === "id") continue;
    if (v === undefined) delete target[k];
    else target[k] = structuredClone(v);
  }
  try {
    validateTable(table);
  } catch (error) {
    for (const k of Object.keys(target)) delete target[k];
    Object.assign(target, before);
    throw error;
  }
  return entry;
}

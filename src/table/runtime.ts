/**
 * A table attached to a process: live values, set, freeze, and scripts
 * enabled and disabled. Built on the library's public pieces: pointer chains
 * (`PointerChainList`, one batched read per level), `freeze`, `findPattern`
 * and `patch`.
 *
 * @module
 */
import { Process } from "../process.ts";
import { PointerChain, PointerChainList, type FreezeHandle } from "../trainer/index.ts";
import { getValue, VALUE_SIZE, isValueType, type ValueType } from "../types.ts";
import { AutoAssemblerRunner, parseAutoAssembler } from "./autoasm.ts";
import { flattenEntries, findEntry, parseEntryAddress, TableError, type FreezeSetting, type Table, type TableEntry, type ValueEntry } from "./model.ts";

/** One line of a table attached to a process, as {@link TableRuntime.refresh} leaves it. */
export interface TableRow {
  /** 1-based position in display order (a group before its children): the `N` of `set N VALUE`. */
  readonly index: number;
  readonly entry: TableEntry;
  /** Nesting depth, 0 at the top. */
  readonly depth: number;
  /** The resolved address of a value entry, `null` when it could not be resolved (or for other kinds). */
  address: number | null;
  /** The value as text, `null` when it could not be read (or for other kinds). */
  value: string | null;
  /** Why the address or value is missing, or why the entry is unsupported; `null` when all is well. */
  error: string | null;
  /** Value entries: frozen now. Script entries: enabled now. */
  active: boolean;
}

/** Options of {@link TableRuntime}. */
export interface TableRuntimeOptions {
  /** Milliseconds between freeze writes (default 100). */
  intervalMs?: number;
  /** Called when a freeze stops on its own (the target exited, the address went away). */
  onError?: (error: Error, entry: TableEntry) => void;
}

const utf8 = new TextDecoder("utf-8");
const utf16 = new TextDecoder("utf-16le");
const encoder = new TextEncoder();

/**
 * The bytes a value entry covers: its type's size, a string's length (twice
 * for UTF-16), a byte array's length, or the bytes a bit field touches.
 *
 * @example
 * ```ts
 * entrySize({ kind: "value", id: 1, description: "Name", address: "0x1000", type: "string", length: 16, encoding: "utf-16le" }); // 32
 * ```
 */
export function entrySize(entry: ValueEntry): number {
  switch (entry.type) {
    case "string":
      return entry.length! * (entry.encoding === "utf-16le" ? 2 : 1);
    case "bytes":
      return entry.length!;
    case "bits":
      return Math.ceil(((entry.bit ?? 0) + entry.bitLength!) / 8);
    default:
      return VALUE_SIZE[entry.type];
  }
}

function bitsOf(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

function hexUpper(v: bigint, digits: number): string {
  return v.toString(16).toUpperCase().padStart(digits, "0");
}

/**
 * Formats the bytes of a value entry as text: numbers in decimal, or in hex
 * (`ShowAsHex`, without prefix, as Cheat Engine shows them); integers signed
 * or not by the type, or by `signed` when it is set; strings up to their first
 * NUL; byte arrays as bytes separated by spaces; bit fields as a number.
 *
 * @example
 * ```ts
 * formatEntryValue({ kind: "value", id: 1, description: "hp", address: "0x1000", type: "u32", signed: true }, new Uint8Array([255, 255, 255, 255])); // "-1"
 * ```
 */
export function formatEntryValue(entry: ValueEntry, bytes: Uint8Array): string {
  if (entry.endian === "big" && isValueType(entry.type)) bytes = bytes.slice(0, VALUE_SIZE[entry.type]).reverse();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (entry.type) {
    case "string": {
      const text = entry.encoding === "utf-16le" ? utf16.decode(bytes.subarray(0, bytes.length & ~1)) : utf8.decode(bytes);
      const nul = text.indexOf("\0");
      return nul < 0 ? text : text.slice(0, nul);
    }
    case "bytes":
      return Array.from(bytes, (b) => (entry.hex ? b.toString(16).toUpperCase().padStart(2, "0") : String(b))).join(" ");
    case "bits": {
      const v = (bitsOf(bytes) >> BigInt(entry.bit ?? 0)) & ((1n << BigInt(entry.bitLength!)) - 1n);
      return entry.hex ? v.toString(16).toUpperCase() : v.toString();
    }
    default: {
      const type = entry.type;
      const size = VALUE_SIZE[type];
      if (entry.hex) return hexUpper(bitsOf(bytes.subarray(0, size)), size * 2);
      if (type === "f32" || type === "f64") return String(getValue(view, 0, type));
      const signed = entry.signed ?? type.startsWith("i");
      const raw = bitsOf(bytes.subarray(0, size));
      const bits = BigInt(size * 8);
      const v = signed && raw >> (bits - 1n) === 1n ? raw - (1n << bits) : raw;
      return v.toString();
    }
  }
}

function parseInteger(text: string, hex: boolean | undefined, what: string): bigint {
  const t = text.trim().replace(/_/g, "");
  const m = /^(-)?(0x|\$)?([0-9a-f]+)$/i.exec(t);
  if (!m || (!m[2] && !hex && !/^\d+$/.test(m[3]!))) throw new RangeError(`${what}: "${text}" is not ${hex ? "a hex" : "an"} integer${hex ? "" : " (write hex with 0x)"}`);
  const v = BigInt(m[2] || hex ? `0x${m[3]}` : m[3]!);
  return m[1] ? -v : v;
}

/**
 * Encodes text as the bytes of a value entry (the inverse of
 * {@link formatEntryValue}). Integers take either sign within the width
 * (`-1` and `4294967295` are the same 4 bytes); hex entries read hex without
 * a prefix. `bits` entries need the current bytes (`current`) to keep the
 * other bits; `bytes` entries keep the current byte for `??`.
 *
 * @throws {RangeError} when the text does not fit the entry, naming it.
 * @example
 * ```ts
 * encodeEntryValue(entry, "999"); // Uint8Array [231, 3, 0, 0] for an i32
 * ```
 */
export function encodeEntryValue(entry: ValueEntry, text: string, current?: Uint8Array): Uint8Array {
  if (entry.endian === "big" && isValueType(entry.type)) return encodeEntryValue({ ...entry, endian: "little" }, text, current).reverse();
  const what = `entry ${entry.id} "${entry.description}" (${entry.type})`;
  const size = entrySize(entry);
  const out = new Uint8Array(size);
  switch (entry.type) {
    case "string": {
      const bytes =
        entry.encoding === "utf-16le"
          ? new Uint8Array(Uint16Array.from(text, (c) => c.charCodeAt(0)).buffer)
          : encoder.encode(text);
      if (bytes.length > size) throw new RangeError(`${what}: "${text}" is longer than ${entry.length} characters`);
      out.set(bytes);
      // The rest stays 0: the terminator and padding.
      return out;
    }
    case "bytes": {
      const tokens = text.trim().split(/[\s,]+/).filter((t) => t !== "");
      if (tokens.length === 0 || tokens.length > size) throw new RangeError(`${what}: give 1 to ${size} bytes (got ${tokens.length})`);
      if (current) out.set(current.subarray(0, size));
      tokens.forEach((t, i) => {
        if (t === "??" || t === "?") {
          if (!current) throw new RangeError(`${what}: "??" needs the current bytes`);
          return;
        }
        const v = Number(parseInteger(t, entry.hex, what));
        if (!(v >= 0 && v <= 255)) throw new RangeError(`${what}: "${t}" is not a byte`);
        out[i] = v;
      });
      return out;
    }
    case "bits": {
      if (!current) throw new RangeError(`${what}: a bit field needs the current bytes`);
      const v = parseInteger(text, entry.hex, what);
      const width = BigInt(entry.bitLength!);
      if (v < 0n || v >= 1n << width) throw new RangeError(`${what}: ${text} does not fit ${entry.bitLength} bits`);
      const shift = BigInt(entry.bit ?? 0);
      const mask = ((1n << width) - 1n) << shift;
      let all = (bitsOf(current.subarray(0, size)) & ~mask) | (v << shift);
      for (let i = 0; i < size; i++) {
        out[i] = Number(all & 0xffn);
        all >>= 8n;
      }
      return out;
    }
    case "f32":
    case "f64": {
      const view = new DataView(out.buffer);
      const t = text.trim();
      if (entry.hex || /^0x[0-9a-f]+$/i.test(t)) {
        const bits = parseInteger(t, true, what);
        if (bits < 0n || bits >= 1n << BigInt(size * 8)) throw new RangeError(`${what}: ${text} does not fit ${size} bytes`);
        if (size === 4) view.setUint32(0, Number(bits), true);
        else view.setBigUint64(0, bits, true);
        return out;
      }
      const v = Number(t.replace(",", "."));
      if (t === "" || Number.isNaN(v) && !/^nan$/i.test(t)) throw new RangeError(`${what}: "${text}" is not a number`);
      if (size === 4) view.setFloat32(0, v, true);
      else view.setFloat64(0, v, true);
      return out;
    }
    default: {
      const bits = BigInt(size * 8);
      let v = parseInteger(text, entry.hex, what);
      if (v < -(1n << (bits - 1n)) || v >= 1n << bits) throw new RangeError(`${what}: ${text} does not fit ${size} bytes`);
      if (v < 0n) v += 1n << bits;
      for (let i = 0; i < size; i++) {
        out[i] = Number(v & 0xffn);
        v >>= 8n;
      }
      return out;
    }
  }
}

interface Resolved {
  row: TableRow;
  entry: ValueEntry;
  /** Index in the chain list, or -1 for an address relative to the parent. */
  chain: number;
  /** For a relative entry: the parent's record, the offset from it, and the offsets followed from there. */
  parent: Resolved | null;
  offset: number;
  offsets: readonly number[];
  /** The address after the last resolution, NaN when it failed. */
  address: number;
  /** Why it failed. */
  error: Error | null;
}

interface Held {
  /** A library freeze (numeric types), while one runs. */
  handle: FreezeHandle | null;
  /** The bytes written by the runtime's own timer (strings, byte arrays, bit fields). */
  bytes: Uint8Array | null;
  /** Where the value is held; NaN while suspended (its address cannot be resolved: nothing is written). */
  address: number;
  setting: FreezeSetting;
}

/**
 * A table attached to a process. Freezes follow their entry's pointer chain:
 * while anything is frozen, the runtime resolves the chains again every
 * `intervalMs`, moves a freeze to the address its chain leads to now, and
 * suspends it (writing nothing) while the chain does not resolve, so that a
 * freed object's old address is never written.
 *
 * @example
 * ```ts
 * const runtime = new TableRuntime(new Process(pid), loadTable("Game.CT"));
 * for (const row of runtime.refresh()) console.log(row.index, row.entry.description, row.value ?? row.error);
 * runtime.set(2, "999");
 * runtime.freeze(2);
 * await runtime.enable(5);          // a script entry
 * runtime.close();                  // stops freezes, puts back what scripts patched
 * ```
 */
export class TableRuntime {
  readonly process: Process;
  readonly table: Table;
  readonly options: TableRuntimeOptions;
  #rows: TableRow[] = [];
  /** Value entries in display order (a parent before its children); `chain` indexes the list of absolute ones, -1 for a relative one. */
  #values: Resolved[] = [];
  #chains: PointerChainList;
  #held = new Map<TableEntry, Held>();
  #scripts = new Map<TableEntry, AutoAssemblerRunner>();
  #symbols = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  /** Whether {@link process} was made here (for the table's pointer size), to be closed with the runtime. */
  readonly #ownProcess: boolean;

  /**
   * @param process The target. When the table names a `pointerSize` that differs from the process's, the table's is used.
   * @param table The table (kept, and changed by freeze/enable so that a saved table keeps the state).
   */
  constructor(process: Process, table: Table, options: TableRuntimeOptions = {}) {
    this.#ownProcess = table.pointerSize !== undefined && table.pointerSize !== process.pointerSize;
    this.process = this.#ownProcess ? new Process(process.pid, { pointerSize: table.pointerSize }) : process;
    this.table = table;
    this.options = options;
    this.#chains = this.#build();
  }

  #build(): PointerChainList {
    this.#rows = flattenEntries(this.table).map((f, i) => ({
      index: i + 1,
      entry: f.entry,
      depth: f.depth,
      address: null,
      value: null,
      error: f.entry.kind === "unsupported" ? f.entry.reason : null,
      active: false,
    }));
    this.#values = [];
    const byEntry = new Map<TableEntry, Resolved>();
    const flat = flattenEntries(this.table);
    const absolute: string[] = [];
    for (let i = 0; i < this.#rows.length; i++) {
      const row = this.#rows[i]!;
      if (row.entry.kind !== "value") continue;
      const { relative, chain } = parseEntryAddress(row.entry.address);
      const r: Resolved = { row, entry: row.entry, chain: -1, parent: null, offset: 0, offsets: [], address: NaN, error: null };
      if (relative === null) {
        r.chain = absolute.length;
        absolute.push(row.entry.address);
      } else {
        r.parent = byEntry.get(flat[i]!.parent!) ?? null;
        r.offset = relative;
        r.offsets = chain.offsets;
      }
      byEntry.set(row.entry, r);
      this.#values.push(r);
    }
    return new PointerChainList(this.process, absolute);
  }

  /** The rows as the last {@link refresh} left them. */
  get rows(): readonly TableRow[] {
    return this.#rows;
  }

  /**
   * Rebuilds the rows after the table was edited (entries added, removed or
   * changed). Freezes and enabled scripts of entries still in the table stay.
   *
   * @example
   * ```ts
   * addEntry(runtime.table, entry);
   * runtime.reload();
   * ```
   */
  reload(): void {
    this.#chains = this.#build();
    // Freezes of entries no longer in the table (or no longer values) stop.
    const values = new Set<TableEntry>(this.#values.map((v) => v.entry));
    for (const [entry, held] of [...this.#held]) {
      if (values.has(entry)) continue;
      held.handle?.stop();
      this.#held.delete(entry);
    }
  }

  /**
   * The row of an entry: by 1-based row number (`{ row: 3 }`), entry id, or the entry itself.
   *
   * @throws {RangeError} when there is no such row or entry.
   */
  row(which: TableEntry | number | { row: number }): TableRow {
    let row: TableRow | undefined;
    if (typeof which === "number") {
      const entry = findEntry(this.table, which);
      row = entry ? this.#rows.find((r) => r.entry === entry) : undefined;
      if (!row) throw new RangeError(`no entry with id ${which}`);
    } else if ("row" in which && typeof which.row === "number" && !("kind" in which)) {
      row = this.#rows[which.row - 1];
      if (!row) throw new RangeError(`no row ${which.row} (the table has ${this.#rows.length})`);
    } else {
      row = this.#rows.find((r) => r.entry === which);
      if (!row) throw new RangeError("the entry is not in this table");
    }
    return row;
  }

  /**
   * Resolves every address (one batched read per pointer level) and reads
   * every value. Frozen entries whose chain now leads elsewhere are frozen at
   * the new address.
   *
   * @throws {ProcessVmError} when the target cannot be read at all (`ESRCH`: it exited).
   */
  refresh(): readonly TableRow[] {
    this.#resolveAll();
    for (const r of this.#values) {
      const { row, entry } = r;
      const a = r.address;
      if (Number.isNaN(a)) {
        row.address = null;
        row.value = null;
        row.error = `${this.#held.has(entry) ? "freeze suspended: " : ""}${r.error?.message ?? "unresolved"}`;
        continue;
      }
      row.address = a;
      try {
        const bytes = this.process.read(a, entrySize(entry));
        row.value = formatEntryValue(entry, bytes);
        row.error = null;
      } catch (error) {
        if ((error as { code?: string }).code === "ESRCH") throw error;
        row.value = null;
        row.error = (error as Error).message;
      }
    }
    this.#follow();
    for (const row of this.#rows) {
      if (row.entry.kind === "value") row.active = this.#held.has(row.entry);
      else if (row.entry.kind === "script") row.active = this.#scripts.get(row.entry)?.enabled ?? false;
    }
    return this.#rows;
  }

  #valueEntry(which: TableEntry | number | { row: number }): { row: TableRow; entry: ValueEntry } {
    const row = this.row(which);
    const e = row.entry;
    if (e.kind === "unsupported") throw new TableError(`entry ${e.id} "${e.description}" is not supported: ${e.reason}`);
    if (e.kind !== "value") throw new TableError(`entry ${e.id} "${e.description}" is a ${e.kind}, not a value`);
    return { row, entry: e };
  }

  /**
   * Resolves every value entry's address: the absolute ones together (one
   * batched read per level), then the relative ones from their parents, in
   * display order.
   */
  #resolveAll(): void {
    const addresses = this.#chains.resolve();
    let failed = false;
    for (const r of this.#values) {
      r.error = null;
      if (r.chain >= 0) {
        r.address = addresses[r.chain]!;
        if (Number.isNaN(r.address)) r.error = this.#chains.error(r.chain);
      } else {
        const parent = r.parent;
        if (!parent || Number.isNaN(parent.address)) {
          r.address = NaN;
          r.error = new TableError(`entry ${r.entry.id} "${r.entry.description}": its address is relative to its parent, whose address is unknown`);
        } else if (parent.address + r.offset <= 0) {
          r.address = NaN;
          r.error = new TableError(`entry ${r.entry.id} "${r.entry.description}": its parent's address plus ${r.offset} is not an address`);
        } else if (r.offsets.length === 0) r.address = parent.address + r.offset;
        else {
          const chain = new PointerChain(this.process, { base: parent.address + r.offset, offsets: r.offsets });
          r.address = chain.tryResolve() ?? NaN;
          r.error = chain.error();
        }
      }
      if (Number.isNaN(r.address)) failed = true;
    }
    // A module loaded later, or a rebuilt object graph: look the module bases up again next time.
    if (failed) this.#chains.refresh();
  }

  #resolve(row: TableRow, entry: ValueEntry): number {
    const r = this.#values.find((v) => v.entry === entry)!;
    this.#resolveAll();
    if (Number.isNaN(r.address)) this.#resolveAll(); // once more, with the module bases looked up again
    if (Number.isNaN(r.address)) throw r.error ?? new TableError(`entry ${entry.id} "${entry.description}": the address cannot be resolved`);
    row.address = r.address;
    return r.address;
  }

  /**
   * Reads one value now, as text.
   *
   * @throws {PointerChainError} when its chain does not resolve; {@link ProcessVmError} when it cannot be read.
   */
  read(which: TableEntry | number | { row: number }): string {
    const { row, entry } = this.#valueEntry(which);
    const a = this.#resolve(row, entry);
    row.value = formatEntryValue(entry, this.process.read(a, entrySize(entry)));
    return row.value;
  }

  /**
   * Writes a value given as text (in the entry's type and display: `"999"`,
   * `"3E7"` for a hex entry, `"1.5"`, `"hello"`, `"90 90 ??"`). A frozen entry
   * is held at the new value.
   *
   * @throws {RangeError} when the text does not fit the entry; {@link PointerChainError} / {@link ProcessVmError} when it cannot be written.
   */
  set(which: TableEntry | number | { row: number }, text: string): void {
    const { row, entry } = this.#valueEntry(which);
    const a = this.#resolve(row, entry);
    const needsCurrent = entry.type === "bits" || (entry.type === "bytes" && /\?/.test(text));
    const bytes = encodeEntryValue(entry, text, needsCurrent ? this.process.read(a, entrySize(entry)) : undefined);
    this.process.write(a, bytes);
    row.value = formatEntryValue(entry, bytes);
    const held = this.#held.get(entry);
    if (held) {
      held.setting.value = text;
      if (held.handle) held.handle.set(getValue(new DataView(bytes.buffer), 0, entry.type as ValueType, entry.endian !== "big"));
      else held.bytes = bytes;
    }
  }

  /**
   * Freezes a value entry: at `text` when given (else at its saved freeze
   * value, else at the value it has now), written every `intervalMs`. The
   * setting is kept in the table (`freeze.active`), so a saved table keeps it.
   *
   * @throws as {@link set} does.
   */
  freeze(which: TableEntry | number | { row: number }, text?: string, options: { allowIncrease?: boolean; allowDecrease?: boolean } = {}): void {
    const { row, entry } = this.#valueEntry(which);
    const setting: FreezeSetting = { ...(entry.freeze ?? { active: false }), active: true };
    if (options.allowIncrease !== undefined) setting.allowIncrease = options.allowIncrease;
    if (options.allowDecrease !== undefined) setting.allowDecrease = options.allowDecrease;
    if (setting.allowIncrease && setting.allowDecrease) throw new RangeError("allowIncrease and allowDecrease cannot both be set");
    if (text !== undefined) setting.value = text;
    this.unfreeze(entry);
    const a = this.#resolve(row, entry);
    if (setting.value === undefined) setting.value = formatEntryValue(entry, this.process.read(a, entrySize(entry)));
    this.#start(entry, row, setting, a);
    entry.freeze = setting;
    row.active = true;
  }

  #start(entry: ValueEntry, row: TableRow, setting: FreezeSetting, address: number): void {
    const needsCurrent = entry.type === "bits" || (entry.type === "bytes" && /\?/.test(setting.value!));
    const bytes = encodeEntryValue(entry, setting.value!, needsCurrent ? this.process.read(address, entrySize(entry)) : undefined);
    if (isValueType(entry.type)) {
      const handle = this.process.freeze(address, entry.type, getValue(new DataView(bytes.buffer), 0, entry.type, entry.endian !== "big"), {
        endian: entry.endian ?? "little",
        intervalMs: this.options.intervalMs ?? 100,
        allowIncrease: setting.allowIncrease ?? false,
        allowDecrease: setting.allowDecrease ?? false,
        onError: (error) => this.#lost(entry, row, handle, error),
      });
      this.#held.set(entry, { handle, bytes: null, address, setting });
    } else {
      this.process.write(address, bytes);
      this.#held.set(entry, { handle: null, bytes, address, setting });
    }
    this.#ensureTimer();
  }

  /** Stops the library freeze of `held`, keeping the value it holds now (it may have followed the target with allowIncrease/allowDecrease). */
  #park(entry: ValueEntry, held: Held): void {
    if (!held.handle) return;
    held.setting.value = formatEntryValue(entry, encodeEntryValue({ ...entry, hex: false }, String(held.handle.value)));
    held.handle.stop();
    held.handle = null;
  }

  /**
   * Keeps every freeze on its entry's current address: a chain that now leads
   * elsewhere moves the freeze there; one that does not resolve suspends it
   * (nothing is written to the old address, which may now belong to
   * something else) until it resolves again. Uses the last resolution.
   */
  #follow(): void {
    for (const r of this.#values) {
      const held = this.#held.get(r.entry);
      if (!held || held.address === r.address) continue;
      if (Number.isNaN(held.address) && Number.isNaN(r.address)) continue;
      this.#park(r.entry, held);
      if (Number.isNaN(r.address)) {
        held.address = NaN;
        held.bytes = null;
        r.row.error = `freeze suspended: ${r.error?.message ?? "the address cannot be resolved"}`;
        continue;
      }
      this.#held.delete(r.entry);
      try {
        this.#start(r.entry, r.row, held.setting, r.address);
      } catch (error) {
        this.#stopped(r.entry, r.row, error as Error);
      }
    }
  }

  /**
   * A library freeze stopped on its own. When its address went away (`EFAULT`:
   * the game freed the object), the freeze is suspended and the next tick
   * resolves the chain again: a chain that leads elsewhere now takes the
   * freeze there. Any other error (the target exited) stops it.
   */
  #lost(entry: ValueEntry, row: TableRow, handle: FreezeHandle, error: Error): void {
    const held = this.#held.get(entry);
    if (!held || held.handle !== handle) return; // an old handle, replaced already
    if ((error as { code?: string }).code === "EFAULT") {
      held.setting.value = formatEntryValue(entry, encodeEntryValue({ ...entry, hex: false }, String(handle.value)));
      held.handle = null;
      held.address = NaN;
      row.error = `freeze suspended: ${error.message}`;
      return;
    }
    held.handle = null;
    this.#stopped(entry, row, error);
  }

  #stopped(entry: ValueEntry, row: TableRow, error: Error): void {
    const held = this.#held.get(entry);
    if (held?.handle && held.handle.active) return; // an old handle, replaced already
    this.#held.delete(entry);
    row.active = false;
    row.error = error.message;
    this.options.onError?.(error, entry);
  }

  /**
   * The runtime's own timer, while anything is frozen: each tick resolves the
   * addresses again (moving or suspending freezes, see {@link #follow}) and
   * writes the values that the library's freeze does not hold (strings, byte
   * arrays, bit fields).
   */
  #ensureTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#held.size > 0) {
        try {
          this.#resolveAll();
          this.#follow();
        } catch (error) {
          // The target is gone: every freeze stops, reported once each.
          for (const [entry, held] of [...this.#held]) {
            if (entry.kind !== "value") continue;
            held.handle?.stop();
            const row = this.#rows.find((x) => x.entry === entry);
            if (row) this.#stopped(entry, row, error as Error);
          }
        }
      }
      let any = false;
      for (const [entry, held] of this.#held) {
        any = true;
        if (!held.bytes || Number.isNaN(held.address)) continue;
        try {
          this.process.write(held.address, held.bytes);
        } catch (error) {
          if ((error as { code?: string }).code === "EFAULT") {
            // The address went away: suspended until the next tick resolves the chain again (as #lost does).
            held.address = NaN;
            continue;
          }
          this.#held.delete(entry);
          const row = this.#rows.find((r) => r.entry === entry);
          if (row) {
            row.active = false;
            row.error = (error as Error).message;
          }
          this.options.onError?.(error as Error, entry);
        }
      }
      if (!any && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    }, this.options.intervalMs ?? 100);
  }

  /**
   * Stops freezing a value entry (harmless when it is not frozen).
   */
  unfreeze(which: TableEntry | number | { row: number }): void {
    const { row, entry } = this.#valueEntry(which);
    const held = this.#held.get(entry);
    if (held) {
      this.#held.delete(entry);
      held.handle?.stop();
    }
    if (entry.freeze) entry.freeze.active = false;
    row.active = false;
  }

  /**
   * Starts what the table says is active: the value entries saved with
   * `freeze.active` (scripts are not enabled by themselves; call
   * {@link enable}). Returns the errors of entries that could not start.
   */
  start(): { entry: TableEntry; error: Error }[] {
    const errors: { entry: TableEntry; error: Error }[] = [];
    for (const { entry } of this.#values) {
      if (!entry.freeze?.active) continue;
      try {
        this.freeze(entry);
      } catch (error) {
        entry.freeze.active = false;
        errors.push({ entry, error: error as Error });
      }
    }
    return errors;
  }

  /**
   * Enables an entry: runs a script's `[ENABLE]` section; freezes a value entry.
   *
   * @throws {AutoAssemblerError} when the script's pattern is not found or a symbol is unknown; {@link TableError} for an unsupported entry.
   */
  async enable(which: TableEntry | number | { row: number }): Promise<void> {
    const row = this.row(which);
    const e = row.entry;
    if (e.kind === "value") return this.freeze(e);
    if (e.kind !== "script") throw new TableError(`entry ${e.id} "${e.description}" ${e.kind === "unsupported" ? `is not supported: ${e.reason}` : "is a group: nothing to enable"}`);
    let runner = this.#scripts.get(e);
    if (!runner) {
      runner = new AutoAssemblerRunner(this.process, parseAutoAssembler(e.script), this.#symbols);
      this.#scripts.set(e, runner);
    }
    await runner.enable();
    e.enabled = true;
    row.active = true;
  }

  /**
   * Disables an entry: runs a script's `[DISABLE]` section; unfreezes a value entry.
   */
  async disable(which: TableEntry | number | { row: number }): Promise<void> {
    const row = this.row(which);
    const e = row.entry;
    if (e.kind === "value") return this.unfreeze(e);
    if (e.kind !== "script") throw new TableError(`entry ${e.id} "${e.description}" cannot be disabled`);
    const runner = this.#scripts.get(e);
    if (runner) await runner.disable();
    e.enabled = false;
    row.active = false;
  }

  /**
   * Stops every freeze and puts back the bytes that enabled scripts patched
   * (their original bytes, without running `[DISABLE]`). The table keeps the
   * saved states. Harmless to call twice.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const held of this.#held.values()) held.handle?.stop();
    this.#held.clear();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const runner of this.#scripts.values()) {
      try {
        runner.restore();
      } catch {
        // the target went away
      }
    }
    if (this.#ownProcess) this.process.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The address list of the browser UI: entries with a description, an address
 * or pointer chain, a type and freeze settings, loaded from and saved to JSON.
 * A small model of its own, kept to the shape a cheat table's entry has
 * (description, address text, type, frozen value) so that a table model can
 * take its place.
 *
 * @module
 */
import { createTable, flattenEntries, isValueType, parseChain, readCheatTable, validateTable, type Table, type ValueEntry, type ValueType } from "../index.ts";
import { RequestError } from "./values.ts";

/** One entry of the list. */
export interface ListEntry {
  /** Stable id within the list. */
  id: number;
  description: string;
  /** An address (`0x7f…`) or a pointer chain (`"game+0x1a2b0 -> 0x10 -> 0x8"`), as the user wrote it. */
  address: string;
  type: ValueType;
  /** Held at {@link value} while true. */
  frozen: boolean;
  /** The frozen value as text (set when freezing). */
  value?: string;
  allowIncrease: boolean;
  allowDecrease: boolean;
}

/** The saved form of a list (`version` 1). */
export interface SavedList {
  format: "process-vm-list";
  version: 1;
  entries: Omit<ListEntry, "id">[];
}

/** Most entries a list holds. */
export const MAX_ENTRIES = 10_000;

/**
 * Whether `text` is a bare address (decimal or `0x` hex), not a pointer chain.
 *
 * @example
 * ```ts
 * isPlainAddress("0x7f001000");          // true
 * isPlainAddress("game+0x10 -> 0x8");    // false
 * ```
 */
export function isPlainAddress(text: string): boolean {
  return /^\s*(0x[0-9a-f]+|\d+)\s*$/i.test(text);
}

function checkAddressText(text: unknown): string {
  if (typeof text !== "string" || text.trim() === "" || text.length > 1000) throw new RequestError("an entry's address must be an address or a pointer chain");
  if (!isPlainAddress(text)) {
    try {
      parseChain(text);
    } catch (error) {
      throw new RequestError(`"${text}" is neither an address nor a pointer chain: ${(error as Error).message}`);
    }
  }
  return text.trim();
}

/**
 * The list: add, change, remove, and in and out as a cheat table (the
 * library's `process-vm-table` JSON; Cheat Engine `.CT` files load too).
 *
 * @example
 * ```ts
 * const list = new AddressList();
 * list.add({ description: "health", address: "0x55d0c0de10", type: "i32" });
 * await Bun.write("list.json", JSON.stringify(list.toJSON()));
 * ```
 */
export class AddressList {
  #entries: ListEntry[] = [];
  #nextId = 1;

  /** The entries, in order. */
  get entries(): readonly ListEntry[] {
    return this.#entries;
  }

  /** The entry with `id`, or throws. */
  get(id: number): ListEntry {
    const e = this.#entries.find((x) => x.id === id);
    if (!e) throw new RequestError(`no list entry ${id}`);
    return e;
  }

  /** Adds an entry (checked) and returns it. */
  add(spec: { description?: unknown; address: unknown; type: unknown }): ListEntry {
    if (this.#entries.length >= MAX_ENTRIES) throw new RequestError(`the list holds at most ${MAX_ENTRIES} entries`);
    if (!isValueType(spec.type)) throw new RequestError(`an entry's type must be i8 … f64 (got ${JSON.stringify(spec.type)?.slice(0, 20)})`);
    const description = spec.description === undefined ? "" : spec.description;
    if (typeof description !== "string" || description.length > 200) throw new RequestError("an entry's description must be a string of at most 200 characters");
    const entry: ListEntry = {
      id: this.#nextId++,
      description,
      address: checkAddressText(spec.address),
      type: spec.type,
      frozen: false,
      allowIncrease: false,
      allowDecrease: false,
    };
    this.#entries.push(entry);
    return entry;
  }

  /** Changes the description, address or type of an entry. */
  update(id: number, change: { description?: unknown; address?: unknown; type?: unknown }): ListEntry {
    const e = this.get(id);
    if (change.description !== undefined) {
      if (typeof change.description !== "string" || change.description.length > 200) throw new RequestError("description must be a string of at most 200 characters");
      e.description = change.description;
    }
    if (change.address !== undefined) e.address = checkAddressText(change.address);
    if (change.type !== undefined) {
      if (!isValueType(change.type)) throw new RequestError("type must be i8 … f64");
      e.type = change.type;
    }
    return e;
  }

  /** Removes an entry. */
  remove(id: number): void {
    this.get(id);
    this.#entries = this.#entries.filter((x) => x.id !== id);
  }

  /** Removes every entry. */
  clear(): void {
    this.#entries = [];
  }

  /** The saved form (the list's own, kept for lists saved before tables existed). */
  toJSON(): SavedList {
    return { format: "process-vm-list", version: 1, entries: this.#entries.map(({ id: _, ...rest }) => ({ ...rest })) };
  }

  /**
   * The list as a cheat table (`process-vm-table`), what the page saves:
   * `pvm table` and `loadTable` read it.
   */
  toTable(): Table {
    return createTable(
      this.#entries.map((e, i): ValueEntry => ({
        kind: "value",
        id: i + 1,
        description: e.description,
        address: e.address,
        type: e.type,
        ...(e.frozen || e.value !== undefined || e.allowIncrease || e.allowDecrease
          ? { freeze: { active: e.frozen, ...(e.value !== undefined ? { value: e.value } : {}), ...(e.allowIncrease ? { allowIncrease: true } : {}), ...(e.allowDecrease ? { allowDecrease: true } : {}) } }
          : {}),
      })),
    );
  }

  /**
   * Replaces the entries with the value entries of a cheat table: our JSON
   * (an object, or its text) or a Cheat Engine `.CT` (XML text). Groups are
   * flattened; what a list cannot hold (scripts, strings, byte arrays, bit
   * fields, big-endian values, addresses relative to a parent) is left out and
   * counted. Returns how many entries were loaded and left out.
   */
  loadTable(source: unknown): { loaded: number; skipped: number } {
    let table: Table;
    try {
      if (typeof source === "string") table = source.trimStart().startsWith("<") ? readCheatTable(source) : validateTable(JSON.parse(source));
      else table = validateTable(source);
    } catch (error) {
      throw new RequestError(`not a table: ${(error as Error).message}`);
    }
    const entries: Omit<ListEntry, "id">[] = [];
    let skipped = 0;
    for (const { entry } of flattenEntries(table)) {
      if (entry.kind === "group") continue;
      if (entry.kind !== "value" || !isValueType(entry.type) || entry.endian === "big" || /^\s*[+-]/.test(entry.address)) {
        skipped++;
        continue;
      }
      entries.push({
        description: entry.description.slice(0, 200),
        address: entry.address,
        type: entry.type,
        frozen: false,
        allowIncrease: entry.freeze?.allowIncrease === true,
        allowDecrease: entry.freeze?.allowDecrease === true,
        ...(entry.freeze?.value !== undefined ? { value: entry.freeze.value } : {}),
      });
    }
    this.load({ format: "process-vm-list", version: 1, entries });
    return { loaded: entries.length, skipped };
  }

  /**
   * Replaces the entries with those of a saved list (checked entry by entry;
   * nothing changes when one is invalid). Frozen entries come back unfrozen
   * with their value kept.
   */
  load(saved: unknown): void {
    if (typeof saved !== "object" || saved === null || (saved as SavedList).format !== "process-vm-list" || !Array.isArray((saved as SavedList).entries)) {
      throw new RequestError('not a saved list (expected { format: "process-vm-list", entries: [...] })');
    }
    const entries = (saved as SavedList).entries;
    if (entries.length > MAX_ENTRIES) throw new RequestError(`a list holds at most ${MAX_ENTRIES} entries (got ${entries.length})`);
    const fresh = new AddressList();
    entries.forEach((raw, i) => {
      if (typeof raw !== "object" || raw === null) throw new RequestError(`entry ${i} is not an object`);
      try {
        const e = fresh.add(raw);
        e.allowIncrease = raw.allowIncrease === true;
        e.allowDecrease = raw.allowDecrease === true;
        if (typeof raw.value === "string" && raw.value.length <= 100) e.value = raw.value;
      } catch (error) {
        throw new RequestError(`entry ${i}: ${(error as Error).message}`);
      }
    });
    this.#entries = fresh.#entries.map((e) => ({ ...e, id: this.#nextId++ }));
  }
}

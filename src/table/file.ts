/**
 * Table files: read (our JSON format, or a Cheat Engine `.CT`) and written
 * (our JSON format).
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { readCheatTable, type ReadCheatTableOptions } from "./ct.ts";
import { formatTable, parseTable, TableError, type Table } from "./model.ts";

/**
 * Reads a table file: our JSON format, or a Cheat Engine `.CT` (XML, told by
 * its first character), converted with `readCheatTable`.
 *
 * @throws {TableError} for a file that is neither, naming the file and the entry at fault.
 * @example
 * ```ts
 * const table = loadTable("Game.CT");
 * ```
 */
export function loadTable(path: string, options?: ReadCheatTableOptions): Table {
  const text = readFileSync(path, "utf8");
  try {
    if (text.replace(/^\uFEFF/, "").trimStart().startsWith("<")) return readCheatTable(text, options);
    return parseTable(text);
  } catch (error) {
    if (error instanceof TableError) {
      error.message = `${path}: ${error.message}`;
    }
    throw error;
  }
}

/**
 * Writes a table in our JSON format.
 *
 * @throws {TableError} when the table is not valid (nothing is written then).
 * @example
 * ```ts
 * saveTable("game.json", table);
 * ```
 */
export function saveTable(path: string, table: Table): void {
  writeFileSync(path, formatTable(table));
}

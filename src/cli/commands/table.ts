/**
 * `pvm table`: cheat tables (our JSON format or Cheat Engine's `.CT`) against
 * a live process, and `.CT` conversion.
 *
 * @module
 */
import { createInterface } from "node:readline";
import { loadTable, saveTable } from "../../table/file.ts";
import { flattenEntries, type Table, type TableEntry } from "../../table/model.ts";
import { TableRuntime, type TableRow } from "../../table/runtime.ts";
import type { Command } from "../command.ts";
import { onExit } from "../exit.ts";
import { hex, jsonAddress, type Output } from "../output.ts";
import { openTarget } from "../target.ts";
import { UsageError } from "../util.ts";

const COMMANDS_HELP = [
  "commands: set N VALUE | freeze N [VALUE] [--allow-increase|--allow-decrease] | unfreeze N | enable N | disable N | save FILE | list | help | quit",
  "(N is the row number; VALUE as shown, e.g. 999, 3E7 for a hex entry, 1.5, text, 90 90 ??)",
].join("\n");

function kindLabel(entry: TableEntry): string {
  switch (entry.kind) {
    case "group":
      return "";
    case "script":
      return "script";
    case "unsupported":
      return "unsupported";
    case "value":
      return entry.type === "string" ? `string[${entry.length}]${entry.encoding === "utf-16le" ? " utf-16" : ""}` : entry.type === "bytes" ? `bytes[${entry.length}]` : entry.type === "bits" ? `bits ${entry.bit ?? 0}+${entry.bitLength}` : entry.type;
  }
}

interface ListedRow {
  index: number;
  entry: TableEntry;
  depth: number;
}

function listed(table: Table): ListedRow[] {
  return flattenEntries(table).map((f, i) => ({ index: i + 1, entry: f.entry, depth: f.depth }));
}

/** The listing: one line per entry, indented by depth, with the live value when attached. */
function render(rows: readonly ListedRow[], live: readonly TableRow[] | null, width: number, out?: Output): string[] {
  const lines: string[] = [];
  for (const row of rows) {
    const e = row.entry;
    const r = live?.[row.index - 1];
    const mark = r?.active ? (e.kind === "script" ? "[x]" : "[F]") : e.kind === "script" ? "[ ]" : "   ";
    const name = `${"  ".repeat(row.depth)}${e.kind === "group" ? `${e.description}/` : e.description}`;
    let value = "";
    if (e.kind === "unsupported") value = `(unsupported: ${e.reason})`;
    else if (e.kind === "value") {
      if (!live) value = e.address;
      else if (r?.value !== null && r?.value !== undefined) value = `${r.value}${r.address !== null ? `  @${hex(r.address)}` : ""}`;
      else value = `?? ${r?.error ?? ""}`;
    }
    let line = `${String(row.index).padStart(3)} ${mark} ${name.padEnd(28)} ${kindLabel(e).padEnd(12)} ${value}`;
    if (line.length > width) line = `${line.slice(0, width - 1)}…`;
    lines.push(out && e.kind === "unsupported" ? out.paint("dim", line) : line);
  }
  return lines;
}

/** One row as JSON (for `--json`). */
function jsonRow(row: ListedRow, live: TableRow | undefined): Record<string, unknown> {
  const e = row.entry;
  return {
    row: row.index,
    id: e.id,
    depth: row.depth,
    kind: e.kind,
    description: e.description,
    ...(e.kind === "value" ? { type: e.type, chain: e.address } : {}),
    ...(e.kind === "unsupported" ? { reason: e.reason } : {}),
    ...(live && live.address !== null ? jsonAddress(live.address) : {}),
    ...(live && e.kind === "value" ? { value: live.value } : {}),
    ...(live?.error && e.kind !== "unsupported" ? { error: live.error } : {}),
    ...(live && (e.kind === "value" || e.kind === "script") ? { active: live.active } : {}),
  };
}

function rowNumber(text: string | undefined, table: Table): number {
  const n = Number(text);
  const count = flattenEntries(table).length;
  if (!Number.isInteger(n) || n < 1 || n > count) throw new UsageError(`N must be a row number from 1 to ${count} (got ${text === undefined ? "nothing" : `"${text}"`})`);
  return n;
}

/** Runs one command line of the session; returns text to print, or `null` to quit. */
async function execute(line: string, table: Table, runtime: TableRuntime | null): Promise<string | null> {
  const words = line.trim().split(/\s+/);
  const [cmd, ...args] = words;
  if (!cmd) return "";
  const need = (): TableRuntime => {
    if (!runtime) throw new UsageError(`"${cmd}" needs a TARGET: pvm table FILE TARGET`);
    return runtime;
  };
  switch (cmd.toLowerCase()) {
    case "quit":
    case "exit":
    case "q":
      return null;
    case "help":
    case "?":
      return COMMANDS_HELP;
    case "list":
    case "ls":
      runtime?.refresh();
      return render(listed(table), runtime?.rows ?? null, 1 << 16).join("\n");
    case "set": {
      const n = rowNumber(args[0], table);
      if (args.length < 2) throw new UsageError("set N VALUE: missing VALUE");
      const rt = need();
      rt.set({ row: n }, /^\s*\S+\s+\S+\s(.*)$/.exec(line)![1]!.trim());
      return `${n}: ${rt.read({ row: n })}`;
    }
    case "freeze": {
      const n = rowNumber(args[0], table);
      const rt = need();
      const allowIncrease = args.includes("--allow-increase");
      const allowDecrease = args.includes("--allow-decrease");
      const value = args.slice(1).filter((a) => a !== "--allow-increase" && a !== "--allow-decrease").join(" ");
      // Without a flag, the saved setting stays.
      rt.freeze({ row: n }, value === "" ? undefined : value, allowIncrease ? { allowIncrease, allowDecrease: false } : allowDecrease ? { allowDecrease, allowIncrease: false } : {});
      const entry = rt.row({ row: n }).entry;
      const held = entry.kind === "value" ? entry.freeze : undefined;
      return `${n}: frozen at ${held?.value ?? ""}${held?.allowIncrease ? " (may increase)" : held?.allowDecrease ? " (may decrease)" : ""}`;
    }
    case "unfreeze": {
      const n = rowNumber(args[0], table);
      need().unfreeze({ row: n });
      return `${n}: unfrozen`;
    }
    case "enable": {
      const n = rowNumber(args[0], table);
      await need().enable({ row: n });
      return `${n}: enabled`;
    }
    case "disable": {
      const n = rowNumber(args[0], table);
      await need().disable({ row: n });
      return `${n}: disabled`;
    }
    case "save": {
      if (!args[0]) throw new UsageError("save FILE: missing FILE");
      saveTable(args.join(" "), table);
      return `saved ${args.join(" ")}`;
    }
    default:
      throw new UsageError(`unknown command "${cmd}"\n${COMMANDS_HELP}`);
  }
}

/** Runs command lines until one says quit, the lines end, or `signal` aborts; returns how many failed. */
async function runLines(lines: AsyncIterable<string> | Iterable<string>, table: Table, runtime: TableRuntime | null, out: Output, signal: AbortSignal): Promise<number> {
  let failed = 0;
  for await (const line of lines) {
    if (signal.aborted) break;
    try {
      const said = await execute(line, table, runtime);
      if (said === null) break;
      if (said) out.line(said);
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      out.note(`error: ${error.message}`);
      failed++;
    }
  }
  return failed;
}

/** On a terminal: the table redrawn in place above a prompt, every `refreshMs`. */
async function interactive(table: Table, runtime: TableRuntime | null, refreshMs: number, out: Output, signal: AbortSignal): Promise<void> {
  let message = COMMANDS_HELP;
  let drawn = 0;
  const columns = () => process.stdout.columns || 120;
  const draw = () => {
    try {
      runtime?.refresh();
    } catch (error) {
      message = `target: ${(error as Error).message}`;
    }
    const lines = render(listed(table), runtime?.rows ?? null, columns(), out);
    const all = [...lines, "", ...message.split("\n").map((l) => (l.length > columns() ? `${l.slice(0, columns() - 1)}…` : l))];
    let text = "\x1b7\x1b[H";
    for (const l of all) text += `${l}\x1b[K\n`;
    for (let k = all.length; k < drawn; k++) text += "\x1b[K\n";
    drawn = all.length;
    process.stdout.write(`${text}\x1b8`);
  };
  const place = () => process.stdout.write(`\x1b[${listed(table).length + message.split("\n").length + 3};1H`);
  process.stdout.write("\x1b[2J");
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  signal.addEventListener("abort", () => rl.close(), { once: true });
  rl.on("SIGINT", () => rl.close());
  draw();
  place();
  rl.setPrompt("pvm table> ");
  rl.prompt();
  const timer = runtime ? setInterval(draw, refreshMs) : null;
  try {
    for await (const line of rl) {
      try {
        const said = await execute(line, table, runtime);
        if (said === null) break;
        message = said;
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        message = `error: ${error.message}`;
      }
      process.stdout.write("\x1b[2J");
      draw();
      place();
      rl.prompt();
    }
  } finally {
    if (timer) clearInterval(timer);
    rl.close();
  }
}

/** `pvm table`. */
export const tableCommand: Command = {
  name: "table",
  interruptible: true,
  usage: "FILE [TARGET]  |  table convert FILE.CT OUT.json",
  summary: "a cheat table (ours or Cheat Engine's .CT) with live values: set, freeze, enable scripts, save",
  description: [
    "FILE is our JSON table or a Cheat Engine .CT. With a TARGET, values are live: on a terminal the table is redrawn in",
    "place above a prompt; from a pipe or with -c, the listing is printed once, then one command per line (or per ;),",
    "and the exit status is 1 when a command failed. Freezes end and script patches are put back when it ends.",
    COMMANDS_HELP,
    "pvm table convert FILE.CT OUT.json writes a .CT in our format; entries it cannot express are kept, marked unsupported.",
  ].join("\n"),
  options: {
    commands: { type: "string", short: "c", value: "COMMANDS", description: 'run these commands (separated by ;) and exit, e.g. -c "set 2 999; freeze 2"' },
    refresh: { type: "string", value: "MS", description: "milliseconds between redraws on a terminal (default 200)" },
  },
  json: true,
  examples: ["pvm table Game.CT game.exe", 'pvm table game.json 4242 -c "set 2 999; freeze 3; save game.json"', "pvm table convert Game.CT game.json", "pvm table game.json 4242 --json"],
  async run({ args, options, out, signal }) {
    if (args[0] === "convert") {
      const [, from, to] = args;
      if (!from || !to) throw new UsageError("convert needs FILE.CT and OUT.json");
      const table = loadTable(from);
      saveTable(to, table);
      const all = flattenEntries(table);
      const unsupported = all.filter((f) => f.entry.kind === "unsupported");
      if (out.json) {
        out.document({ file: to, entries: all.length, unsupported: unsupported.map(({ entry }) => ({ id: entry.id, description: entry.description, reason: entry.kind === "unsupported" ? entry.reason : "" })) });
        return;
      }
      out.line(`${to}: ${all.length} entries${unsupported.length ? `, ${unsupported.length} unsupported (kept, disabled):` : ""}`);
      for (const { entry } of unsupported) if (entry.kind === "unsupported") out.line(`  ${entry.id} "${entry.description}": ${entry.reason}`);
      return;
    }
    const file = args[0];
    if (!file) throw new UsageError("missing FILE");
    const refreshMs = options.number("refresh", 200);
    if (!(refreshMs >= 10)) throw new UsageError("--refresh must be at least 10 (milliseconds)");
    const table = loadTable(file);
    let runtime: TableRuntime | null = null;
    if (args[1] !== undefined) {
      runtime = new TableRuntime(openTarget(args[1]), table, { onError: (error, entry) => out.note(`entry ${entry.id} "${entry.description}": ${error.message}`) });
      for (const { entry, error } of runtime.start()) out.note(`entry ${entry.id} "${entry.description}" cannot be frozen: ${error.message}`);
    }
    const release = onExit(() => runtime?.close());
    try {
      const batch = options.string("commands");
      if (out.json) {
        runtime?.refresh();
        if (batch !== undefined) {
          const failed = await runLines(batch.split(/;|\n/), table, runtime, out, signal);
          runtime?.refresh();
          out.document(listed(table).map((r) => jsonRow(r, runtime?.rows[r.index - 1])));
          return failed > 0 ? 1 : 0;
        }
        out.document(listed(table).map((r) => jsonRow(r, runtime?.rows[r.index - 1])));
        return 0;
      }
      if (batch !== undefined) return (await runLines(batch.split(/;|\n/), table, runtime, out, signal)) > 0 ? 1 : 0;
      if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) {
        // A plain one-shot listing, then the commands read from stdin, one per line.
        runtime?.refresh();
        for (const line of render(listed(table), runtime?.rows ?? null, 1 << 16)) out.line(line);
        const rl = createInterface({ input: process.stdin, terminal: false });
        signal.addEventListener("abort", () => rl.close(), { once: true });
        const failed = await runLines(rl, table, runtime, out, signal);
        rl.close();
        return failed > 0 ? 1 : 0;
      }
      await interactive(table, runtime, refreshMs, out, signal);
      return 0;
    } finally {
      release();
      runtime?.close();
    }
  },
};

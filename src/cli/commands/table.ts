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
import { hex, openTarget, parseArgs, UsageError } from "../util.ts";

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

/** The listing: one line per entry, indented by depth, with the live value when attached. */
function render(rows: readonly { index: number; entry: TableEntry; depth: number }[], live: readonly TableRow[] | null, width = 120): string[] {
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
    const line = `${String(row.index).padStart(3)} ${mark} ${name.padEnd(28)} ${kindLabel(e).padEnd(12)} ${value}`;
    lines.push(line.length > width ? `${line.slice(0, width - 1)}…` : line);
  }
  return lines;
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
      return render(flattenEntries(table).map((f, i) => ({ index: i + 1, entry: f.entry, depth: f.depth })), runtime?.rows ?? null).join("\n");
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

/** Some commands of a non-interactive session failed (each was reported as it failed). */
class TableCommandError extends Error {
  override name = "TableCommandError";
}

/** `pvm table FILE [TARGET]`: the interactive session (a live table on a TTY; lines of commands from a pipe). */
async function session(file: string, target: string | undefined, refreshMs: number): Promise<void> {
  const table = loadTable(file);
  let runtime: TableRuntime | null = null;
  if (target !== undefined) {
    runtime = new TableRuntime(openTarget(target), table, { onError: (error, entry) => console.error(`entry ${entry.id} "${entry.description}": ${error.message}`) });
    for (const { entry, error } of runtime.start()) console.error(`entry ${entry.id} "${entry.description}" cannot be frozen: ${error.message}`);
  }
  const rows = () => flattenEntries(table).map((f, i) => ({ index: i + 1, entry: f.entry, depth: f.depth }));
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  // Ctrl-C or SIGTERM: stop the freezes and put back what enabled scripts patched, then exit.
  const stop = (signal: NodeJS.Signals) => {
    runtime?.close();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    if (!tty) {
      // A plain one-shot listing, then the commands read from stdin, one per line.
      runtime?.refresh();
      console.log(render(rows(), runtime?.rows ?? null, 1 << 16).join("\n"));
      const input = createInterface({ input: process.stdin, terminal: false });
      let failed = 0;
      for await (const line of input) {
        try {
          const out = await execute(line, table, runtime);
          if (out === null) break;
          if (out) console.log(out);
        } catch (error) {
          if (!(error instanceof Error)) throw error;
          console.error(`error: ${error.message}`);
          failed++;
        }
      }
      input.close();
      if (failed > 0) throw new TableCommandError(`${failed} command(s) failed`);
      return;
    }
    // On a terminal: the table redrawn in place above a prompt.
    let message = COMMANDS_HELP;
    let drawn = 0;
    const draw = () => {
      try {
        runtime?.refresh();
      } catch (error) {
        message = `target: ${(error as Error).message}`;
      }
      const lines = render(rows(), runtime?.rows ?? null, process.stdout.columns || 120);
      const columns = process.stdout.columns || 120;
      const out = [...lines, "", ...message.split("\n").map((l) => (l.length > columns ? `${l.slice(0, columns - 1)}…` : l))];
      let text = "\x1b7\x1b[H";
      for (const l of out) text += `${l}\x1b[K\n`;
      for (let k = out.length; k < drawn; k++) text += "\x1b[K\n";
      drawn = out.length;
      process.stdout.write(`${text}\x1b8`);
    };
    process.stdout.write("\x1b[2J");
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    const place = () => process.stdout.write(`\x1b[${rows().length + message.split("\n").length + 3};1H`);
    draw();
    place();
    rl.setPrompt("pvm table> ");
    rl.prompt();
    const timer = runtime ? setInterval(draw, refreshMs) : null;
    try {
      for await (const line of rl) {
        try {
          const out = await execute(line, table, runtime);
          if (out === null) break;
          message = out;
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
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    runtime?.close();
  }
}

/** `pvm table`. */
export const tableCommand: Command = {
  name: "table",
  usage: "FILE [TARGET] [--refresh MS]   |   table convert FILE.CT OUT.json",
  summary: "a cheat table (ours or Cheat Engine's .CT) with live values; commands: set, freeze, unfreeze, enable, disable, save",
  async run(argv) {
    const { positionals, flags } = parseArgs(argv, ["refresh"]);
    if (positionals[0] === "convert") {
      const [, from, to] = positionals;
      if (!from || !to) throw new UsageError("convert needs FILE.CT and OUT.json");
      const table = loadTable(from);
      saveTable(to, table);
      const all = flattenEntries(table);
      const unsupported = all.filter((f) => f.entry.kind === "unsupported");
      console.log(`${to}: ${all.length} entries${unsupported.length ? `, ${unsupported.length} unsupported (kept, disabled):` : ""}`);
      for (const { entry } of unsupported) if (entry.kind === "unsupported") console.log(`  ${entry.id} "${entry.description}": ${entry.reason}`);
      return;
    }
    const file = positionals[0];
    if (!file) throw new UsageError("missing FILE");
    const refresh = flags.get("refresh");
    const ms = refresh === undefined || refresh === true ? 200 : Number(refresh);
    if (!(ms >= 10)) throw new UsageError("--refresh must be at least 10 (milliseconds)");
    await session(file, positionals[1], ms);
  },
};

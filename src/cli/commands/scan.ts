/**
 * Scanner commands: `attach` (the interactive session), `scan` and `find`.
 *
 * @module
 */
import { createInterface } from "node:readline";
import { findPattern } from "../../scan/index.ts";
import type { Command } from "../command.ts";
import { Session } from "../session.ts";
import { hex, numberFlag, openTarget, parseArgs, parseNumber, UsageError } from "../util.ts";

/** Runs a session over `lines`, printing to stdout; resolves when they end or on `quit`. */
export async function runSession(session: Session, lines: AsyncIterable<string>, prompt: () => void): Promise<void> {
  prompt();
  for await (const line of lines) {
    if (!(await session.execute(line))) break;
    prompt();
  }
  session.close();
}

/** `pvm attach`. */
export const attach: Command = {
  name: "attach",
  usage: "TARGET",
  summary: "interactive session: scan for a value, narrow it as it changes, set or freeze it (type help)",
  async run(argv) {
    const { positionals } = parseArgs(argv);
    const proc = openTarget(positionals[0]);
    proc.maps(); // fails now, with ESRCH or EPERM, rather than at the first scan
    const tty = process.stdin.isTTY === true;
    const rl = createInterface({ input: process.stdin, terminal: tty });
    if (tty) console.log(`attached to pid ${proc.pid}; type a value to scan for it, or help`);
    await runSession(new Session(proc, (line) => console.log(line)), rl, () => {
      if (tty) process.stdout.write("pvm> ");
    });
    rl.close();
  },
};

/** `pvm scan`: one first scan and any number of next scans, non-interactively. */
export const scanCommand: Command = {
  name: "scan",
  usage: "TARGET [--type TYPE] [--within START,END | --module NAME] [--delay MS] QUERY [QUERY…]",
  summary: "scan for a value, narrow with further queries (each run after the previous), list the matches",
  async run(argv) {
    const { positionals, flags } = parseArgs(argv, ["type", "delay", "within", "module"]);
    const proc = openTarget(positionals[0]);
    const queries = positionals.slice(1);
    if (queries.length === 0) throw new UsageError("missing QUERY");
    const session = new Session(proc, (line) => console.log(line));
    const type = flags.get("type");
    const within = flags.get("within");
    const module = flags.get("module");
    if (typeof within === "string") await session.execute(`within ${within.replace(",", " ")}`, true);
    else if (typeof module === "string") await session.execute(`within ${module}`, true);
    if (typeof type === "string") await session.execute(`type ${type}`, true);
    const delay = numberFlag(flags, "delay", 0);
    for (const [i, query] of queries.entries()) {
      if (i > 0 && delay > 0) await Bun.sleep(delay);
      console.log(`> ${query}`);
      await session.execute(query, true);
    }
    if ((session.scan?.count ?? 0) > 5) await session.execute("list 20", true);
  },
};

function withinRange(text: string): [number, number] {
  const [start, end] = text.split(",");
  if (end === undefined) throw new UsageError("--within takes START,END");
  return [parseNumber(start!, "START"), parseNumber(end, "END")];
}

/** `pvm find`. */
export const find: Command = {
  name: "find",
  usage: 'TARGET PATTERN [--code] [--module NAME] [--within START,END]    e.g. pvm find game "48 8b ?? 4? : ff ff 00 f0" --code',
  summary: "every address where a byte pattern occurs (?? any byte, 4? nibble, : mask)",
  async run(argv) {
    const { positionals, flags } = parseArgs(argv, ["module", "within"]);
    const proc = openTarget(positionals[0]);
    const pattern = positionals.slice(1).join(" ");
    if (pattern === "") throw new UsageError("missing PATTERN");
    const module = flags.get("module");
    const within = flags.get("within");
    const found = await findPattern(proc, pattern, {
      permissions: "r???",
      ...(flags.has("code") ? { code: true } : {}),
      ...(typeof module === "string" ? { module } : {}),
      ...(typeof within === "string" ? { within: withinRange(within) } : {}),
    });
    for (const address of found) console.log(hex(address));
    console.error(`${found.length} match(es)`);
  },
};

/**
 * `pvm ps [NAME]`: processes, with pid, name and command line.
 *
 * @module
 */
import type { Command } from "../command.ts";
import { listProcesses, matchProcesses } from "../target.ts";

/** `pvm ps`. */
export const ps: Command = {
  name: "ps",
  usage: "[NAME]",
  summary: "list processes, or those NAME matches (exact name, else a name prefix)",
  description: "Never lists pvm itself. With --full, NAME matches anywhere in the command line instead.",
  options: { full: { type: "boolean", description: "match NAME anywhere in the command line" } },
  json: true,
  examples: ["pvm ps nethack", "pvm ps --full game.x86_64 --json"],
  run({ args, options, out }) {
    const name = args[0];
    const rows = name === undefined ? listProcesses() : matchProcesses(name, options.flag("full"));
    if (out.json) {
      out.document(rows.map(({ pid, name, command }) => ({ pid, name, command })));
    } else {
      out.line(`${"PID".padStart(7)}  ${"NAME".padEnd(16)} COMMAND`);
      for (const p of rows) out.line(`${String(p.pid).padStart(7)}  ${p.name.padEnd(16)} ${p.command.slice(0, 120)}`);
    }
    return rows.length === 0 && name !== undefined ? 1 : 0;
  },
};

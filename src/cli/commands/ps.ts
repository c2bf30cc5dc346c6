/**
 * `pvm ps [NAME]`: processes, with pid, name and command line.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Command } from "../command.ts";
import { parseArgs } from "../util.ts";

/** `pvm ps`. */
export const ps: Command = {
  name: "ps",
  usage: "[NAME]",
  summary: "list processes (those named NAME with it), with pid and command line",
  run(argv) {
    const { positionals } = parseArgs(argv);
    const filter = positionals[0];
    const rows: string[] = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
        if (filter && !comm.includes(filter) && !cmdline.includes(filter)) continue;
        rows.push(`${entry.padStart(7)}  ${comm.padEnd(16)}  ${cmdline.slice(0, 100)}`);
      } catch {
        // gone meanwhile
      }
    }
    console.log(`${"PID".padStart(7)}  ${"NAME".padEnd(16)}  COMMAND`);
    for (const row of rows) console.log(row);
  },
};

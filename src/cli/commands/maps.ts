/**
 * `pvm maps TARGET`: the memory map, with the region kinds the scanner uses.
 *
 * @module
 */
import type { Command } from "../command.ts";
import { openTarget, parseArgs } from "../util.ts";

function size(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)}G`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)}M`;
  return `${(bytes / 1024).toFixed(0)}K`;
}

/** `pvm maps`. */
export const maps: Command = {
  name: "maps",
  usage: "TARGET [--writable] [--kind KIND]",
  summary: "the target's mappings: range, size, permissions, kind, path",
  run(argv) {
    const { positionals, flags } = parseArgs(argv, ["kind"]);
    const proc = openTarget(positionals[0]);
    const kind = flags.get("kind");
    let total = 0;
    for (const r of proc.maps()) {
      if (flags.has("writable") && !r.writable) continue;
      if (typeof kind === "string" && r.kind !== kind) continue;
      total += r.size;
      const label = r.path || (r.name ? `[${r.name}]` : "");
      console.log(
        `${r.start.toString(16).padStart(12, "0")}-${r.end.toString(16).padStart(12, "0")} ${size(r.size).padStart(7)} ${r.permissions} ${r.kind.padEnd(12)} ${label}${r.deleted ? " (deleted)" : ""}`,
      );
    }
    console.log(`total ${size(total)}`);
  },
};

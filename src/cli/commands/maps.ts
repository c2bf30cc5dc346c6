/**
 * `pvm maps TARGET`: the memory map, with the region kinds the scanner uses.
 *
 * @module
 */
import type { Command } from "../command.ts";
import { bytes, hex } from "../output.ts";
import { openTarget } from "../target.ts";

/** `pvm maps`. */
export const maps: Command = {
  name: "maps",
  usage: "TARGET",
  summary: "the target's mappings: range, size, permissions, kind, path",
  description: "Kinds: file, heap, stack, anonymous, named ([anon:NAME]), vdso, vvar, vsyscall, other.",
  options: {
    writable: { type: "boolean", short: "w", description: "only writable mappings" },
    kind: { type: "string", value: "KIND", multiple: true, description: "only mappings of this kind (repeatable)" },
  },
  json: true,
  examples: ["pvm maps nethack --writable", "pvm maps 4242 --kind heap --json"],
  run({ args, options, out }) {
    const proc = openTarget(args[0]);
    const kinds = options.strings("kind");
    const regions = proc.maps().filter((r) => (!options.flag("writable") || r.writable) && (kinds.length === 0 || kinds.includes(r.kind)));
    if (out.json) {
      out.document(
        regions.map((r) => ({
          start: r.start, startHex: hex(r.start), end: r.end, endHex: hex(r.end), size: r.size, permissions: r.permissions,
          kind: r.kind, path: r.path, ...(r.name !== undefined ? { name: r.name } : {}), offset: r.offset, deleted: r.deleted,
        })),
      );
      return;
    }
    let total = 0;
    for (const r of regions) {
      total += r.size;
      const label = r.path || (r.name ? `[${r.name}]` : "");
      out.line(
        `${out.paint("address", `${r.start.toString(16).padStart(12, "0")}-${r.end.toString(16).padStart(12, "0")}`)} ${bytes(r.size).padStart(10)} ${r.permissions} ${r.kind.padEnd(10)} ${label}${r.deleted ? " (deleted)" : ""}`,
      );
    }
    out.line(`total ${bytes(total)}`);
  },
};

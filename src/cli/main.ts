#!/usr/bin/env bun
/**
 * `pvm`: the process-vm command line.
 *
 * @module
 */
import { ProcessVmError } from "../errors.ts";
import type { Command } from "./command.ts";
import { maps } from "./commands/maps.ts";
import { ps } from "./commands/ps.ts";
import { dump, read } from "./commands/read.ts";
import { demo } from "./commands/demo.ts";
import { attach, find, scanCommand } from "./commands/scan.ts";
import { freezeCommand, pointersCommand, resolveCommand, watchCommand } from "./commands/trainer.ts";
import { write } from "./commands/write.ts";
import { ui } from "./commands/ui.ts";
import { UsageError } from "./util.ts";

const COMMANDS: readonly Command[] = [demo, attach, scanCommand, find, ps, maps, read, dump, write, resolveCommand, freezeCommand, watchCommand, pointersCommand, ui];

function help(): string {
  return [
    "pvm: read, write and scan another process's memory (process_vm_readv/process_vm_writev)",
    "",
    "usage: pvm COMMAND ARGS…   (TARGET is a pid or a process name; numbers are decimal or 0x-hex)",
    "",
    ...COMMANDS.map((c) => `  pvm ${c.name} ${c.usage}\n      ${c.summary}`),
  ].join("\n");
}

/**
 * Runs `pvm` with `argv` (without the program name); resolves to the exit status.
 *
 * @example
 * ```ts
 * process.exitCode = await main(["read", "1234", "0x7f0000001000", "i32"]);
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`pvm: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`pvm ${command.name}: ${error.message}\nusage: pvm ${command.name} ${command.usage}`);
      return 2;
    }
    if (error instanceof ProcessVmError || (error instanceof Error && /Error$/.test(error.name) && error.name !== "Error")) {
      console.error(`pvm ${command.name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));

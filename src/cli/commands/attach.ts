/**
 * `pvm attach`: the interactive session (line editing, history, completion),
 * or the same commands from a pipe or from `-c "100; decreased; list"`.
 *
 * @module
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import type { Command } from "../command.ts";
import { onExit } from "../exit.ts";
import { Progress } from "../output.ts";
import { Session, SESSION_WORDS } from "../session.ts";
import { openTarget } from "../target.ts";

/**
 * The history file: `$XDG_STATE_HOME/process-vm/history`, or
 * `~/.local/state/process-vm/history`.
 *
 * @example
 * ```ts
 * historyFile(); // "/home/me/.local/state/process-vm/history"
 * ```
 */
export function historyFile(env: Record<string, string | undefined> = process.env): string {
  const state = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith("/") ? env.XDG_STATE_HOME : join(env.HOME || homedir(), ".local", "state");
  return join(state, "process-vm", "history");
}

const HISTORY_SIZE = 1000;

function loadHistory(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

function saveHistory(file: string, added: readonly string[]): void {
  if (added.length === 0) return;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    appendFileSync(file, `${added.join("\n")}\n`, { mode: 0o600 });
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    if (lines.length > 2 * HISTORY_SIZE) writeFileSync(file, `${lines.slice(-HISTORY_SIZE).join("\n")}\n`);
  } catch {
    // a read-only home: no history
  }
}

/** Completes the first word of a line with a session command. */
function completer(line: string): [string[], string] {
  if (/\s/.test(line.trimStart())) return [[], line];
  const word = line.trimStart();
  const hits = SESSION_WORDS.filter((w) => w.startsWith(word));
  return [hits.length ? hits : [], word];
}

/** `pvm attach`. */
export const attach: Command = {
  name: "attach",
  interruptible: true,
  usage: "TARGET",
  summary: "interactive session: scan, narrow as the value changes, set, freeze (type help)",
  description: [
    "On a terminal: line editing, history (in $XDG_STATE_HOME/process-vm/history or ~/.local/state/process-vm/history),",
    "Tab completes command names; Ctrl-C stops a running scan, Ctrl-D quits. From a pipe or with -c, one command per line",
    "(or per ;) and the exit status is 1 when a command failed. Freezes end and patches are restored when it ends.",
  ].join("\n"),
  options: {
    commands: { type: "string", short: "c", value: "COMMANDS", description: 'run these commands (separated by ;) and exit, e.g. -c "100; decreased; list"' },
    keep: { type: "boolean", description: "leave patches made in the session in place when it ends" },
  },
  examples: ["pvm attach nethack", 'pvm attach 4242 -c "type int; 17; list"', "printf '100\\nlist\\n' | pvm attach game"],
  async run({ args, options, out, signal }) {
    const proc = openTarget(args[0]);
    proc.maps(); // fails now, with ESRCH or EPERM, rather than at the first scan
    const keep = options.flag("keep");
    const session = new Session(proc, (line) => out.line(line), keep);
    const release = onExit(() => session.close(keep));
    try {
      const batch = options.string("commands");
      if (batch !== undefined) {
        for (const command of batch.split(/;|\n/)) {
          if (signal.aborted) break;
          if (!(await session.execute(command, { signal, progress: out.progress("scan") }))) break;
        }
        return session.failed ? 1 : 0;
      }
      if (process.stdin.isTTY !== true) {
        const rl = createInterface({ input: process.stdin, terminal: false });
        signal.addEventListener("abort", () => rl.close(), { once: true });
        for await (const line of rl) {
          if (signal.aborted || !(await session.execute(line, { signal, progress: out.progress("scan") }))) break;
        }
        rl.close();
        return session.failed ? 1 : 0;
      }
      await interactive(session, proc.pid, out.stderr.isTTY === true, signal);
      return 0;
    } finally {
      release();
      session.close(keep);
    }
  },
};

/** The terminal session: readline with history and completion; Ctrl-C stops the command that runs. */
async function interactive(session: Session, pid: number, progressOnStderr: boolean, signal: AbortSignal): Promise<void> {
  const file = historyFile();
  const added: string[] = [];
  const rl: Interface = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    history: loadHistory(file),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    completer,
    prompt: "pvm> ",
  } as Parameters<typeof createInterface>[0]);
  console.log(`attached to pid ${pid}; type a value to scan for it, help for the commands`);
  let running: AbortController | null = null;
  let closed = false;
  rl.on("SIGINT", () => {
    if (running) running.abort();
    else {
      process.stdout.write("^C (quit or Ctrl-D to leave)\n");
      rl.prompt();
    }
  });
  rl.on("close", () => (closed = true));
  // SIGINT or SIGTERM from outside (not the Ctrl-C key, which readline takes): end the session.
  signal.addEventListener("abort", () => (running?.abort(), rl.close()), { once: true });
  const lines = rl[Symbol.asyncIterator]();
  rl.prompt();
  for (;;) {
    const next = await lines.next();
    if (next.done || closed) break;
    const line = next.value as string;
    if (line.trim()) added.push(line);
    running = new AbortController();
    const go = await session.execute(line, { signal: running.signal, progress: new Progress("scan", process.stderr, progressOnStderr) });
    running = null;
    if (!go) break;
    rl.prompt();
  }
  rl.close();
  saveHistory(file, added);
}

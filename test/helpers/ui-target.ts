/**
 * The C game of the UI tests (test/fixtures/ui-target.c), compiled on the spot
 * with `cc` into a temporary directory that `close()` removes.
 */
import type { Subprocess } from "bun";
import { Lines } from "./lines.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SOURCE = new URL("../fixtures/ui-target.c", import.meta.url).pathname;

/** Why the C target cannot be built here, or null when it can. */
export function cannotCompile(): string | null {
  return Bun.which("cc") ? null : "no C compiler (cc) on this machine";
}


export class UiTarget {
  readonly pid: number;
  /** Address of the player's health (an i32 on the heap, reached through the global `player`). */
  readonly health: number;
  readonly name: string;
  readonly #child: Subprocess<"pipe", "pipe", "inherit">;
  readonly #dir: string;
  readonly #out: Lines;

  private constructor(child: Subprocess<"pipe", "pipe", "inherit">, out: Lines, dir: string, name: string, ready: string) {
    const [word, pid, health] = ready.split(" ");
    if (word !== "ready") throw new Error(`the target said "${ready}"`);
    this.#child = child;
    this.#out = out;
    this.#dir = dir;
    this.name = name;
    this.pid = Number(pid);
    this.health = parseInt(health!, 16);
  }

  /** Compiles and starts the game; resolves once it printed its address. */
  static async start(name = "uitarget"): Promise<UiTarget> {
    const dir = mkdtempSync(join(tmpdir(), "pvm-ui-"));
    const exe = join(dir, name);
    const cc = Bun.spawnSync(["cc", "-O0", "-o", exe, SOURCE], { stderr: "pipe" });
    if (cc.exitCode !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`cc failed: ${cc.stderr.toString()}`);
    }
    const child = Bun.spawn([exe], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    const out = new Lines(child.stdout);
    return new UiTarget(child, out, dir, name, await out.expect("the UI target"));
  }

  /** Sends a command ("set N", "sub N", "get"); resolves to the health the game reports after it. */
  async cmd(line: string): Promise<number> {
    this.#child.stdin.write(`${line}\n`);
    this.#child.stdin.flush();
    return Number(await this.#out.expect("the UI target"));
  }

  /** Kills the game, waits for it and removes its directory. */
  async close(): Promise<void> {
    this.#child.kill("SIGKILL");
    await this.#child.exited;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/**
 * `pvm demo`: starts the demo game and plays a short trainer session against
 * it, printing each command as if typed: find the health by scanning for the
 * number the game shows, narrow it as it drops, then set and freeze it.
 *
 * @module
 */
import { Process } from "../../process.ts";
import type { Command } from "../command.ts";
import { onExit } from "../exit.ts";
import { Session } from "../session.ts";
import { hex } from "../util.ts";

// In the repository, src/cli/demo-game.ts; in the built package, dist/demo-game.js (scripts/build.ts).
const GAME = new URL(import.meta.url.endsWith(".ts") ? "../demo-game.ts" : "./demo-game.js", import.meta.url).pathname;

/**
 * The game's screen: its stdout, read as it comes. Keeps the health it shows
 * last, and how many times it has shown one, so the demo can look at the
 * screen again after a scan, as a person would.
 */
class Screen {
  #health: number | undefined;
  /** Health lines seen so far. */
  shown = 0;
  #ended = false;
  #waiters: (() => void)[] = [];
  /** The first line (the game's JSON greeting). */
  readonly first: Promise<string>;

  constructor(stream: ReadableStream<Uint8Array>) {
    let resolveFirst!: (line: string) => void;
    this.first = new Promise((resolve) => (resolveFirst = resolve));
    void this.#pump(stream, resolveFirst);
  }

  async #pump(stream: ReadableStream<Uint8Array>, first: (line: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    let greeted = false;
    for await (const chunk of stream) {
      pending += decoder.decode(chunk);
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!greeted) {
          greeted = true;
          first(line);
          continue;
        }
        const m = /^health (\d+)$/.exec(line);
        if (m) {
          this.#health = Number(m[1]);
          this.shown++;
          for (const wake of this.#waiters.splice(0)) wake();
        }
      }
    }
    this.#ended = true;
    if (!greeted) first("{}");
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Waits until the game has shown more than `count` health lines; returns the health it shows now. */
  async after(count: number): Promise<number> {
    while (this.shown <= count || this.#health === undefined) {
      if (this.#ended) throw new Error("the game exited");
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.#health;
  }

  /** The health the game shows now (waiting for its first). */
  now(): Promise<number> {
    return this.after(0);
  }
}

/** The demo did not get to its end: `pvm demo` exits with status 1. */
class DemoError extends Error {
  override name = "DemoError";
}

/** Attempts at one step when the game keeps changing the health while the scan runs. */
const ATTEMPTS = 5;

/** `pvm demo`. */
export const demo: Command = {
  name: "demo",
  usage: "",
  summary: "start a tiny game and find, set and freeze its health, step by step",
  examples: ["pvm demo"],
  async run() {
    const game = Bun.spawn([process.execPath, GAME], { stdout: "pipe", stderr: "inherit" });
    onExit(() => game.kill()); // Ctrl-C ends the game too
    const screen = new Screen(game.stdout);
    try {
      const { pid, player } = JSON.parse(await screen.first) as { pid: number; player: number };
      if (!pid) throw new DemoError("the demo game did not start");
      console.log(`demo game started (pid ${pid}); it prints its health, which drops by 7 every second.\n`);
      const session = new Session(new Process(pid), (line) => console.log(`  ${line}`));
      const type = async (command: string) => {
        console.log(`pvm> ${command}`);
        await session.execute(command, true);
      };
      /**
       * Scans for the health the game shows now, then looks at the screen again: when the game showed a new
       * health while the scan ran, the memory may have been read on either side of the change, so the step
       * is taken back and done again with the new number. A slow machine takes longer, with the same outcome.
       */
      const step = async (why: string, seen: number): Promise<number> => {
        for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
          const health = await screen.after(seen);
          seen = screen.shown;
          console.log(`game: health ${health}    (${attempt === 0 ? why : "it changed during the scan: again, with the new number"})`);
          await type(String(health));
          if (screen.shown === seen) return seen;
          await type(session.scan!.steps > 1 ? "undo" : "reset");
          seen = screen.shown - 1; // take the number shown now, without waiting for the next
        }
        throw new DemoError(`the health changed during each of ${ATTEMPTS} scans in a row; this machine is too busy for the demo`);
      };

      let seen = await step("scan its whole memory for that number", 0);
      for (let n = 0; n < 8 && (session.scan?.count ?? 0) > 1; n++) {
        seen = await step("keep only what now holds the new number", seen);
      }
      const found = session.scan?.addresses()[0];
      if (session.scan?.count !== 1 || found === undefined) {
        throw new DemoError(`the demo could not narrow the scan to one address (${session.scan?.count ?? 0} left); try pvm attach by hand`);
      }
      console.log(`\nfound it: ${hex(found)} (the game keeps its player record at ${hex(player)}).\n`);
      if (found !== player) throw new DemoError(`the address found is not the game's health (${hex(player)})`);
      seen = screen.shown;
      await type("set 5000 0");
      console.log(`game: health ${await screen.after(seen)}    (it took our 5000 and lost 7)`);
      await type("freeze 0 9999");
      for (let i = 0; i < 2; i++) {
        seen = screen.shown;
        console.log(`game: health ${await screen.after(seen)}    (the game subtracts 7; the freeze puts 9999 back within 50 ms)`);
        await Bun.sleep(300);
        await type(`read ${hex(found)} i32`);
      }
      await type("unfreeze");
      seen = screen.shown;
      console.log(`game: health ${await screen.after(seen)}\n`);
      console.log(`Now try it yourself: start the game with "bun ${GAME}" and run "pvm attach ${"<pid>"}" (type help).`);
      session.close();
    } finally {
      game.kill();
    }
  },
};

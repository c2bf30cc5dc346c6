/**
 * `pvm demo`: starts the demo game and plays a short trainer session against
 * it, printing each command as if typed: find the health by scanning for the
 * number the game shows, narrow it as it drops, then set and freeze it.
 *
 * @module
 */
import { Process } from "../../process.ts";
import type { Command } from "../command.ts";
import { Session } from "../session.ts";
import { hex } from "../util.ts";

// In the repository, src/cli/demo-game.ts; in the built package, dist/demo-game.js (scripts/build.ts).
const GAME = new URL(import.meta.url.endsWith(".ts") ? "../demo-game.ts" : "./demo-game.js", import.meta.url).pathname;

/** Reads a child's stdout line by line. */
class Lines {
  readonly #reader: { read(): Promise<{ value?: Uint8Array; done: boolean }> };
  readonly #decoder = new TextDecoder();
  #pending = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** The next line, or null at the end of the stream. */
  async next(): Promise<string | null> {
    for (;;) {
      const nl = this.#pending.indexOf("\n");
      if (nl >= 0) {
        const line = this.#pending.slice(0, nl);
        this.#pending = this.#pending.slice(nl + 1);
        return line;
      }
      const { value, done } = await this.#reader.read();
      if (done || !value) return null;
      this.#pending += this.#decoder.decode(value);
    }
  }

  /** The health in the game's next `health N` line. */
  async health(): Promise<number> {
    for (;;) {
      const line = await this.next();
      if (line === null) throw new Error("the game exited");
      const m = /^health (\d+)$/.exec(line);
      if (m) return Number(m[1]);
    }
  }
}

/** `pvm demo`. */
export const demo: Command = {
  name: "demo",
  usage: "",
  summary: "start a tiny game and find, set and freeze its health, step by step",
  async run() {
    const game = Bun.spawn([process.execPath, GAME], { stdout: "pipe", stderr: "inherit" });
    const lines = new Lines(game.stdout);
    try {
      const { pid, player } = JSON.parse((await lines.next()) ?? "{}") as { pid: number; player: number };
      console.log(`demo game started (pid ${pid}); it prints its health, which drops by 7 every second.\n`);
      const session = new Session(new Process(pid), (line) => console.log(`  ${line}`));
      const type = async (command: string) => {
        console.log(`pvm> ${command}`);
        await session.execute(command, true);
      };

      let health = await lines.health();
      console.log(`game: health ${health}    (scan its whole memory for that number)`);
      await type(String(health));
      for (let step = 0; step < 6 && (session.scan?.count ?? 0) > 1; step++) {
        health = await lines.health();
        console.log(`game: health ${health}    (keep only what now holds the new number)`);
        await type(String(health));
      }
      const found = session.scan?.addresses()[0];
      if (session.scan?.count !== 1 || found === undefined) {
        console.log("the demo could not narrow the scan to one address; try pvm attach by hand");
        return;
      }
      console.log(`\nfound it: ${hex(found)} (the game keeps its player record at ${hex(player)}).\n`);
      await type("set 5000 0");
      console.log(`game: health ${await lines.health()}    (it took our 5000 and lost 7)`);
      await type("freeze 0 9999");
      for (let i = 0; i < 2; i++) {
        console.log(`game: health ${await lines.health()}    (the game subtracts 7; the freeze puts 9999 back within 50 ms)`);
        await Bun.sleep(300);
        await type(`read ${hex(found)} i32`);
      }
      await type("unfreeze");
      console.log(`game: health ${await lines.health()}\n`);
      console.log(`Now try it yourself: start the game with "bun ${GAME}" and run "pvm attach ${"<pid>"}" (type help).`);
      session.close();
    } finally {
      game.kill();
    }
  },
};

/**
 * The first thing to run: starts the demo game (src/cli/demo-game.ts), then
 * reads and writes its memory with process-vm.
 *
 *   npm run example        (or: bun examples/read-target.ts)
 */
import { Process, RemoteReader } from "../src/index.ts";

const game = Bun.spawn([process.execPath, new URL("../src/cli/demo-game.ts", import.meta.url).pathname], { stdout: "pipe" });
const reader = game.stdout.getReader();
const { value } = await reader.read();
const { pid, player } = JSON.parse(new TextDecoder().decode(value).split("\n")[0]!);
console.log(`game started: pid ${pid}, player record at 0x${player.toString(16)}`);

const proc = new Process(pid);
console.log(`name "${proc.readCString(player + 16, 16)}", health ${proc.readI32(player)}, gold ${proc.readI32(player + 4)}`);

// Give the player more gold, and check it landed.
proc.writeI32(player + 4, 9999);
console.log(`gold is now ${proc.readI32(player + 4)}`);

// Watch health and position with one zero-copy reader: one system call per frame, no allocation.
const frame = new RemoteReader(pid, [
  { address: player, length: 4 },
  { address: player + 8, length: 8 },
]);
for (let i = 0; i < 5; i++) {
  frame.read();
  console.log(`frame ${i}: health ${frame.i32(0)}, x ${frame.f32(1, 0).toFixed(1)}, y ${frame.f32(1, 4)}`);
  await Bun.sleep(150);
}

const heap = proc.maps().filter((r) => r.writable).reduce((sum, r) => sum + r.size, 0);
console.log(`the game has ${proc.maps().length} mappings, ${(heap / 2 ** 20).toFixed(0)} MiB writable`);
game.kill();

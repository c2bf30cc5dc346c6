/**
 * The demo target: a tiny "game" that keeps a player record in memory, loses
 * 7 health every second (printing `health N`), and moves the player every
 * 100 ms. Its first line tells where the record lives, so that examples can
 * check what a scan finds.
 *
 *   bun src/cli/demo-game.ts
 *
 * Record layout (little-endian): i32 health @0, i32 gold @4, f32 x @8, f32 y @12, char name[16] @16.
 */
import { addressOf } from "../ffi/libc.ts";

const record = new ArrayBuffer(64);
const view = new DataView(record);
view.setInt32(0, 1000, true);
view.setInt32(4, 250, true);
view.setFloat32(8, 12.5, true);
view.setFloat32(12, -3.25, true);
new Uint8Array(record, 16, 16).set(new TextEncoder().encode("Hero\0"));

console.log(JSON.stringify({ pid: process.pid, player: addressOf(record) }));
console.log(`health ${view.getInt32(0, true)}`);

setInterval(() => {
  view.setFloat32(8, view.getFloat32(8, true) + 0.5, true);
}, 100);

setInterval(() => {
  const health = view.getInt32(0, true);
  view.setInt32(0, health > 7 ? health - 7 : 1000, true);
  console.log(`health ${view.getInt32(0, true)}`);
}, 1000);

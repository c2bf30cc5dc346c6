/**
 * A tiny "game" to practise on: it keeps a player record in memory, loses
 * health every 100 ms, and prints where the record lives.
 *
 *   bun examples/game.ts
 *
 * Record layout (little-endian): i32 health @0, i32 gold @4, f32 x @8, f32 y @12, char name[16] @16.
 */
import { addressOf } from "../src/ffi/libc.ts";

const record = new ArrayBuffer(64);
const view = new DataView(record);
view.setInt32(0, 100, true);
view.setInt32(4, 250, true);
view.setFloat32(8, 12.5, true);
view.setFloat32(12, -3.25, true);
new Uint8Array(record, 16, 16).set(new TextEncoder().encode("Hero\0"));

const address = addressOf(record);
console.log(JSON.stringify({ pid: process.pid, player: address }));

setInterval(() => {
  const health = view.getInt32(0, true);
  view.setInt32(0, health > 1 ? health - 1 : 100, true);
  view.setFloat32(8, view.getFloat32(8, true) + 0.5, true);
}, 100);

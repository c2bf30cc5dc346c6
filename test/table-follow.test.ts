/**
 * A frozen table entry whose pointer chain moves: the freeze follows it to
 * the new address, and while the chain is broken nothing is written (the old
 * address may belong to something else by then).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createTable, Process, TableRuntime } from "../src/index.ts";
import { Target } from "./helpers/target.ts";

const GRAPH = new URL("./fixtures/graph.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface GraphInfo {
  moduleBase: number;
  game: number;
  health: number;
}

let t: Target;
beforeAll(async () => {
  t = await Target.start([], GRAPH);
});
afterAll(async () => {
  await t.exit(); // not kill: the fixture removes its temporary directory on exit
});

test("a freeze follows its chain across a rebuild, and is suspended while the chain is broken", async () => {
  const proc = new Process(t.pid);
  let g = t.info as unknown as GraphInfo;
  const table = createTable([{ kind: "value", id: 1, description: "Health", address: "libgame.so+0x100 -> 0x18 -> 0x20 -> 0x30", type: "i32" }]);
  const errors: string[] = [];
  using runtime = new TableRuntime(proc, table, { intervalMs: 10, onError: (e) => errors.push(e.message) });
  runtime.freeze(1, "4242");
  await sleep(60);
  expect(proc.readI32(g.health)).toBeGreaterThan(4242 - 30);

  // The game rebuilds its objects elsewhere (the old ones are unmapped): the freeze moves with the chain.
  g = (await t.cmd("rebuild")) as unknown as GraphInfo;
  await sleep(100);
  expect(runtime.row(1).active).toBe(true);
  const moved = proc.readI32(g.health);
  expect(moved).toBeLessThanOrEqual(4242);
  expect(moved).toBeGreaterThan(4242 - 30);

  // The static pointer is cleared (the level unloads): the freeze waits, and the value it held is left alone.
  const slot = g.moduleBase + 0x100;
  proc.writePointer(slot, 0);
  await sleep(60);
  const before = proc.readI32(g.health);
  await sleep(150);
  expect(proc.readI32(g.health)).toBeLessThan(before - 2); // the game lowers it (every 10 ms), nobody writes it back
  expect(runtime.refresh()[0]!.error).toContain("freeze suspended: pointer chain libgame.so+0x100 -> 0x18 -> 0x20 -> 0x30: step 0 read a null pointer");
  expect(runtime.row(1).active).toBe(true);

  // The pointer comes back: so does the freeze, at the value it held.
  proc.writePointer(slot, g.game);
  await sleep(100);
  expect(proc.readI32(g.health)).toBeGreaterThan(4242 - 30);
  expect(errors).toEqual([]);
  runtime.unfreeze(1);
  expect(runtime.row(1).active).toBe(false);
});

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Process } from "../src/process.ts";
import { freeze, resetTrainerStats, trainerStats } from "../src/trainer/index.ts";
import { Target } from "./helpers/target.ts";

const GRAPH = new URL("./fixtures/graph.ts", import.meta.url).pathname;
const TRAINER = new URL("../src/trainer/index.ts", import.meta.url).pathname;
const LIBC = new URL("../src/ffi/libc.ts", import.meta.url).pathname;
const PROCESS = new URL("../src/process.ts", import.meta.url).pathname;

let t: Target;
let proc: Process;
let health: number;
const i32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getInt32(0, true);

beforeAll(async () => {
  t = await Target.start([], GRAPH);
  health = (t.info as unknown as { health: number }).health;
  proc = new Process(t.pid);
});
afterAll(() => t.kill());

test("freeze holds a value the target keeps lowering (seen from the target)", async () => {
  await t.cmd("seen");
  const h = freeze(proc, health, "i32", 1000, { intervalMs: 2 });
  await t.cmd("seen"); // drop what the target saw before the first write
  await Bun.sleep(300);
  const { values } = (await t.cmd("seen")) as { values: number[] };
  h.stop();
  expect(values.length).toBeGreaterThan(10);
  const held = values.filter((v) => v === 1000).length;
  expect(held / values.length).toBeGreaterThan(0.8);
  // stopped: the target's damage goes on
  await Bun.sleep(100);
  expect(i32(await t.read(health, 4))).toBeLessThan(995);
});

test("one batched write per tick for many frozen values", async () => {
  const page = await t.cmd("map 4000") as { address: number };
  const handles = Array.from({ length: 500 }, (_, i) => freeze(proc, page.address + i * 8, i % 2 ? "f64" : "u32", i, { intervalMs: 5 }));
  resetTrainerStats();
  await Bun.sleep(100);
  const ticks = trainerStats.freezeTicks;
  const writes = trainerStats.writeCalls;
  const reads = trainerStats.readCalls;
  // one more value at another interval is a second freezer
  for (const h of handles) h.stop();
  expect(ticks).toBeGreaterThan(5);
  expect(writes).toBe(ticks);
  expect(reads).toBe(0);
  const bytes = await t.read(page.address, 500 * 8);
  const view = new DataView(bytes.buffer);
  expect(view.getUint32(6 * 8, true)).toBe(6);
  expect(view.getFloat64(7 * 8, true)).toBe(7);
});

test("allowIncrease keeps a raised value and reverts a lowered one; allowDecrease follows down", async () => {
  const up = freeze(proc, health, "i32", 500, { intervalMs: 2, allowIncrease: true });
  try {
    await Bun.sleep(50);
    expect(up.value).toBe(500); // the damage was reverted
    await t.write(health, new Uint8Array(new Int32Array([800]).buffer));
    await Bun.sleep(50);
    // kept the raise (799 when the target's damage came between its write and the freezer's read)
    expect(up.value).toBeGreaterThanOrEqual(799);
    expect(i32(await t.read(health, 4))).toBeGreaterThanOrEqual(798);
  } finally {
    up.stop();
  }
  const down = freeze(proc, health, "i32", 700, { intervalMs: 2, allowDecrease: true });
  try {
    await Bun.sleep(200);
    expect(down.value).toBeLessThan(695); // followed the damage
    down.set(900);
    expect(down.value).toBe(900);
  } finally {
    down.stop();
  }
  expect(down.active).toBe(false);
  expect(await down.stopped).toBeNull();
});

test("a freeze of an unmapped address throws at once; unmapping later stops it with one report", async () => {
  const info = t.info as unknown as { dangling: number };
  expect(() => freeze(proc, info.dangling, "i32", 1)).toThrow(expect.objectContaining({ code: "EFAULT" }));
  const { address } = (await t.cmd("map 1000")) as { address: number };
  const errors: Error[] = [];
  const h = freeze(proc, address, "i32", 5, { intervalMs: 2, onError: (e) => errors.push(e) });
  using other = freeze(proc, health, "i32", 100, { intervalMs: 2 });
  await t.cmd(`unmap ${address.toString(16)} 1000`);
  await Bun.sleep(50);
  expect(errors.length).toBe(1);
  expect(h.active).toBe(false);
  expect(other.active).toBe(true); // the other value of the same freezer goes on
});

test("target exit stops every freeze of it, reported once each, no unhandled rejection", async () => {
  const t2 = await Target.start([], GRAPH);
  const p2 = new Process(t2.pid);
  const h2 = (t2.info as unknown as { health: number }).health;
  const reports: Error[] = [];
  const a = freeze(p2, h2, "i32", 1, { intervalMs: 2, onError: (e) => reports.push(e) });
  const b = freeze(p2, h2 + 4, "i32", 1, { intervalMs: 2, onError: (e) => reports.push(e) });
  await t2.exit();
  await Bun.sleep(50);
  expect(reports.length).toBe(2);
  expect(reports.every((e) => (e as { code?: string }).code === "ESRCH")).toBe(true);
  expect(a.active || b.active).toBe(false);
  expect(((await a.stopped) as { code?: string }).code).toBe("ESRCH");
  resetTrainerStats();
  await Bun.sleep(30);
  expect(trainerStats.freezeTicks).toBe(0); // the freezer's timer is gone
  a.stop(); // harmless
});

/** Runs a script that freezes a value in its own memory; resolves to whether it exited by itself within `ms`. */
async function exitsBy(body: string, ms: number): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), "pvm-freeze-"));
  const file = join(dir, "script.ts");
  writeFileSync(
    file,
    `import { freeze } from ${JSON.stringify(TRAINER)};
import { addressOf } from ${JSON.stringify(LIBC)};
import { Process } from ${JSON.stringify(PROCESS)};
const cell = new Int32Array(new ArrayBuffer(8));
const address = addressOf(cell.buffer);
const me = Process.self();
(globalThis as any).keep = cell; // the freezer writes into it: keep it alive
${body}
`,
  );
  const child = Bun.spawn([process.execPath, file], { stdout: "inherit", stderr: "inherit" });
  const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(ms).then(() => false)]);
  if (!exited) child.kill("SIGKILL");
  await child.exited;
  rmSync(dir, { recursive: true, force: true });
  return exited;
}

test("stop() leaves no timer; a freeze alone keeps Bun alive unless keepAlive is false", async () => {
  const [stopped, running, unref] = await Promise.all([
    exitsBy(`const h = freeze(me, address, "i32", 7, { intervalMs: 5 });
setTimeout(() => { if (cell[0] !== 7) process.exit(3); h.stop(); }, 50);`, 3000),
    exitsBy(`freeze(me, address, "i32", 7, { intervalMs: 5 });`, 1500),
    exitsBy(`freeze(me, address, "i32", 7, { intervalMs: 5, keepAlive: false });`, 3000),
  ]);
  expect(stopped).toBe(true);
  expect(running).toBe(false);
  expect(unref).toBe(true);
});

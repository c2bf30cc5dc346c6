import { afterAll, beforeAll, expect, test } from "bun:test";
import { Process } from "../src/process.ts";
import { freeze, PointerChain, PointerChainError, resetTrainerStats, trainerStats, watch, type WatchChange } from "../src/trainer/index.ts";
import { Target } from "./helpers/target.ts";

let t: Target;
let proc: Process;
let page: number;

beforeAll(async () => {
  t = await Target.start();
  proc = new Process(t.pid);
  page = t.info.page;
});
afterAll(() => t.kill());

const i32 = (n: number) => new Uint8Array(new Int32Array([n]).buffer);
const ptr = (a: number) => new Uint8Array(new BigUint64Array([BigInt(a)]).buffer);
const readI32 = async (a: number) => new DataView((await t.read(a, 4)).buffer).getInt32(0, true);

/** The game allocates a new object holding `value` at +0x18, points the slot at it and frees the old one. */
async function replace(slot: number, old: number | null, value: number): Promise<number> {
  const object = await t.map(page);
  await t.write(object + 0x18, i32(value));
  await t.write(slot, ptr(object));
  if (old !== null) await t.unmap(old, page);
  return object;
}

/** Waits until `check` holds, polling every 5 ms, for at most `ms` (default 2 s). */
async function until(check: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await check()) return;
    await Bun.sleep(5);
  }
  throw new Error("timed out");
}

test("a chain watched and frozen while the game replaces the object: the new object's value is reported and held", async () => {
  const slot = await t.map(page);
  let a = await replace(slot, null, 100);
  const chain = `0x${slot.toString(16)} -> 0x18`;
  const changes: WatchChange[] = [];
  const w = watch(proc, [{ address: chain, type: "i32" }], { intervalMs: 5, onChange: (c) => changes.push(c) });
  expect(w.value(0)).toBe(100);
  expect(w.address(0)).toBe(a + 0x18);

  // the game replaces the object: the watch follows it
  const b = await replace(slot, a, 7);
  await until(() => changes.length >= 1);
  expect(changes[0]).toEqual({ index: 0, address: b + 0x18, old: 100, new: 7, error: null });

  // frozen through the chain: held in the new object, against the game's writes
  const moves: [number | null, Error | null][] = [];
  const f = freeze(proc, chain, "i32", 555, { intervalMs: 5, onChainChange: (address, error) => moves.push([address, error]) });
  expect(f.chain).toBe(chain);
  expect(f.address).toBe(b + 0x18);
  expect(await readI32(b + 0x18)).toBe(555);
  await until(() => changes.some((c) => c.new === 555));

  // replaced again: the freeze moves with it and holds the value there
  a = await replace(slot, b, 1);
  await until(async () => (await readI32(a + 0x18)) === 555);
  expect(f.address).toBe(a + 0x18);
  expect(moves).toContainEqual([a + 0x18, null]);
  await t.write(a + 0x18, i32(3));
  await Bun.sleep(30);
  expect(await readI32(a + 0x18)).toBe(555);
  expect(f.active).toBe(true);
  expect(f.broken).toBeNull();

  f.stop();
  w.stop();
  await t.unmap(a, page);
  await t.unmap(slot, page);
});

test("a broken link is reported by watch and freeze, and both pick up again when it resolves", async () => {
  const slot = await t.map(page);
  const a = await replace(slot, null, 40);
  const chain = new PointerChain(proc, `0x${slot.toString(16)} -> 0x18`);
  const changes: WatchChange[] = [];
  const w = watch(proc, [chain, { address: t.info.data + 0x800, type: "i32" }], { intervalMs: 5, onChange: (c) => changes.push(c) });
  const moves: [number | null, Error | null][] = [];
  const f = freeze(proc, chain, "i32", 41, { intervalMs: 5, onChainChange: (address, error) => moves.push([address, error]) });
  await until(() => changes.some((c) => c.new === 41));

  // the game clears the pointer (the object is being rebuilt)
  await t.write(slot, ptr(0));
  await t.unmap(a, page);
  await until(() => changes.some((c) => c.new === null));
  const broke = changes.find((c) => c.new === null)!;
  expect(broke.old).toBe(41);
  expect(broke.error).toBeInstanceOf(PointerChainError);
  expect(broke.error!.reason).toBe("null");
  expect(broke.error!.address).toBe(slot);
  expect(w.error(0)?.reason).toBe("null");
  await until(() => f.broken !== null);
  expect(f.active).toBe(true); // waiting, not stopped
  expect((f.broken as PointerChainError).reason).toBe("null");
  await until(() => moves.some(([address]) => address === null));

  // the new object appears: both pick it up
  const b = await replace(slot, null, 5);
  await until(async () => (await readI32(b + 0x18)) === 41);
  await until(() => changes.some((c) => c.index === 0 && c.old === null));
  const back = changes.filter((c) => c.index === 0 && c.old === null);
  expect(back.length).toBeGreaterThanOrEqual(1);
  expect(back[0]!.address).toBe(b + 0x18);
  expect(back[0]!.error).toBeNull();
  expect(f.broken).toBeNull();
  expect(moves.at(-1)).toEqual([b + 0x18, null]);
  // the plain target beside the chain was never disturbed
  expect(changes.filter((c) => c.index === 1)).toEqual([]);

  f.stop();
  w.stop();
  await t.unmap(b, page);
  await t.unmap(slot, page);
});

test("a chain that does not resolve yet: freeze waits instead of throwing; watch starts from null", async () => {
  const f = freeze(proc, "libnothere.so+0x10 -> 0x8", "i32", 1, { intervalMs: 5 });
  expect(f.active).toBe(true);
  expect(f.address).toBe(0);
  expect((f.broken as PointerChainError).reason).toBe("module");
  const w = watch(proc, ["libnothere.so+0x10 -> 0x8"], { intervalMs: 5 });
  expect(w.value(0)).toBeNull();
  expect(w.error(0)?.reason).toBe("module");
  await Bun.sleep(20);
  expect(f.active).toBe(true);
  f.stop();
  w.stop();
});

test("chains re-resolve in one batched read per level per tick, beside plain addresses", async () => {
  const slot = await t.map(page);
  const a = await replace(slot, null, 0);
  const chains = Array.from({ length: 50 }, (_, i) => ({ base: slot, offsets: [0x20 + i * 4] }));
  resetTrainerStats();
  const handles = chains.map((c, i) => freeze(proc, c, "i32", i, { intervalMs: 20, keepAlive: false }));
  const plain = freeze(proc, t.info.data + 0x900, "i32", 9, { intervalMs: 20, keepAlive: false });
  const reads = trainerStats.readCalls;
  const writes = trainerStats.writeCalls;
  const ticks = trainerStats.freezeTicks;
  await Bun.sleep(110);
  const ranTicks = trainerStats.freezeTicks - ticks;
  expect(ranTicks).toBeGreaterThan(1);
  expect(trainerStats.readCalls - reads).toBe(ranTicks); // depth 1: one read per tick for 50 chains
  expect(trainerStats.writeCalls - writes).toBe(ranTicks); // and one write for all 51 values
  const values = new Int32Array((await t.read(a + 0x20, 200)).buffer);
  expect(Array.from(values)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  for (const h of handles) h.stop();
  plain.stop();
  await t.unmap(a, page);
  await t.unmap(slot, page);
});

test("Process reads and writes follow a chain at every call", async () => {
  const slot = await t.map(page);
  const a = await replace(slot, null, 11);
  const text = `0x${slot.toString(16)} -> 0x18`;
  expect(proc.readI32(text)).toBe(11);
  proc.writeI32(text, 12);
  expect(await readI32(a + 0x18)).toBe(12);
  const b = await replace(slot, a, 13);
  expect(proc.readI32(text)).toBe(13); // the same text, followed again
  const chain = new PointerChain(proc, text);
  expect(proc.readU32(chain)).toBe(13);
  expect(proc.readI32({ base: slot, offsets: [0x18] })).toBe(13);
  proc.write(chain, new Uint8Array([1, 0, 0, 0]));
  expect(proc.read(text, 4)).toEqual(new Uint8Array([1, 0, 0, 0]));
  expect(await readI32(b + 0x18)).toBe(1);
  await t.write(slot, ptr(0));
  expect(() => proc.readI32(text)).toThrow(PointerChainError);
  expect(() => proc.writeI32(chain, 1)).toThrow(/null pointer/);
  await t.unmap(b, page);
  await t.unmap(slot, page);
});

test("pvm watch and pvm freeze follow a chain live", async () => {
  const main = new URL("../src/cli/main.ts", import.meta.url).pathname;
  const slot = await t.map(page);
  const a = await replace(slot, null, 20);
  const chain = `0x${slot.toString(16)} -> 0x18`;
  const children: Bun.Subprocess[] = [];
  const start = (...args: string[]) => {
    const child = Bun.spawn([process.execPath, main, ...args], { stdout: "pipe", stderr: "pipe" });
    children.push(child);
    const out = { text: "", child };
    void (async () => {
      for await (const chunk of child.stdout) out.text += new TextDecoder().decode(chunk);
    })();
    return out;
  };
  try {
    const w = start("watch", String(t.pid), chain, "--interval", "10");
    let n = 20;
    await until(async () => {
      await t.write(a + 0x18, i32(++n)); // until the watcher, once started, reports one
      return w.text.includes(" -> ");
    }, 20_000);
    const f = start("freeze", String(t.pid), chain, "i32", "77", "--interval", "10");
    await until(async () => (await readI32(a + 0x18)) === 77 && w.text.includes("-> 77"), 20_000);
    await t.write(slot, ptr(0)); // the link breaks
    await until(() => w.text.includes("-> null") && f.text.includes("waiting: "));
    const b = await replace(slot, a, 30); // and resolves again, to a new object
    await until(async () => (await readI32(b + 0x18)) === 77 && w.text.includes(`0x${(b + 0x18).toString(16)}  null -> `));
    f.child.kill("SIGINT");
    w.child.kill("SIGINT");
    // Ctrl-C releases and exits with 130 (the status of an interrupted command line).
    await Promise.all([f.child.exited, w.child.exited]);
    expect([f.child.exitCode, w.child.exitCode]).toEqual([130, 130]);
    expect(w.text).toMatch(/-> null {2}\(pointer chain .* null pointer/);
    expect(f.text).toContain(`holding i32 77 at ${chain} (0x${(a + 0x18).toString(16)})`);
    expect(f.text).toMatch(/waiting: pointer chain .* null pointer/);
    expect(f.text).toContain(`holding at 0x${(b + 0x18).toString(16)}`);
    expect(f.text).toContain(`released 0x${(b + 0x18).toString(16)}`);
    // Each watch line of a chain names the chain before the address it leads to now.
    expect(w.text).toContain(`${chain}  0x${(b + 0x18).toString(16)}  null -> `);
    await t.unmap(b, page);
    await t.unmap(slot, page);
  } finally {
    for (const child of children) child.kill();
  }
});

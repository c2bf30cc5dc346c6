/**
 * The live-value path of the UI: every visible value is read by one
 * RemoteReader, once per tick, and only changes are sent.
 */
import { expect, test } from "bun:test";
import { addressOf } from "../src/ffi/libc.ts";
import { LiveValues, UiState, type LiveMessage, type LiveSlot } from "../src/ui/index.ts";

/** 1,000 i32 values scattered over separate allocations of this process. */
function scattered(n: number): { arrays: Int32Array[]; addresses: number[] } {
  const arrays: Int32Array[] = [];
  const addresses: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = new Int32Array(new ArrayBuffer(i % 3 === 0 ? 4096 : 64));
    a[0] = i;
    arrays.push(a);
    addresses.push(addressOf(a.buffer));
  }
  return { arrays, addresses };
}

test("1,000 watched values at 20 Hz: one batched read per tick, and only the changes are sent", async () => {
  const { arrays, addresses } = scattered(1000);
  const messages: LiveMessage[] = [];
  const live = new LiveValues((m) => messages.push(m), { intervalMs: 50 });
  live.setProcess(process.pid);
  live.set("list", addresses.map((address, i): LiveSlot => ({ key: `l${i}`, address, length: 4, format: "i32" })));
  live.start();
  try {
    await Bun.sleep(1000);
    const { ticks, reads, rebuilds, ranges } = live.stats;
    expect(ranges).toBe(1000);
    expect(rebuilds).toBe(1);
    expect(ticks).toBeGreaterThanOrEqual(5); // 20 a second, less what a busy shared machine's timer loses
    expect(ticks).toBeLessThanOrEqual(21);
    expect(reads).toBe(ticks);
    // The first tick sent every value, the quiet ones nothing.
    expect(messages.length).toBe(1);
    expect(Object.keys(messages[0]!.values).length).toBe(1000);
    expect(messages[0]!.values.l999).toBe("999");

    arrays[7]![0] = -7;
    arrays[500]![0] = 123456;
    arrays[999]![0] = 2 ** 31 - 1;
    const before = live.stats.reads;
    await Bun.sleep(120);
    expect(live.stats.reads - before).toBeGreaterThanOrEqual(1);
    expect(messages.length).toBe(2);
    expect(messages[1]!.values).toEqual({ l7: "-7", l500: "123456", l999: "2147483647" });
  } finally {
    live.stop();
  }
});

test("the list, a scan window and the memory view share the one reader", async () => {
  const { arrays, addresses } = scattered(1000);
  const pushed: { t: string; values?: Record<string, string | null> }[] = [];
  const state = new UiState((m) => pushed.push(m as never), { intervalMs: 50 });
  try {
    await state.request("attach", { pid: process.pid });
    await state.request("list.load", {
      list: { format: "process-vm-list", version: 1, entries: addresses.map((a, i) => ({ description: `v${i}`, address: `0x${a.toString(16)}`, type: "i32" })) },
    });
    const region = new Int32Array(new ArrayBuffer(4096)).fill(0x3c3c3c3);
    const at = addressOf(region.buffer);
    const scanned = (await state.request("scan.first", { type: "i32", query: String(0x3c3c3c3), memory: { within: [at, at + 4096], permissions: "rw" } })) as { count: number };
    expect(scanned.count).toBe(1024);
    await state.request("scan.window", { start: 0, size: 100 });
    await state.request("mem.view", { address: `0x${at.toString(16)}`, rows: 16 });
    const start = { ...state.live.stats };
    await Bun.sleep(600);
    const ticks = state.live.stats.ticks - start.ticks;
    expect(state.live.stats.ranges).toBe(1000 + 100 + 16);
    expect(ticks).toBeGreaterThanOrEqual(6);
    expect(state.live.stats.reads - start.reads).toBe(ticks);
    expect(state.live.stats.rebuilds - start.rebuilds).toBeLessThanOrEqual(1);

    // A change in the target reaches the list, the window and the memory view in the same message.
    pushed.length = 0;
    arrays[3]![0] = 33;
    region[0] = 0x1020304;
    await Bun.sleep(150);
    const values = Object.assign({}, ...pushed.filter((m) => m.t === "live").map((m) => m.values));
    const ids = state.list.entries.map((e) => e.id);
    expect(values[`l${ids[3]}`]).toBe("33");
    expect(values.s0).toBe(String(0x1020304));
    expect(values.m0).toBe(`04030201${"c3c3c303".repeat(3)}`);
    expect(Object.keys(values).length).toBe(3);
  } finally {
    state.close();
  }
});

test("millions of matches stay on the server: the page gets a window of them", async () => {
  const live: Record<string, string | null> = {};
  const state = new UiState((m) => m.t === "live" && Object.assign(live, (m as { values: object }).values), { intervalMs: 50 });
  try {
    await state.request("attach", { pid: process.pid });
    const block = new Int32Array(new ArrayBuffer(16 << 20)).fill(77);
    const at = addressOf(block.buffer);
    const scanned = (await state.request("scan.first", { type: "i32", query: "77", memory: { within: [at, at + (16 << 20)], permissions: "rw" } })) as { count: number };
    expect(scanned.count).toBe(4 << 20);
    const started = performance.now();
    const deep = (await state.request("scan.window", { start: 3_000_000, size: 100 })) as { count: number; rows: { i: number; address: string }[] };
    const ms = performance.now() - started;
    expect(deep.count).toBe(4 << 20);
    expect(deep.rows.length).toBe(100);
    expect(deep.rows[0]).toMatchObject({ i: 3_000_000, address: `0x${(at + 4 * 3_000_000).toString(16)}` });
    expect(ms).toBeLessThan(1000);
    expect(JSON.stringify(deep).length).toBeLessThan(20_000);
    // The window's values are read live, with the rest of what is visible.
    block[3_000_005] = -1;
    const before = state.live.stats.reads;
    await Bun.sleep(150);
    expect(state.live.stats.reads).toBeGreaterThan(before);
    expect(state.live.stats.ranges).toBe(100);
    expect(live.s3000005).toBe("-1");
    expect(live.s3000004).toBe("77");
    const first = (await state.request("scan.window", { start: 0, size: 3 })) as { rows: { value: string; previous: string | null }[] };
    expect(first.rows.map((r) => r.value)).toEqual(["77", "77", "77"]);
  } finally {
    state.close();
  }
});

test("a scan step aborted from the page rejects, and the scan keeps its previous step", async () => {
  const pushed: { t: string; what?: string; finished?: boolean }[] = [];
  const state = new UiState((m) => pushed.push(m as never));
  try {
    await state.request("attach", { pid: process.pid });
    const block = new Int32Array(new ArrayBuffer(64 << 20)).fill(5);
    const at = addressOf(block.buffer);
    const memory = { within: [at, at + (64 << 20)], permissions: "rw" };
    const first = state.request("scan.first", { type: "i32", query: "unknown", memory });
    expect(await state.request("scan.abort", {})).toEqual({ aborted: true });
    let error: Error | null = null;
    try {
      await first;
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toBe("aborted");
    await expect(state.request("scan.window", { start: 0, size: 10 })).resolves.toMatchObject({ count: 0 });
    // A finished first step, then an aborted next one: the first step's matches stay.
    const done = (await state.request("scan.first", { type: "i32", query: "5", memory: { ...memory, within: [at, at + 4096] } })) as { count: number };
    expect(done.count).toBe(1024);
    const next = state.request("scan.next", { query: "unchanged" });
    await state.request("scan.abort", {});
    try {
      await next;
    } catch {
      // aborted, or finished first: either way the count below holds
    }
    expect(((await state.request("scan.window", { start: 0, size: 1 })) as { count: number }).count).toBe(1024);
    // The page was told when each step started and ended.
    expect(pushed.filter((m) => m.t === "progress" && m.what === "scan" && m.finished).length).toBe(3);
    expect(block[0]).toBe(5); // keeps the scanned buffer alive (and unmoved) to the end
  } finally {
    state.close();
  }
});

test("a value at an address no read can reach shows as unreadable, and the others stay live", () => {
  const { arrays, addresses } = scattered(3);
  const messages: LiveMessage[] = [];
  const live = new LiveValues((m) => messages.push(m));
  live.setProcess(process.pid);
  live.set("list", [
    ...addresses.map((address, i): LiveSlot => ({ key: `l${i}`, address, length: 4, format: "i32" })),
    { key: "far", address: Number.MAX_SAFE_INTEGER - 2, length: 4, format: "i32" },
    { key: "unmapped", address: 0x1000, length: 4, format: "i32" },
  ]);
  live.tick();
  const values = Object.assign({}, ...messages.map((m) => m.values));
  expect(values).toEqual({ far: null, unmapped: null, l0: "0", l1: "1", l2: "2" });
  expect(live.stats.ranges).toBe(4);
  arrays[1]![0] = 11;
  live.tick();
  expect(messages.at(-1)!.values).toEqual({ l1: "11" });
});

test("either-sign scan types: a window row shows the reading that matched, live", async () => {
  const live: Record<string, string | null> = {};
  const state = new UiState((m) => m.t === "live" && Object.assign(live, (m as { values: object }).values), { intervalMs: 50 });
  try {
    await state.request("attach", { pid: process.pid });
    const block = new Uint16Array(new ArrayBuffer(4096));
    block[5] = 65535; // -1 as an i16
    const at = addressOf(block.buffer);
    const found = (await state.request("scan.first", { type: "int16", query: "-1", memory: { within: [at, at + 4096], permissions: "rw" } })) as { count: number };
    expect(found.count).toBe(1);
    const window = (await state.request("scan.window", { start: 0, size: 10 })) as { rows: { address: string; type: string; value: string }[] };
    expect(window.rows).toEqual([expect.objectContaining({ address: `0x${(at + 10).toString(16)}`, type: "i16", value: "-1" })]);
    block[5] = 65534;
    await Bun.sleep(150);
    expect(live.s0).toBe("-2");
    expect(block[5]).toBe(65534);
  } finally {
    state.close();
  }
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Process } from "../src/process.ts";
import { nop, patch, resetTrainerStats, trainerStats, watch, type WatchChange } from "../src/trainer/index.ts";
import { Target } from "./helpers/target.ts";

const GRAPH = new URL("./fixtures/graph.ts", import.meta.url).pathname;

let g: Target;
let gp: Process;
let health: number;
let t: Target;
let proc: Process;

beforeAll(async () => {
  [g, t] = await Promise.all([Target.start([], GRAPH), Target.start()]);
  gp = new Process(g.pid);
  health = (g.info as unknown as { health: number }).health;
  proc = new Process(t.pid);
});
afterAll(() => {
  g.kill();
  t.kill();
});

describe("watch", () => {
  test("the iterator reports the target's changes with old and new values", async () => {
    const w = watch(gp, [health], { intervalMs: 5 });
    const changes: WatchChange[] = [];
    for await (const c of w) {
      changes.push(c);
      if (changes.length === 3) break; // ends the watch
    }
    expect(w.active).toBe(false);
    for (const c of changes) {
      expect(c.address).toBe(health);
      expect(c.index).toBe(0);
      // The target loses 1 every 10 ms; a poll delayed on a busy machine sees a larger drop, never a rise.
      expect(c.new as number).toBeLessThan(c.old as number);
    }
    expect(changes[1]!.old).toBe(changes[0]!.new);
  });

  test("callback, typed targets and ranges, batched in one read per poll", async () => {
    const { data } = t.info;
    const got: WatchChange[] = [];
    resetTrainerStats();
    const started = performance.now();
    const w = watch(proc, [{ address: data, type: "u32" }, { address: data + 16, length: 4 }, { address: data + 64, type: "f64" }], {
      intervalMs: 5,
      onChange: (c) => got.push(c),
    });
    await t.write(data + 16, new Uint8Array([9, 9, 9, 9]));
    await t.write(data + 64, new Uint8Array(new Float64Array([2.5]).buffer));
    // Until both writes were seen and a few polls ran (40 ms on a quiet machine; longer when it is busy).
    for (const until = performance.now() + 10_000; performance.now() < until; ) {
      await Bun.sleep(10);
      if (got.length >= 2 && trainerStats.readCalls > 2) break;
    }
    w.stop();
    const polls = trainerStats.readCalls;
    expect(polls).toBeGreaterThan(2);
    // one read per poll for the three targets (the first is the baseline at watch())
    expect(polls).toBeLessThanOrEqual(Math.floor((performance.now() - started) / 5) + 1);
    const byIndex = new Map(got.map((c) => [c.index, c]));
    expect(byIndex.has(0)).toBe(false); // unchanged
    expect(byIndex.get(1)!.old).toEqual(new Uint8Array([16, 17, 18, 19]));
    expect(byIndex.get(1)!.new).toEqual(new Uint8Array([9, 9, 9, 9]));
    expect(byIndex.get(2)!.new).toBe(2.5);
    await Bun.sleep(20);
    expect(trainerStats.readCalls).toBe(polls); // stopped: no more polls
  });

  test("a range that becomes unreadable reports null; the others go on", async () => {
    const page = await t.map(t.info.page);
    const got: WatchChange[] = [];
    const w = watch(proc, [{ address: page, type: "i32" }, { address: t.info.data + 128, type: "i32" }], { intervalMs: 5, onChange: (c) => got.push(c) });
    await t.protect(page, t.info.page, 0);
    await t.write(t.info.data + 128, new Uint8Array([1, 0, 0, 0]));
    await Bun.sleep(40);
    w.stop();
    expect(got.find((c) => c.index === 0)).toEqual({ index: 0, address: page, old: 0, new: null, error: null });
    expect(got.find((c) => c.index === 1)?.new).toBe(1);
  });

  test("target exit: onError once and the iterator throws ESRCH", async () => {
    const t2 = await Target.start();
    const w = watch(new Process(t2.pid), [t2.info.data], { intervalMs: 5, onError: (e) => errors.push(e) });
    const errors: Error[] = [];
    await t2.exit();
    let thrown: unknown;
    try {
      for await (const _ of w) {
        // nothing changes
      }
    } catch (e) {
      thrown = e;
    }
    expect((thrown as { code?: string }).code).toBe("ESRCH");
    expect(errors.length).toBe(1);
    expect(w.active).toBe(false);
  });

  test("an abort signal stops it", async () => {
    const ac = new AbortController();
    const w = watch(gp, [health], { intervalMs: 5, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    let n = 0;
    for await (const _ of w) n++;
    expect(w.active).toBe(false);
    expect(n).toBeLessThan(10);
  });
});

describe("patch", () => {
  test("patch and restore round-trip on a read-only page", async () => {
    const { ro } = t.info;
    const p = patch(proc, ro + 2, [0x90, 0x90, 0xcc]);
    expect(p.original).toEqual(new TextEncoder().encode("ad-"));
    expect(Buffer.from(await t.read(ro, 10)).toString("latin1")).toBe("re\x90\x90\xcconly!");
    expect(p.active).toBe(true);
    expect(p.restore()).toBe(true);
    expect(Buffer.from(await t.read(ro, 10)).toString()).toBe("read-only!");
    expect(p.restore()).toBe(false); // twice: harmless
    expect(Buffer.from(await t.read(ro, 10)).toString()).toBe("read-only!");
  });

  test("nop: x86-64 0x90, aarch64 d503201f; using restores", async () => {
    const { ro } = t.info;
    {
      using p = nop(proc, ro, 3, { arch: "x64" });
      expect(await t.read(ro, 4)).toEqual(new Uint8Array([0x90, 0x90, 0x90, 0x64]));
      expect(p.bytes.length).toBe(3);
    }
    expect(Buffer.from(await t.read(ro, 4)).toString()).toBe("read");
    const a = nop(proc, ro, 8, { arch: "arm64" });
    expect(await t.read(ro, 8)).toEqual(new Uint8Array([0x1f, 0x20, 0x03, 0xd5, 0x1f, 0x20, 0x03, 0xd5]));
    a.restore();
    expect(() => nop(proc, ro, 6, { arch: "arm64" })).toThrow(RangeError);
  });

  test("restore after the target exited is harmless", async () => {
    const t2 = await Target.start();
    const p = patch(new Process(t2.pid), t2.info.ro, new Uint8Array([1, 2]));
    await t2.exit();
    expect(p.restore()).toBe(false);
    expect(p.restore()).toBe(false);
  });

  test("an unmapped address throws and patches nothing", () => {
    expect(() => patch(proc, t.info.guard + t.info.page, [1])).toThrow(expect.objectContaining({ code: "EFAULT" }));
  });
});

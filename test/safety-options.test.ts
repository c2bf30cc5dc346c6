/**
 * Options are checked before anything is armed, and every scenario ends with
 * nothing left running: each runs in its own Bun process, which must exit by
 * itself.
 */
import { describe, expect, test } from "bun:test";
import { freeze, Process, watch } from "../src/index.ts";
import { addressOf } from "../src/ffi/libc.ts";
import { SCENARIOS } from "./fixtures/scenarios.ts";
import { runChild } from "./helpers/exits.ts";

const SCRIPT = new URL("./fixtures/scenarios.ts", import.meta.url).pathname;
const LIMIT_MS = 20_000;

describe("every scenario exits by itself (no timer, Worker or handle left)", () => {
  test("all scenarios, each in its own process", async () => {
    const names = Object.keys(SCENARIOS);
    const results: Record<string, unknown> = {};
    // Two at a time: the machine has few cores, and each child is a whole Bun.
    for (let i = 0; i < names.length; i += 2) {
      const batch = names.slice(i, i + 2);
      const runs = await Promise.all(batch.map((name) => runChild([SCRIPT, name], LIMIT_MS)));
      batch.forEach((name, k) => {
        const run = runs[k]!;
        expect({ name, exitedInTime: run.exitedInTime, code: run.code, stderr: run.stderr }).toEqual({ name, exitedInTime: true, code: 0, stderr: "" });
        results[name] = JSON.parse(run.stdout.trim());
      });
    }
    const r = results as Record<string, Record<string, unknown>>;
    expect(r["watch-controller-as-signal"]).toEqual({ error: "TypeError", message: "options.signal must be an AbortSignal (got an AbortController: pass its .signal)" });
    expect(r["watch-bad-callback"]).toEqual({ error: "TypeError", message: "options.onChange must be a function (got 5)" });
    expect(r["watch-interval-2^31"]!.error).toBe("RangeError");
    expect((r["watch-throwing-getters"]!.results as unknown[]).length).toBe(6);
    for (const one of r["watch-throwing-getters"]!.results as { message: string }[]) expect(one.message).toMatch(/^getter \w+ throws$/);
    // A freeze whose options throw wrote nothing.
    expect(r["freeze-throwing-getters"]!.value).toBe(7);
    expect((r["freeze-throwing-getters"]!.results as { message: string }[]).map((x) => x.message)).toEqual([
      "getter intervalMs throws",
      "getter allowIncrease throws",
      "getter onError throws",
      "getter keepAlive throws",
    ]);
    expect(r["freeze-interval-2^31"]).toMatchObject({ error: "RangeError", value: 7 });
    expect(r["freeze-bad-address"]).toMatchObject({ error: "ProcessVmError", value: 7 });
    expect(r["watch-stop"]).toEqual({ value: 8, active: false });
    expect(r["watch-abort"]!.active).toBe(false);
    expect(r["watch-aborted-before"]).toEqual({ active: false });
    expect(r["watch-iterator-break"]).toEqual({ active: false });
    expect(r["freeze-stop"]).toEqual({ value: 1234, active: false });
    expect(r["freeze-target-exits"]).toEqual({ errors: ["ESRCH"], active: false });
    expect(r["pattern-scan-workers"]).toEqual({ found: [5 << 20], alive: 0xde });
    expect(r["1000-freezes-stopped"]).toEqual({ held: 999, active: 0 });
    expect(r["200-watchers-stopped"]).toEqual({ active: 0 });
    expect(r["100-aborted-scans"]).toEqual({ aborted: true, alive: 4 << 20 });
    expect(r["pattern-scan-aborted"]).toEqual({ aborted: "AbortError", alive: 8 << 20 });
  }, 120_000);
});

describe("options are refused with errors that name them", () => {
  const me = Process.self();
  const cell = new Int32Array(new ArrayBuffer(8));
  const at = addressOf(cell.buffer);

  test("intervals of 2^31 ms or more are RangeErrors, for freeze and watch", () => {
    for (const intervalMs of [2 ** 31, 99999999999, Infinity, 0, -1, NaN]) {
      expect(() => freeze(me, at, "i32", 1, { intervalMs })).toThrow(RangeError);
      expect(() => watch(me, [at], { intervalMs })).toThrow(RangeError);
    }
    expect(() => watch(me, [at], { intervalMs: "5" as never })).toThrow(new TypeError('options.intervalMs must be a number of milliseconds (got "5")'));
    expect(cell[0]).toBe(0);
    // The largest interval a timer takes is accepted.
    const w = watch(me, [at], { intervalMs: 2 ** 31 - 1 });
    w.stop();
  });

  test("options that are not objects, and wrong option types", () => {
    expect(() => watch(me, [at], 5 as never)).toThrow(new TypeError("options must be an object (got 5)"));
    expect(() => freeze(me, at, "i32", 1, "fast" as never)).toThrow(new TypeError('options must be an object (got "fast")'));
    expect(() => watch(me, [at], { keepAlive: 1 as never })).toThrow(new TypeError("options.keepAlive must be a boolean (got 1)"));
    expect(() => watch(me, [at], { maxQueue: -1 })).toThrow(new RangeError("options.maxQueue must be a non-negative integer (got -1)"));
    expect(() => watch(me, [at], { type: "i33" as never })).toThrow(new TypeError('options.type: unknown type "i33"'));
    expect(() => freeze(me, at, "i32", 1, { onError: Symbol("e") as never })).toThrow(new TypeError("options.onError must be a function (got Symbol(e))"));
    expect(() => freeze(me, at, "i32", 1, { allowIncrease: "yes" as never })).toThrow(TypeError);
    // null options are none.
    const w = watch(me, [at], null as never);
    w.stop();
    const h = freeze(me, at, "i32", 3, null as never);
    h.stop();
    expect(cell[0]).toBe(3);
  });
});

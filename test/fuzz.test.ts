/**
 * The seeded fuzz of the public API (test/fixtures/fuzz.ts), each seed in its
 * own Bun process: a crash shows as a signal or a non-zero exit, a leaked
 * timer or Worker as a process that does not exit by itself.
 *
 * More calls or other seeds from the command line:
 *   FUZZ_SEED=42 FUZZ_CALLS=200000 bun test test/fuzz.test.ts
 * or straight: FUZZ_SEED=42 FUZZ_CALLS=200000 bun test/fixtures/fuzz.ts
 */
import { expect, test } from "bun:test";
import { runChild } from "./helpers/exits.ts";

const SCRIPT = new URL("./fixtures/fuzz.ts", import.meta.url).pathname;
const SEEDS = process.env.FUZZ_SEED ? [Number(process.env.FUZZ_SEED)] : [1, 2, 3];
const CALLS = Number(process.env.FUZZ_CALLS ?? 30_000);

test(`fuzz: ${SEEDS.length} seed(s) x ${CALLS} calls, no crash, no non-Error, no engine message, nothing left running`, async () => {
  // Each child must end well within this; scale with the number of calls.
  const limitMs = 30_000 + CALLS * 2;
  const runs = await Promise.all(SEEDS.map((seed) => runChild([SCRIPT], limitMs, { FUZZ_SEED: String(seed), FUZZ_CALLS: String(CALLS) })));
  let total = 0;
  runs.forEach((run, k) => {
    const seed = SEEDS[k]!;
    const replay = `FUZZ_SEED=${seed} FUZZ_CALLS=${CALLS} bun test/fixtures/fuzz.ts`;
    expect({ seed, replay, exitedInTime: run.exitedInTime, code: run.code }).toEqual({ seed, replay, exitedInTime: true, code: 0 });
    const report = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    expect({ seed, replay, failures: report.failures, uncaught: report.uncaught }).toEqual({ seed, replay, failures: [], uncaught: 0 });
    expect(report.calls).toBe(CALLS);
    // The calls did reach the library both ways: some succeeded, some were refused.
    expect(report.outcomes.ok).toBeGreaterThan(CALLS / 10);
    expect(report.outcomes.TypeError).toBeGreaterThan(0);
    total += report.calls;
  });
  expect(total).toBeGreaterThanOrEqual(Math.min(10_000, CALLS * SEEDS.length));
}, 600_000);

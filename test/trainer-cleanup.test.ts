import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Process } from "../src/process.ts";
import { cleanupState, freeze, patch, restoreAll } from "../src/trainer/index.ts";
import { Target } from "./helpers/target.ts";

const TRAINER = new URL("./fixtures/trainer.ts", import.meta.url).pathname;
const PATCHED = new TextEncoder().encode("PATCHED!");
const ORIGINAL = new TextEncoder().encode("read-only!").subarray(0, 8);

let t: Target;
let proc: Process;

beforeAll(async () => {
  t = await Target.start();
  proc = new Process(t.pid);
});
afterAll(() => t.kill());

const i32 = (n: number) => new Uint8Array(new Int32Array([n]).buffer);
const asI32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getInt32(0, true);

/** Starts the trainer fixture on the target's read-only page (patch) and an i32 of its data (freeze); resolves once both are in place. */
async function startTrainer(mode: string, freezeAt: number) {
  await t.write(freezeAt, i32(7));
  const child = Bun.spawn([process.execPath, TRAINER, String(t.pid), String(t.info.ro), String(freezeAt), mode], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = child.stdout.getReader();
  let out = "";
  while (!out.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`trainer ended before it was ready: ${await new Response(child.stderr).text()}`);
    out += new TextDecoder().decode(value);
  }
  // the patch is in, and the freeze holds against the target's own writes
  expect(await t.read(t.info.ro, 8)).toEqual(PATCHED);
  await t.write(freezeAt, i32(1));
  let held = 0;
  for (let waited = 0; waited < 3000 && held !== 4242; waited += 10) {
    await Bun.sleep(10);
    held = asI32(await t.read(freezeAt, 4));
  }
  expect(held).toBe(4242);
  const rest = async () => {
    let tail = out;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      tail += new TextDecoder().decode(value);
    }
    return tail;
  };
  return { child, rest };
}

/** After the trainer is gone: the freeze no longer holds (the target's write stays); returns the value it had left. */
async function freezeIsGone(at: number): Promise<number> {
  const left = asI32(await t.read(at, 4));
  await t.write(at, i32(5));
  await Bun.sleep(40);
  expect(asI32(await t.read(at, 4))).toBe(5);
  return left;
}

describe("a trainer process that ends leaves the target as it was", () => {
  const cases: [string, string, number, string | null][] = [
    ["SIGINT (Ctrl-C)", "wait", 130, "SIGINT"],
    ["SIGTERM", "wait", 143, "SIGTERM"],
    ["SIGHUP", "wait", 129, "SIGHUP"],
    ["an uncaught exception", "throw", 1, null],
    ["an unhandled rejection", "reject", 1, null],
    ["process.exit(3)", "exit", 3, null],
    ["the end of the script", "end", 0, null],
  ];
  for (const [name, mode, status, signal] of cases) {
    test(`${name}: the patch is restored, the freeze stops, exit status ${status}`, async () => {
      const at = t.info.data + 0x100;
      const { child, rest } = await startTrainer(mode, at);
      if (signal) child.kill(signal as NodeJS.Signals);
      expect(await child.exited).toBe(status);
      expect(child.signalCode).toBe(signal as NodeJS.Signals | null);
      await rest();
      expect(await t.read(t.info.ro, 8)).toEqual(ORIGINAL);
      // a freeze stops; it does not write the old value back
      expect(await freezeIsGone(at)).toBe(4242);
    });
  }

  test("{ keep: true } leaves the patch in place after SIGTERM", async () => {
    const at = t.info.data + 0x104;
    const { child, rest } = await startTrainer("keep", at);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(143);
    await rest();
    expect(await t.read(t.info.ro, 8)).toEqual(PATCHED);
    expect(await freezeIsGone(at)).toBe(4242);
    proc.write(t.info.ro, ORIGINAL, { force: true });
  });

  test("a SIGINT listener of the program's own keeps the signal; the restore happens at its exit", async () => {
    const at = t.info.data + 0x108;
    const { child, rest } = await startTrainer("own", at);
    child.kill("SIGINT");
    expect(await child.exited).toBe(0); // the program's listener decided
    expect(await rest()).toContain("own\n");
    expect(await t.read(t.info.ro, 8)).toEqual(ORIGINAL);
    expect(await freezeIsGone(at)).toBe(4242);
  });
});

describe("the registry in this process", () => {
  test("listeners are installed only while a patch or freeze is active", async () => {
    // bun test runs every file in this process: what earlier files left active (in targets long gone) goes first
    restoreAll();
    const base = { sigint: process.listenerCount("SIGINT"), exit: process.listenerCount("exit") };
    expect(cleanupState()).toEqual({ pending: 0, listening: false });
    const p = patch(proc, t.info.data + 0x200, [1, 2, 3, 4]);
    const f = freeze(proc, t.info.data + 0x208, "i32", 9, { intervalMs: 10 });
    expect(cleanupState()).toEqual({ pending: 2, listening: true });
    expect(process.listenerCount("SIGINT")).toBe(base.sigint + 1);
    expect(process.listenerCount("SIGTERM")).toBeGreaterThan(0);
    expect(process.listenerCount("exit")).toBe(base.exit + 1);
    p.restore();
    expect(cleanupState().pending).toBe(1);
    f.stop();
    expect(cleanupState()).toEqual({ pending: 0, listening: false });
    expect(process.listenerCount("SIGINT")).toBe(base.sigint);
    expect(process.listenerCount("exit")).toBe(base.exit);
    // keep: nothing registered, nothing installed
    const kept = patch(proc, t.info.data + 0x200, [5], { keep: true });
    expect(kept.kept).toBe(true);
    expect(cleanupState()).toEqual({ pending: 0, listening: false });
    kept.restore();
  });

  test("restoreAll undoes newest first, so overlapping patches come apart in order", async () => {
    const at = t.info.data + 0x300;
    const before = await t.read(at, 8);
    restoreAll();
    patch(proc, at, [0xa1, 0xa2, 0xa3, 0xa4]);
    patch(proc, at + 2, [0xb1, 0xb2, 0xb3, 0xb4]);
    const f = freeze(proc, at + 16, "i32", 1, { intervalMs: 10 });
    expect(await t.read(at, 6)).toEqual(new Uint8Array([0xa1, 0xa2, 0xb1, 0xb2, 0xb3, 0xb4]));
    expect(restoreAll()).toBe(3);
    expect(f.active).toBe(false);
    expect(await t.read(at, 8)).toEqual(before);
    expect(cleanupState()).toEqual({ pending: 0, listening: false });
  });

  test("a restore leaves the bytes the target rewrote since the patch", async () => {
    const at = t.info.data + 0x400;
    const before = await t.read(at, 4);
    const p = patch(proc, at, [0xc1, 0xc2, 0xc3, 0xc4]);
    await t.write(at + 1, new Uint8Array([0x77]));
    expect(p.restore()).toBe(true);
    expect(await t.read(at, 4)).toEqual(new Uint8Array([before[0]!, 0x77, before[2]!, before[3]!]));
  });
});

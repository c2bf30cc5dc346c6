/**
 * A `Process` notices that its pid runs another program (exec, reuse) or has
 * exited, and then writes, freezes, watches and patch restores stop with an
 * error instead of writing into the new image.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { Process, ProcessVmError } from "../src/index.ts";
import { compileFixture, HAVE_CC, LineChild, NO_CC_REASON } from "./helpers/native.ts";
import { Target } from "./helpers/target.ts";

const AT = 0x200000200;

let exe = "";
let cleanup = () => {};
beforeAll(() => {
  if (!HAVE_CC) return;
  ({ exe, cleanup } = compileFixture("exec-self"));
});
afterAll(() => cleanup());

/** Starts the exec-self target; resolves when its first image is ready. */
async function startExecSelf(): Promise<{ t: LineChild; pid: number }> {
  const t = new LineChild([exe]);
  const [pid, gen] = (await t.next())!.split(" ").map(Number);
  expect(gen).toBe(0);
  return { t, pid: pid! };
}

async function readInTarget(t: LineChild, offset: number): Promise<string> {
  t.send(`read ${offset.toString(16)}`);
  return (await t.next())!;
}

async function execTarget(t: LineChild, pid: number): Promise<void> {
  t.send("exec");
  const [samePid, gen] = (await t.next())!.split(" ").map(Number);
  expect(samePid).toBe(pid);
  expect(gen).toBe(1);
}

function expectGone(error: unknown, reason: string): void {
  expect(error).toBeInstanceOf(ProcessVmError);
  expect((error as ProcessVmError).code).toBe("ESRCH");
  expect((error as ProcessVmError).reason).toBe(reason as never);
}

describe.skipIf(!HAVE_CC)(`after exec (same pid, another image) [${HAVE_CC ? "cc found" : NO_CC_REASON}]`, () => {
  test("a freeze stops with an error and never writes into the new image", async () => {
    const { t, pid } = await startExecSelf();
    try {
      const proc = new Process(pid);
      const errors: Error[] = [];
      const frozen = proc.freeze(AT, "u32", 0x12345678, { intervalMs: 40, onError: (e) => errors.push(e) });
      await Bun.sleep(100);
      expect(await readInTarget(t, 0x200)).toBe("12345678");
      await execTarget(t, pid);
      await Bun.sleep(400);
      expect(await readInTarget(t, 0x200)).toBe("eeeeeeee");
      expect(frozen.active).toBe(false);
      expectGone(frozen.error, "exec");
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toContain("runs another program");
      expect(await frozen.stopped).toBe(frozen.error);
      proc.close();
    } finally {
      await t.kill();
    }
  });

  test("a watch reports the error and stops instead of reporting the new image's values", async () => {
    const { t, pid } = await startExecSelf();
    try {
      const proc = new Process(pid);
      const changes: unknown[] = [];
      const errors: Error[] = [];
      const w = proc.watch([{ address: AT, type: "u32" }], { intervalMs: 30, onChange: (c) => changes.push(c), onError: (e) => errors.push(e) });
      expect(w.value(0)).toBe(0x11111111);
      await execTarget(t, pid);
      await Bun.sleep(200);
      expect(w.active).toBe(false);
      expect(changes).toEqual([]);
      expect(errors).toHaveLength(1);
      expectGone(errors[0], "exec");
      let thrown: unknown;
      try {
        for await (const _ of w) break;
      } catch (error) {
        thrown = error;
      }
      expectGone(thrown, "exec");
    } finally {
      await t.kill();
    }
  });

  test("typed writes, write(), forced writes, writers and patch restores refuse; the new image keeps its bytes", async () => {
    const { t, pid } = await startExecSelf();
    try {
      const proc = new Process(pid);
      proc.verify();
      const p = proc.patch(AT + 16, [1, 2, 3, 4]);
      expect(await readInTarget(t, 0x210)).toBe("04030201");
      const writer = proc.writer([{ address: AT + 32, length: 4 }]);
      writer.views[0]!.set([9, 9, 9, 9]);
      expect(writer.write()).toBe(1);
      await execTarget(t, pid);
      for (const attempt of [
        () => proc.writeU32(AT, 7),
        () => proc.write(AT, new Uint8Array(4)),
        () => proc.write(AT, new Uint8Array(4), { force: true }),
        () => proc.writeCString(AT, "x"),
        () => p.restore(),
        () => writer.write(),
        () => proc.verify(),
      ]) {
        let error: unknown;
        try {
          attempt();
        } catch (e) {
          error = e;
        }
        expectGone(error, "exec");
      }
      expect(await readInTarget(t, 0x200)).toBe("eeeeeeee");
      expect(await readInTarget(t, 0x210)).toBe("eeeeeeee");
      expect(await readInTarget(t, 0x220)).toBe("eeeeeeee");
      // A new Process for the same pid is the new program, and may write.
      const fresh = new Process(pid);
      fresh.writeU32(AT, 0xabcdef01);
      expect(await readInTarget(t, 0x200)).toBe("abcdef01");
      fresh.close();
      proc.close();
    } finally {
      await t.kill();
    }
  });
});

describe("after exit", () => {
  test("writes to a Process whose target exited say so (reason exited), and stay refused", async () => {
    const target = await Target.start();
    const proc = new Process(target.pid);
    proc.writeI32(target.info.data, 5);
    await target.exit();
    for (let i = 0; i < 2; i++) {
      let error: unknown;
      try {
        proc.writeI32(target.info.data, 6);
      } catch (e) {
        error = e;
      }
      expectGone(error, "exited");
    }
    proc.close();
  });

  test("a freeze stops once with ESRCH when its target exits", async () => {
    const target = await Target.start();
    const proc = new Process(target.pid);
    const errors: Error[] = [];
    const frozen = proc.freeze(target.info.data, "i32", 1, { intervalMs: 20, onError: (e) => errors.push(e) });
    await target.exit();
    expect(await frozen.stopped).toBeInstanceOf(ProcessVmError);
    expect((frozen.error as ProcessVmError).code).toBe("ESRCH");
    expect(errors).toHaveLength(1);
    proc.close();
  });
});

describe("after pid reuse", () => {
  const canForce = process.getuid?.() === 0 && existsSync("/proc/sys/kernel/ns_last_pid");
  test.skipIf(!canForce)(`a Process whose pid now belongs to another process refuses to write [${canForce ? "root: ns_last_pid" : "needs root to choose the next pid through /proc/sys/kernel/ns_last_pid"}]`, async () => {
    // The first process dies and is reaped; the next one is made to get its pid.
    for (let attempt = 0; attempt < 10; attempt++) {
      const first = Bun.spawn(["sleep", "30"]);
      const proc = new Process(first.pid);
      proc.verify();
      first.kill("SIGKILL");
      await first.exited;
      writeFileSync("/proc/sys/kernel/ns_last_pid", String(first.pid - 1));
      const second = Bun.spawn(["sleep", "30"]);
      try {
        if (second.pid !== first.pid) continue; // another process took it first: try again
        let error: unknown;
        try {
          proc.writeU8(0x10000, 1);
        } catch (e) {
          error = e;
        }
        expectGone(error, "pid-reused");
        expect((error as Error).message).toContain(`pid ${first.pid} now belongs to another process`);
        // A new Process for the pid is the new process.
        const fresh = new Process(second.pid);
        fresh.verify();
        fresh.close();
        proc.close();
        return;
      } finally {
        second.kill("SIGKILL");
        await second.exited;
      }
    }
    throw new Error("could not get a reused pid in 10 attempts");
  });
});

describe("identity of a live process", () => {
  test("verify() passes for this process and for a live target, and costs no error", async () => {
    const me = Process.self();
    for (let i = 0; i < 1000; i++) me.verify();
    me.close();
    // After close() the start time still identifies the process.
    me.verify();
  });
});

/**
 * Zombies and forbidden targets: every entry point checks the target the way
 * a raw read does and reports the same error, instead of an empty result.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { findPattern, Process, ProcessVmError } from "../src/index.ts";
import { callEntryPoints } from "./fixtures/entry-points.ts";
import { makeZombie, processState } from "./helpers/native.ts";
import { Target } from "./helpers/target.ts";

const ENTRY_POINTS = ["maps", "modules", "findModule", "module", "resolve", "resolveAll", "scan", "findPattern", "findPointerPaths", "readU8"];

describe("a zombie (exited, not reaped)", () => {
  test("every entry point rejects with ESRCH, like a raw read, instead of empty results", async () => {
    const zombie = await makeZombie();
    try {
      expect(processState(zombie.pid)).toBe("Z");
      const proc = new Process(zombie.pid);
      const outcome = await callEntryPoints(proc);
      expect(Object.keys(outcome)).toEqual(ENTRY_POINTS);
      for (const name of ENTRY_POINTS) {
        const result = outcome[name];
        expect({ name, result: typeof result === "object" ? result.code : result }).toEqual({ name, result: "ESRCH" });
        expect(typeof result === "object" && result.message).toContain("The process does not exist or has exited");
      }
      expect(() => proc.probe()).toThrow(ProcessVmError);
      // Writes say the process is gone (it exited), they do not reach anything.
      let error: unknown;
      try {
        proc.writeU8(0x10000, 1);
      } catch (e) {
        error = e;
      }
      expect((error as ProcessVmError).code).toBe("ESRCH");
      let watchError: unknown;
      try {
        proc.watch([0x10000]);
      } catch (e) {
        watchError = e;
      }
      expect((watchError as ProcessVmError).code).toBe("ESRCH");
      proc.close();
    } finally {
      await zombie.release();
    }
  });
});

describe("a target this process may not read", () => {
  test("every entry point gives EPERM with the permission rule, as raw reads do", () => {
    const isRoot = process.getuid?.() === 0;
    const hasSetpriv = spawnSync("setpriv", ["--version"]).status === 0;
    if (!isRoot || !hasSetpriv) {
      console.log(`skipped: needs root${hasSetpriv ? "" : " and setpriv (util-linux)"} to start processes as other users`);
      return;
    }
    // A target owned by nobody, and a caller that is root without CAP_SYS_PTRACE.
    const victim = Bun.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "30"]);
    try {
      Bun.sleepSync(200);
      const child = spawnSync(
        "setpriv",
        ["--bounding-set=-sys_ptrace", "--inh-caps=-sys_ptrace", process.execPath, new URL("./fixtures/entry-points.ts", import.meta.url).pathname, String(victim.pid)],
        { encoding: "utf8", timeout: 30_000 },
      );
      expect(child.status).toBe(0);
      const outcome = JSON.parse(child.stdout.trim());
      expect(Object.keys(outcome)).toEqual(ENTRY_POINTS);
      for (const name of ENTRY_POINTS) {
        const result = outcome[name];
        expect({ name, code: result.code }).toEqual({ name, code: "EPERM" });
        expect(result.message).toContain("CAP_SYS_PTRACE");
        expect(result.message).toContain("same uid and gid");
      }
    } finally {
      victim.kill();
    }
  });
});

describe("a target that exits during a scan", () => {
  test("the ESRCH error names where the scan stopped and how much of that range was left, not '+0'", async () => {
    const MiB = 1 << 20;
    const t = await Target.start();
    try {
      const proc = new Process(t.pid);
      const low = await t.map(256 * MiB);
      await t.cmd(`fill ${low.toString(16)} ${(256 * MiB).toString(16)} 1`);
      let error: unknown;
      try {
        await findPattern(proc, "de ad be ef", {
          within: [low, low + 256 * MiB],
          threads: 0,
          onProgress: (done, total) => {
            if (done >= total / 2) t.kill();
          },
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ProcessVmError);
      const e = error as ProcessVmError;
      expect(e.code).toBe("ESRCH");
      expect(e.address).toBeGreaterThan(low);
      expect(e.length).toBeGreaterThan(0);
      expect(e.address! + e.length!).toBe(low + 256 * MiB);
      expect(e.message).toContain(`0x${e.address!.toString(16)}+${e.length}`);
      expect(e.message).not.toContain("+0)");
      proc.close();
    } finally {
      t.kill();
    }
  });
});

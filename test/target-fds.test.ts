/**
 * Descriptors held by Process objects (the identity's /proc/PID/mem and pidfd):
 * released by close(), and by the CLI's target lookup for the processes it does not return.
 */
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { Process } from "../src/process.ts";
import { openTarget, UsageError } from "../src/cli/util.ts";

const NAME = `pvm-twin-${process.pid}`;
const twins = [0, 1].map(() => Bun.spawn(["bash", "-c", `exec -a ${NAME} sleep 60`], { stdout: "ignore", stderr: "inherit" }));
afterAll(async () => {
  for (const t of twins) t.kill();
  await Promise.all(twins.map((t) => t.exited));
});

const openFds = () => readdirSync("/proc/self/fd").length;

async function named(): Promise<void> {
  // Until bash has exec'd, the children are not named yet.
  for (let i = 0; i < 200; i++) {
    const ready = twins.every((t) => {
      try {
        return readFileSync(`/proc/${t.pid}/cmdline`, "utf8").startsWith(`${NAME}\0`);
      } catch {
        return false;
      }
    });
    if (ready) return;
    await Bun.sleep(10);
  }
  throw new Error("the twin processes did not start");
}

test("close() releases the identity's descriptors; the object still reads", async () => {
  await named();
  const before = openFds();
  const proc = new Process(twins[0]!.pid);
  expect(openFds()).toBeGreaterThan(before); // /proc/PID/mem and a pidfd
  proc.close();
  expect(openFds()).toBe(before);
  expect(proc.maps().length).toBeGreaterThan(0);
});

test("a name two processes have: the lookup fails and keeps no descriptor of either", async () => {
  await named();
  const found = Process.find(NAME);
  expect(found.map((p) => p.pid).sort()).toEqual(twins.map((t) => t.pid).sort());
  for (const p of found) p.close();
  const before = openFds();
  let error: unknown;
  try {
    openTarget(NAME);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UsageError);
  expect((error as Error).message).toContain("2 processes are named");
  expect(openFds()).toBe(before);
});

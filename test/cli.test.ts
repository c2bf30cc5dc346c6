/**
 * The `pvm` command line, run as a real program against a real target.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Target } from "./helpers/target.ts";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;

function pvm(...args: (string | number)[]): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync(process.execPath, [MAIN, ...args.map(String)], { encoding: "utf8" });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

function spawnPvm(...args: (string | number)[]) {
  return Bun.spawn([process.execPath, MAIN, ...args.map(String)], { stdout: "pipe", stderr: "pipe" });
}

let t: Target;
let object: number;
let dir: string;
beforeAll(async () => {
  t = await Target.start();
  // A "module" with a static pointer to an object holding an i32 at +8.
  dir = mkdtempSync(join(tmpdir(), "pvm-cli-"));
  const path = join(dir, "libcli.so");
  writeFileSync(path, new Uint8Array(t.info.page));
  const module = await t.map(t.info.page, 3, path);
  object = await t.map(t.info.page);
  await t.write(module + 0x20, new Uint8Array(new BigUint64Array([BigInt(object)]).buffer));
  await t.write(object + 8, new Uint8Array(new Int32Array([4321]).buffer));
});
afterAll(() => {
  t.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe("pvm", () => {
  test("help lists the commands; no command is a usage error", () => {
    const help = pvm("help");
    expect(help.status).toBe(0);
    for (const name of ["ps", "maps", "read", "dump", "write"]) expect(help.stdout).toContain(`pvm ${name} `);
    expect(pvm().status).toBe(2);
    expect(pvm("frobnicate").stderr).toContain('unknown command "frobnicate"');
  });

  test("ps NAME lists the target", () => {
    const out = pvm("ps", "target.ts");
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^\\s*${t.pid}\\s`, "m"));
  });

  test("maps shows the target's regions with kinds", () => {
    const out = pvm("maps", t.pid);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain("[stack]");
    expect(out.stdout).toMatch(new RegExp(`^0*${t.info.data.toString(16)}-`, "m"));
    const heapOnly = pvm("maps", t.pid, "--kind", "stack");
    expect(heapOnly.stdout.trim().split("\n").length).toBe(2); // the stack and the total
  });

  test("read typed values and strings", () => {
    const out = pvm("read", t.pid, `0x${(t.info.data + 4).toString(16)}`, "u8", 3);
    expect(out.status).toBe(0);
    expect(out.stdout.trim().split("\n").map((l) => l.split(/\s+/)[1])).toEqual(["4", "5", "6"]);
    expect(pvm("read", t.pid, t.info.ro, "string").stdout.trim()).toMatch(/^"read-/);
    expect(pvm("read", t.pid, t.info.data, "u32").stdout).toContain(String(0x03020100));
  });

  test("dump prints hex and ASCII", () => {
    const out = pvm("dump", t.pid, t.info.ro, 16);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain("72 65 61 64");
    expect(out.stdout).toContain("|read-");
  });

  test("write, verified from the target; --force for read-only pages", async () => {
    const at = await t.map(t.info.page);
    expect(pvm("write", t.pid, at, "i32", -2).status).toBe(0);
    expect([...(await t.read(at, 4))]).toEqual([0xfe, 0xff, 0xff, 0xff]);
    expect(pvm("write", t.pid, at + 8, "bytes", "de", "ad").status).toBe(0);
    expect([...(await t.read(at + 8, 2))]).toEqual([0xde, 0xad]);
    const refused = pvm("write", t.pid, t.info.ro, "u8", 65);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("EFAULT");
    expect(pvm("write", t.pid, t.info.ro, "u8", 65, "--force").status).toBe(0);
    expect((await t.read(t.info.ro, 1))[0]).toBe(65);
  });

  test("mistakes are usage errors (status 2), kernel refusals are errors (status 1)", () => {
    expect(pvm("read", t.pid, "zzz").status).toBe(2);
    expect(pvm("write", t.pid, t.info.data, "u8", 300).stderr).toContain("does not fit u8");
    expect(pvm("write", t.pid, t.info.data, "f32", "").stderr).toContain("VALUE is empty");
    expect(pvm("read", t.pid, t.info.data, "i33").stderr).toContain('unknown type "i33"');
    expect(pvm("read", "no-such-process-xyz", 0).stderr).toContain('no process named "no-such-process-xyz"');
    const fault = pvm("read", t.pid, 16);
    expect(fault.status).toBe(1);
    expect(fault.stderr).toContain("EFAULT: bad address");
  });

  test("resolve follows a chain and prints the value", () => {
    const out = pvm("resolve", t.pid, "libcli.so+0x20 -> 0x8", "i32");
    expect(out.status).toBe(0);
    expect(out.stdout.trim()).toBe(`0x${(object + 8).toString(16)}  i32 4321`);
    const broken = pvm("resolve", t.pid, "libcli.so+0x28 -> 0x8");
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain("null");
  });

  test("freeze holds a value the target overwrites, then stops", async () => {
    const child = spawnPvm("freeze", t.pid, "libcli.so+0x20 -> 0x10", "i32", 777, "--interval", 10, "--for", 600);
    await Bun.sleep(250);
    await t.write(object + 0x10, new Uint8Array(new Int32Array([5]).buffer));
    await Bun.sleep(100);
    expect(new Int32Array((await t.read(object + 0x10, 4)).buffer)[0]).toBe(777);
    expect(await child.exited).toBe(0);
    await t.write(object + 0x10, new Uint8Array(new Int32Array([6]).buffer));
    await Bun.sleep(50);
    expect(new Int32Array((await t.read(object + 0x10, 4)).buffer)[0]).toBe(6);
  });

  test("watch prints a change", async () => {
    const child = spawnPvm("watch", t.pid, object + 0x30, "--type", "u32", "--interval", 10, "--count", 1);
    await Bun.sleep(250);
    await t.write(object + 0x30, Uint8Array.of(9, 0, 0, 0));
    expect(await child.exited).toBe(0);
    expect(await new Response(child.stdout).text()).toContain("0 -> 9");
  });

  test("pointers finds the planted path", () => {
    const out = pvm("pointers", t.pid, object + 8, "--depth", 2, "--offset", 0x40);
    expect(out.status).toBe(0);
    expect(out.stdout.split("\n")).toContain("libcli.so+0x20 -> 0x8");
  });

  test("attach: scan, narrow, list, set and freeze from typed commands", async () => {
    const at = await t.map(t.info.page);
    const i32 = (n: number) => new Uint8Array(new Int32Array([n]).buffer);
    await t.write(at + 0x40, i32(987654321));
    await t.write(at + 0x80, i32(987654321));
    const child = Bun.spawn([process.execPath, MAIN, "attach", String(t.pid)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const say = async (line: string, wait = 0) => {
      child.stdin.write(`${line}\n`);
      child.stdin.flush();
      if (wait) await Bun.sleep(wait);
    };
    // The target's own JS heap holds copies of what the test sends it: scan only the planted page.
    await say(`within ${at} ${at + t.info.page}`);
    await say("type i32");
    await say("987654321", 1500);
    await t.write(at + 0x40, i32(987654320));
    await say("decreased", 500);
    await say("list");
    await say("set 1234 0", 200);
    await say("quit");
    expect(await child.exited).toBe(0);
    const out = await new Response(child.stdout).text();
    expect(out).toMatch(/\b2 matches/);
    expect(out).toMatch(/\b1 match\b/);
    expect(out).toContain(`[0] 0x${(at + 0x40).toString(16)}  i32 987654320  (was 987654321)`);
    expect(new Int32Array((await t.read(at + 0x40, 4)).buffer)[0]).toBe(1234);
    expect(new Int32Array((await t.read(at + 0x80, 4)).buffer)[0]).toBe(987654321);
  });

  test("scan runs queries in order and lists the matches", async () => {
    const at = await t.map(t.info.page);
    await t.write(at + 0x10, new Uint8Array(new Float64Array([31.25]).buffer));
    const out = pvm("scan", t.pid, "--type", "f64", "--within", `${at},${at + t.info.page}`, "31.25");
    expect(out.status).toBe(0);
    expect(out.stdout).toContain(`0x${(at + 0x10).toString(16)}  f64 31.25`);
  });

  test("find prints every address of a pattern", async () => {
    const at = await t.map(t.info.page);
    await t.write(at + 0x21, Uint8Array.of(0xfa, 0xce, 0xb0, 0x0c, 0x5e));
    const out = pvm("find", t.pid, "fa ce ?? 0? 5e", "--within", `${at},${at + t.info.page}`);
    expect(out.status).toBe(0);
    expect(out.stdout.trim().split("\n")).toContain(`0x${(at + 0x21).toString(16)}`);
    const failed = pvm("scan", t.pid, "increased");
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("compares with a previous value");
    const bad = pvm("find", t.pid, "fa ce zz");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("position");
  });

  test("demo finds, sets and freezes the game's health", () => {
    const out = pvm("demo");
    expect(out.status).toBe(0);
    const found = /found it: (0x[0-9a-f]+) \(the game keeps its player record at (0x[0-9a-f]+)\)/.exec(out.stdout);
    expect(found).not.toBeNull();
    expect(found![1]).toBe(found![2]!);
    expect(out.stdout).toContain("it took our 5000");
    expect(out.stdout).toMatch(/i32 9999/);
  }, 30_000);
});

/**
 * The trainer through `Process` methods and the package's export list: a
 * chain planted in a file-backed "module" mapping of the generic target.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PointerChainError, Process } from "../src/index.ts";
import { Target } from "./helpers/target.ts";

let t: Target;
let proc: Process;
let module: number;
let object: number;
let dir: string;

function pointer(value: number): Uint8Array {
  return new Uint8Array(new BigUint64Array([BigInt(value)]).buffer);
}

beforeAll(async () => {
  t = await Target.start();
  proc = new Process(t.pid);
  dir = mkdtempSync(join(tmpdir(), "pvm-wire-"));
  const path = join(dir, "libwire.so");
  writeFileSync(path, new Uint8Array(2 * t.info.page));
  module = await t.map(2 * t.info.page, 3, path);
  object = await t.map(t.info.page);
  await t.write(module + 0x10, pointer(object));
  await t.write(object + 0x8, new Uint8Array(new Int32Array([1234]).buffer));
});
afterAll(() => {
  t.kill();
  rmSync(dir, { recursive: true, force: true });
});

test("resolve and resolveAll", () => {
  expect(proc.resolve("libwire.so+0x10 -> 0x8")).toBe(object + 8);
  expect(proc.readI32(proc.resolve({ base: { module: "libwire.so", offset: 0x10 }, offsets: [0x8] }))).toBe(1234);
  const { addresses, errors } = proc.resolveAll(["libwire.so+0x10 -> 0x8", "libwire.so+0x18 -> 0x8"]);
  expect(addresses).toEqual([object + 8, null]);
  expect(errors[1]).toBeInstanceOf(PointerChainError);
  expect(() => proc.resolve("libwire.so+0x18 -> 0x8")).toThrow(PointerChainError);
});

test("freeze holds a value the target overwrites", async () => {
  const hp = object + 8;
  const handle = proc.freeze(hp, "i32", 777, { intervalMs: 20 });
  try {
    await t.write(hp, new Uint8Array(new Int32Array([5]).buffer));
    await Bun.sleep(100);
    expect(new Int32Array((await t.read(hp, 4)).buffer)[0]).toBe(777);
  } finally {
    handle.stop();
  }
});

test("patch and nop on a read-only page, restored", async () => {
  const original = await t.read(t.info.ro, 4);
  const p = proc.patch(t.info.ro, [0x41, 0x42]);
  expect([...(await t.read(t.info.ro, 2))]).toEqual([0x41, 0x42]);
  p.restore();
  const n = proc.nop(t.info.ro + 2, 2, { arch: "x64" });
  expect([...(await t.read(t.info.ro + 2, 2))]).toEqual([0x90, 0x90]);
  n.restore();
  expect(await t.read(t.info.ro, 4)).toEqual(original);
});

test("watch reports a change", async () => {
  const watcher = proc.watch([{ address: object + 0x20, type: "u32" }], { intervalMs: 10 });
  try {
    await Bun.sleep(30);
    await t.write(object + 0x20, Uint8Array.of(9, 0, 0, 0));
    for await (const change of watcher) {
      expect(change.new).toBe(9);
      break;
    }
  } finally {
    watcher.stop();
  }
});

test("findPointerPaths finds the planted path", async () => {
  const paths = await proc.findPointerPaths(object + 8, { maxDepth: 2, maxOffset: 0x40 });
  expect(paths.toStrings()).toContain("libwire.so+0x10 -> 0x8");
});

test("a pointer that is not a user-space address is reported as invalid, by resolve and resolveAll", () => {
  // The target's data page counts up from 0: the 8 bytes at its start read as 0x0706050403020100, above 2^53.
  const chain = `0x${t.info.data.toString(16)} -> 0x0`;
  expect(() => proc.resolve(chain)).toThrow(expect.objectContaining({ reason: "invalid", step: 0, address: t.info.data }));
  const { addresses, errors } = proc.resolveAll([chain]);
  expect(addresses).toEqual([null]);
  expect(errors[0]?.reason).toBe("invalid");
});

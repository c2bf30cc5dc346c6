/**
 * Process: typed reads and writes, strings, forced writes, find/self, against
 * a real target and the test process itself.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { addressOf } from "../src/ffi/libc.ts";
import { Process, ProcessVmError } from "../src/index.ts";
import { Target } from "./helpers/target.ts";

let t: Target;
let proc: Process;
let scratch: number; // a page of the target's that each test may overwrite

beforeAll(async () => {
  t = await Target.start();
  proc = new Process(t.pid);
  scratch = await t.map(4 * t.info.page);
});
afterAll(() => {
  proc.close();
  t.kill();
});

function le(bytes: number[]): Uint8Array {
  return Uint8Array.from(bytes);
}

describe("typed reads", () => {
  test("every width and signedness, from bytes the target planted", async () => {
    await t.write(scratch, le([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(proc.readU8(scratch)).toBe(0xfe);
    expect(proc.readI8(scratch)).toBe(-2);
    expect(proc.readU16(scratch)).toBe(0xfffe);
    expect(proc.readI16(scratch)).toBe(-2);
    expect(proc.readU32(scratch)).toBe(0xfffffffe);
    expect(proc.readI32(scratch)).toBe(-2);
    expect(proc.readU64(scratch)).toBe(0xfffffffffffffffen);
    expect(proc.readI64(scratch)).toBe(-2n);
    await t.write(scratch + 8, new Uint8Array(new Float32Array([1.5]).buffer));
    expect(proc.readF32(scratch + 8)).toBe(1.5);
    await t.write(scratch + 16, new Uint8Array(new Float64Array([Math.PI]).buffer));
    expect(proc.readF64(scratch + 16)).toBe(Math.PI);
  });

  test("readPointer returns a number, exact for user-space addresses", async () => {
    await t.write(scratch + 24, new Uint8Array(new BigUint64Array([0x7fff_dead_beefn]).buffer));
    expect(proc.readPointer(scratch + 24)).toBe(0x7fff_dead_beef);
    expect(proc.readPointer(BigInt(scratch + 24))).toBe(0x7fff_dead_beef);
  });

  test("read and readInto", () => {
    expect(proc.read(t.info.data + 10, 5)).toEqual(le([10, 11, 12, 13, 14]));
    const view = new Uint8Array(new ArrayBuffer(32));
    expect(proc.readInto(t.info.guard + t.info.page - 8, view)).toBe(8);
    expect(proc.read(t.info.data, 0)).toEqual(new Uint8Array(0));
  });

  test("a read that runs into an unmapped page throws EFAULT at the first bad byte", () => {
    const at = t.info.guard + t.info.page - 2;
    try {
      proc.readU32(at);
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(ProcessVmError);
      expect((e as ProcessVmError).code).toBe("EFAULT");
      expect((e as ProcessVmError).address).toBe(t.info.guard + t.info.page);
      expect((e as ProcessVmError).length).toBe(2);
    }
    expect(() => proc.read(at, 16)).toThrow(expect.objectContaining({ code: "EFAULT" }));
    expect(() => proc.readInto(t.info.guard + t.info.page, new Uint8Array(8))).toThrow(expect.objectContaining({ code: "EFAULT" }));
  });

  test("bad addresses are refused before the kernel sees them", () => {
    expect(() => proc.readU32(-1)).toThrow(RangeError);
    expect(() => proc.readU32(1.5)).toThrow(RangeError);
    expect(() => proc.readU32(2 ** 64)).toThrow(RangeError);
    expect(() => proc.read(t.info.data, -1)).toThrow(RangeError);
    expect(() => new Process(0)).toThrow(RangeError);
  });
});

describe("strings", () => {
  test("readCString stops at NUL and decodes UTF-8", async () => {
    await t.write(scratch + 100, new TextEncoder().encode("héllo wörld\0junk"));
    expect(proc.readCString(scratch + 100)).toBe("héllo wörld");
    expect(proc.readCString(scratch + 100, 5)).toBe("héll");
  });

  test("a string that ends just before an unmapped page is read (page by page)", async () => {
    const end = t.info.guard + t.info.page;
    await t.write(end - 6, new TextEncoder().encode("tail!\0"));
    expect(proc.readCString(end - 6, 4096)).toBe("tail!");
    await t.write(end - 12, new Uint8Array(new Uint16Array([0x41, 0x42, 0x43, 0x44, 0x45, 0]).buffer));
    expect(proc.readUtf16(end - 12, 4096)).toBe("ABCDE");
  });

  test("a string spanning pages is read whole", async () => {
    const text = "x".repeat(5000) + "END";
    await t.write(scratch + t.info.page - 100, new TextEncoder().encode(`${text}\0`));
    expect(proc.readCString(scratch + t.info.page - 100, 8192)).toBe(text);
  });

  test("a huge maxLength costs nothing for a short string", async () => {
    await t.write(scratch + 700, new TextEncoder().encode("short\0"));
    expect(proc.readCString(scratch + 700, 2 ** 32)).toBe("short");
    expect(proc.readUtf16(scratch + 700, 0)).toBe("");
  });

  test("a length too large to allocate is a RangeError naming it", () => {
    expect(() => proc.read(t.info.data, 2 ** 52)).toThrow(/length .* too large/);
  });

  test("memory that ends before any NUL gives EFAULT", async () => {
    const end = t.info.guard + t.info.page;
    await t.write(end - 4, le([0x41, 0x41, 0x41, 0x41]));
    expect(() => proc.readCString(end - 4, 4096)).toThrow(expect.objectContaining({ code: "EFAULT" }));
  });

  test("readUtf16 needs an aligned 16-bit NUL", async () => {
    await t.write(scratch + 300, new Uint8Array(new Uint16Array([0x100, 0x48, 0x69, 0]).buffer));
    expect(proc.readUtf16(scratch + 300)).toBe("\u0100Hi");
  });
});

describe("writes, verified from the target's side", () => {
  test("typed writes", async () => {
    proc.writeI32(scratch + 512, -123456);
    proc.writeU16(scratch + 516, 0xbeef);
    proc.writeF64(scratch + 520, 2.25);
    proc.writeU64(scratch + 528, 0x0102030405060708n);
    proc.writePointer(scratch + 536, 0x7fff_0000_1234);
    proc.writeI8(scratch + 544, -1);
    proc.writeF32(scratch + 548, -0.5);
    const seen = new DataView((await t.read(scratch + 512, 40)).buffer);
    expect(seen.getInt32(0, true)).toBe(-123456);
    expect(seen.getUint16(4, true)).toBe(0xbeef);
    expect(seen.getFloat64(8, true)).toBe(2.25);
    expect(seen.getBigUint64(16, true)).toBe(0x0102030405060708n);
    expect(seen.getBigUint64(24, true)).toBe(0x7fff00001234n);
    expect(seen.getInt8(32)).toBe(-1);
    expect(seen.getFloat32(36, true)).toBe(-0.5);
  });

  test("values that do not fit the type are refused", () => {
    expect(() => proc.writeU8(scratch, 256)).toThrow(RangeError);
    expect(() => proc.writeI16(scratch, -40000)).toThrow(RangeError);
    expect(() => proc.writeU32(scratch, 1.5)).toThrow(RangeError);
    expect(() => proc.writeU64(scratch, -1n)).toThrow(RangeError);
  });

  test("write and writeCString", async () => {
    proc.write(scratch + 600, le([9, 8, 7]));
    proc.writeCString(scratch + 610, "hi");
    expect(await t.read(scratch + 600, 3)).toEqual(le([9, 8, 7]));
    expect(await t.read(scratch + 610, 3)).toEqual(le([0x68, 0x69, 0]));
  });

  test("a read-only page refuses a plain write with EFAULT", () => {
    expect(() => proc.write(t.info.ro, le([1]))).toThrow(expect.objectContaining({ code: "EFAULT", syscall: "process_vm_writev" }));
  });

  test("a forced write goes into the read-only mapping through /proc/PID/mem", async () => {
    proc.write(t.info.ro + 5, new TextEncoder().encode("ONLY"), { force: true });
    expect(new TextDecoder().decode(await t.read(t.info.ro, 10))).toBe("read-ONLY!");
    expect(proc.readCString(t.info.ro)).toBe("read-ONLY!");
  });

  test("a forced write that starts writable and runs into a read-only page", async () => {
    const region = await t.map(2 * t.info.page);
    await t.protect(region + t.info.page, t.info.page, 1);
    proc.write(region + t.info.page - 2, le([1, 2, 3, 4]), { force: true });
    expect(await t.read(region + t.info.page - 2, 4)).toEqual(le([1, 2, 3, 4]));
  });

  test("a forced write into unmapped memory fails with a clear error", async () => {
    const hole = await t.map(t.info.page);
    await t.unmap(hole, t.info.page);
    expect(() => proc.write(hole, le([1]), { force: true })).toThrow(
      expect.objectContaining({ code: "EIO", syscall: "pwrite", message: expect.stringContaining("/proc/") }),
    );
  });
});

describe("finding processes", () => {
  test("Process.self() reads our own memory", () => {
    const me = Process.self();
    expect(me.pid).toBe(process.pid);
    const mine = new Uint32Array(new ArrayBuffer(4));
    mine[0] = 0xc0ffee;
    expect(me.readU32(addressOf(mine.buffer))).toBe(0xc0ffee);
  });

  test("Process.find by the script name finds the target", () => {
    const found = Process.find("target.ts").map((p) => p.pid);
    expect(found).toContain(t.pid);
    expect(Process.find("no-such-process-name-xyz")).toEqual([]);
  });

  test("Process.find by comm", async () => {
    const sleeper = Bun.spawn(["sleep", "30"]);
    try {
      // Until the child has exec'd, its name is still ours.
      for (let i = 0; i < 200 && readFileSync(`/proc/${sleeper.pid}/comm`, "utf8") !== "sleep\n"; i++) await Bun.sleep(5);
      expect(Process.find("sleep").map((p) => p.pid)).toContain(sleeper.pid);
    } finally {
      sleeper.kill();
    }
  });
});

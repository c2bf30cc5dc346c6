/**
 * Every statement of process_vm_readv(2), checked against the running kernel
 * through the public readv/writev, with a real target process.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { ProcessVmError, readv, writev } from "../src/index.ts";
import { IovecTable } from "../src/ffi/iovec.ts";
import { addressOf, libc } from "../src/ffi/libc.ts";
import { nativeTransfer, rawTransfer } from "../src/syscall.ts";
import { Target } from "./helpers/target.ts";

let t: Target;
beforeAll(async () => {
  t = await Target.start();
});
afterAll(() => t.kill());

const buf = (n: number) => new Uint8Array(new ArrayBuffer(n));
/** The fixture's data pages hold byte i & 0xff at offset i. */
const pattern = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

describe("buffers are processed in array order", () => {
  test("one remote range fills lvec[0] completely before lvec[1]", () => {
    const a = buf(10);
    const b = buf(10);
    // The manual's example, with remote[0].iov_len set (its text sets remote[1] by mistake).
    expect(readv(t.pid, [a, b], { address: t.info.data + 100, length: 20 })).toBe(20);
    expect(a).toEqual(pattern(100, 10));
    expect(b).toEqual(pattern(110, 10));
  });

  test("rvec[0] is read completely before rvec[1]", () => {
    const out = buf(12);
    const n = readv(t.pid, out, [
      { address: t.info.data + 200, length: 4 },
      { address: t.info.data + 8, length: 8 },
    ]);
    expect(n).toBe(12);
    expect(out).toEqual(Uint8Array.from([...pattern(200, 4), ...pattern(8, 8)]));
  });

  test("lengths of lvec[i] and rvec[i] are independent: split and merge at once", () => {
    const locals = [buf(3), buf(7), buf(6)];
    const remotes = [
      { address: t.info.data + 0, length: 5 },
      { address: t.info.data + 1000, length: 11 },
    ];
    expect(readv(t.pid, locals, remotes)).toBe(16);
    const joined = Uint8Array.from(locals.flatMap((l) => [...l]));
    expect(joined).toEqual(Uint8Array.from([...pattern(0, 5), ...pattern(1000, 11)]));
  });

  test("the transfer stops at the shorter side", () => {
    expect(readv(t.pid, buf(4), { address: t.info.data, length: 64 })).toBe(4);
    expect(readv(t.pid, buf(64), { address: t.info.data, length: 4 })).toBe(4);
  });

  test("writev writes lvec in order into rvec, verified from the target", async () => {
    const at = t.info.data + 3 * t.info.page;
    const n = writev(t.pid, [Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5)], [
      { address: at, length: 2 },
      { address: at + 10, length: 3 },
    ]);
    expect(n).toBe(5);
    expect(await t.read(at, 2)).toEqual(Uint8Array.of(1, 2));
    expect(await t.read(at + 10, 3)).toEqual(Uint8Array.of(3, 4, 5));
  });
});

describe("partial transfers (what the kernel really does)", () => {
  test("a read stops part-way through one iovec, at the page boundary", () => {
    const out = buf(32);
    const start = t.info.guard + t.info.page - 12; // 12 readable bytes, then a PROT_NONE page
    expect(readv(t.pid, out, { address: start, length: 32 })).toBe(12);
    expect(out.subarray(0, 12)).toEqual(new Uint8Array(12).fill(0x47));
    expect(out.subarray(12)).toEqual(new Uint8Array(20));
  });

  test("a later faulting iovec returns the count of the ones before it", () => {
    const n = readv(t.pid, buf(16), [
      { address: t.info.data, length: 8 },
      { address: t.info.guard + t.info.page, length: 8 },
    ]);
    expect(n).toBe(8);
  });

  test("a write stops at the read-only page", () => {
    const n = writev(t.pid, buf(16), [
      { address: t.info.data + 2 * t.info.page, length: 8 },
      { address: t.info.ro, length: 8 },
    ]);
    expect(n).toBe(8);
  });
});

describe("errors", () => {
  test("EFAULT for remote memory outside the target's address space, naming the range", () => {
    let error: unknown;
    try {
      readv(t.pid, buf(8), { address: t.info.guard + t.info.page, length: 8 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProcessVmError);
    const e = error as ProcessVmError;
    expect(e.code).toBe("EFAULT");
    expect(e.errno).toBe(-14); // negative, as on Bun's fs errors
    expect(e.syscall).toBe("process_vm_readv");
    expect(e.pid).toBe(t.pid);
    expect(e.address).toBe(t.info.guard + t.info.page);
    expect(e.length).toBe(8);
    expect(e.message).toBe(`EFAULT: bad address, process_vm_readv (pid ${t.pid}, 0x${(t.info.guard + t.info.page).toString(16)}+8)`);
  });

  test("EFAULT for local memory outside our address space (raw tables)", () => {
    const local = new IovecTable(1);
    const remote = new IovecTable(1);
    local.set(0, 0x1000, 8); // nothing is mapped at 4 KiB
    remote.set(0, t.info.data, 8);
    const result = rawTransfer(nativeTransfer("process_vm_readv"), t.pid, local.address, 1, remote.address, 1, 0);
    expect(result).toBe(-14);
  });

  test("EFAULT for writev into a read-only page", () => {
    expect(() => writev(t.pid, buf(4), { address: t.info.ro, length: 4 })).toThrow(
      expect.objectContaining({ code: "EFAULT", syscall: "process_vm_writev" }),
    );
  });

  test("EINVAL for non-zero flags, passed through to the kernel", () => {
    expect(() => readv(t.pid, buf(4), { address: t.info.data, length: 4 }, 1)).toThrow(
      expect.objectContaining({ code: "EINVAL", errno: -22 }),
    );
    expect(() => writev(t.pid, buf(4), { address: t.info.data, length: 4 }, 1n << 40n)).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
  });

  test("EINVAL from the kernel for an iov_len above SSIZE_MAX (raw tables)", () => {
    const local = new IovecTable(1);
    const remote = new IovecTable(1);
    const target = new ArrayBuffer(8);
    local.set(0, addressOf(target), 8);
    remote.setAny(0, BigInt(t.info.data), 8);
    new BigUint64Array(remote.buffer)[1] = 1n << 63n; // iov_len = SSIZE_MAX + 1
    expect(rawTransfer(nativeTransfer("process_vm_readv"), t.pid, local.address, 1, remote.address, 1, 0)).toBe(-22);
    new BigUint64Array(remote.buffer)[1] = 8n;
    new BigUint64Array(local.buffer)[1] = 1n << 63n;
    expect(rawTransfer(nativeTransfer("process_vm_readv"), t.pid, local.address, 1, remote.address, 1, 0)).toBe(-22);
  });

  test("the library refuses a sum of lengths that overflows ssize_t before any transfer", () => {
    const remotes = Array.from({ length: 1025 }, () => ({ address: t.info.data, length: Number.MAX_SAFE_INTEGER }));
    expect(() => readv(t.pid, buf(8), remotes)).toThrow(RangeError);
    expect(() => readv(t.pid, buf(8), remotes)).toThrow(/sum of remote lengths overflows ssize_t/);
  });

  test("EINVAL from the kernel for more than IOV_MAX entries in one raw call (glibc does not split)", () => {
    const local = new IovecTable(1);
    const remote = new IovecTable(1025);
    const target = new ArrayBuffer(8);
    local.set(0, addressOf(target), 8);
    for (let i = 0; i < 1025; i++) remote.set(i, t.info.data, 8);
    expect(rawTransfer(nativeTransfer("process_vm_readv"), t.pid, local.address, 1, remote.address, 1025, 0)).toBe(-22);
  });

  test("ESRCH for a pid that has exited", async () => {
    const gone = await Target.start();
    const pid = gone.pid;
    await gone.exit();
    let error: unknown;
    try {
      readv(pid, buf(8), { address: gone.info.data, length: 8 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProcessVmError);
    expect((error as ProcessVmError).code).toBe("ESRCH");
    expect((error as ProcessVmError).message).toContain(`ESRCH: no such process, process_vm_readv (pid ${pid}`);
  });

  test("errno is never stale: a partial count after a failure does not throw", () => {
    expect(() => readv(t.pid, buf(8), { address: t.info.guard + t.info.page, length: 8 })).toThrow(ProcessVmError);
    // errno is still EFAULT in the C library, but this call returns a count and must not report it.
    expect(readv(t.pid, buf(32), { address: t.info.guard + t.info.page - 4, length: 32 })).toBe(4);
    expect(readv(t.pid, buf(8), { address: t.info.data, length: 8 })).toBe(8);
  });

  test("EPERM without CAP_SYS_PTRACE on another uid's process", () => {
    const isRoot = process.getuid?.() === 0;
    const hasSetpriv = spawnSync("setpriv", ["--version"]).status === 0;
    if (!isRoot || !hasSetpriv) {
      console.log(`skipped EPERM check: needs root${hasSetpriv ? "" : " and setpriv (util-linux)"} to start processes as other users`);
      return;
    }
    // A target owned by nobody, and a reader that is root but without CAP_SYS_PTRACE.
    const victim = Bun.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "30"]);
    try {
      Bun.sleepSync(200);
      const reader = spawnSync(
        "setpriv",
        ["--bounding-set=-sys_ptrace", "--inh-caps=-sys_ptrace", process.execPath, new URL("./fixtures/read-once.ts", import.meta.url).pathname, String(victim.pid), "4194304"],
        { encoding: "utf8" },
      );
      const outcome = JSON.parse(reader.stdout.trim());
      expect(outcome.code).toBe("EPERM");
      expect(outcome.message).toContain("CAP_SYS_PTRACE");
      expect(outcome.message).toContain("same uid and gid");
    } finally {
      victim.kill();
    }
  });
});

describe("more than IOV_MAX entries", () => {
  test("2,000 remote ranges through the automatic split equal 2,000 single reads", () => {
    const ranges = Array.from({ length: 2000 }, (_, i) => ({ address: t.info.data + ((i * 37) % (t.info.dataSize - 8)), length: 1 + (i % 8) }));
    const total = ranges.reduce((s, r) => s + r.length, 0);
    const gathered = buf(total);
    expect(readv(t.pid, gathered, ranges)).toBe(total);
    let at = 0;
    for (const range of ranges) {
      const one = buf(range.length);
      expect(readv(t.pid, one, range)).toBe(range.length);
      expect(gathered.subarray(at, at + range.length)).toEqual(one);
      at += range.length;
    }
  });

  test("2,000 local buffers from one remote range", () => {
    const locals = Array.from({ length: 2000 }, () => buf(3));
    expect(readv(t.pid, locals, { address: t.info.data, length: 6000 })).toBe(6000);
    expect(Uint8Array.from(locals.flatMap((l) => [...l]))).toEqual(pattern(0, 6000));
  });

  test("over IOV_MAX empty entries: the kernel still sees the flags", () => {
    const empty = Array.from({ length: 2000 }, () => ({ address: t.info.data, length: 0 }));
    expect(readv(t.pid, buf(0), empty)).toBe(0);
    expect(() => readv(t.pid, buf(0), empty, 1)).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });

  test("the split stops at the first short call, like one unlimited call", () => {
    const ranges = Array.from({ length: 1500 }, (_, i) => ({ address: t.info.data + i, length: 1 }));
    ranges[1200] = { address: t.info.guard + t.info.page, length: 1 }; // unmapped
    expect(readv(t.pid, buf(1500), ranges)).toBe(1200);
  });

  test("2,000 writes through the split, verified from the target", async () => {
    const base = t.info.data + 3 * t.info.page;
    const ranges = Array.from({ length: 2000 }, (_, i) => ({ address: base + (i % 1000) * 2 + Math.floor(i / 1000), length: 1 }));
    const data = Uint8Array.from({ length: 2000 }, (_, i) => (i * 7) & 0xff);
    expect(writev(t.pid, data, ranges)).toBe(2000);
    const seen = await t.read(base, 2000);
    for (let i = 0; i < 2000; i++) expect(seen[(i % 1000) * 2 + Math.floor(i / 1000)]).toBe(data[i]);
  });
});

describe("argument checks happen before any transfer", () => {
  const good = () => ({ address: t.info.data, length: 4 });
  test.each([
    ["a pid of 0", () => readv(0, buf(4), good()), RangeError, /pid/],
    ["a negative pid", () => readv(-5, buf(4), good()), RangeError, /pid/],
    ["a fractional pid", () => readv(1.5, buf(4), good()), RangeError, /pid/],
    ["a pid above 2^31", () => readv(2 ** 31, buf(4), good()), RangeError, /pid/],
    ["a string pid", () => readv("1" as unknown as number, buf(4), good()), TypeError, /pid/],
    ["a negative length", () => readv(t.pid, buf(4), { address: t.info.data, length: -1 }), RangeError, /remote\.length/],
    ["a fractional length", () => readv(t.pid, buf(4), { address: t.info.data, length: 1.5 }), RangeError, /remote\.length/],
    ["an infinite length", () => readv(t.pid, buf(4), { address: t.info.data, length: Infinity }), RangeError, /remote\.length/],
    ["a NaN address", () => readv(t.pid, buf(4), { address: NaN, length: 4 }), RangeError, /remote\.address/],
    ["a negative address", () => readv(t.pid, buf(4), [good(), { address: -8, length: 4 }]), RangeError, /remote\[1\]\.address/],
    ["a fractional address", () => readv(t.pid, buf(4), { address: 4096.5, length: 4 }), RangeError, /remote\.address/],
    ["a number address above 2^53", () => readv(t.pid, buf(4), { address: 2 ** 60, length: 4 }), RangeError, /2\^53/],
    ["a bigint address of 2^64", () => readv(t.pid, buf(4), { address: 1n << 64n, length: 4 }), RangeError, /2\^64/],
    ["a negative bigint address", () => readv(t.pid, buf(4), { address: -1n, length: 4 }), RangeError, /remote\.address/],
    ["a string address", () => readv(t.pid, buf(4), { address: "0x10" as unknown as number, length: 4 }), TypeError, /remote\.address/],
    ["a plain array as local", () => readv(t.pid, [1, 2, 3] as unknown as Uint8Array[], good()), TypeError, /local\[0\]/],
    ["a negative flag", () => readv(t.pid, buf(4), good(), -1), RangeError, /flags/],
    ["a null range", () => readv(t.pid, buf(4), [null as unknown as { address: number; length: number }]), TypeError, /remote\[0\]/],
  ])("%s", (_name, call, type, message) => {
    expect(call).toThrow(type as ErrorConstructor);
    expect(call).toThrow(message as RegExp);
  });

  test("a view whose byteLength or buffer is redefined cannot make the kernel write past its memory", () => {
    const backing = new ArrayBuffer(16);
    const view = new Uint8Array(backing, 0, 8);
    Object.defineProperty(view, "byteLength", { value: 4096 });
    Object.defineProperty(view, "byteOffset", { value: 1 << 20 });
    expect(readv(t.pid, view, { address: t.info.data, length: 4096 })).toBe(8);
    expect([...new Uint8Array(backing)]).toEqual([...pattern(0, 8), 0, 0, 0, 0, 0, 0, 0, 0]);
    class Liar extends Uint8Array {
      override get byteLength() {
        return 1 << 30;
      }
    }
    const liar = new Liar(new ArrayBuffer(4));
    expect(readv(t.pid, liar, { address: t.info.data, length: 64 })).toBe(4);
  });

  test("a local array that answers differently on a second look is read once", () => {
    let reads = 0;
    const big = new Uint8Array(new ArrayBuffer(64));
    const small = new Uint8Array(new ArrayBuffer(2));
    const locals = new Proxy([big], {
      get(target, key, receiver) {
        if (key === "0") return reads++ === 0 ? big : small;
        return Reflect.get(target, key, receiver);
      },
    });
    expect(readv(t.pid, locals, { address: t.info.data, length: 64 })).toBe(64);
    expect(big.subarray(60)).toEqual(pattern(60, 4));
  });

  test("a detached buffer", () => {
    const b = new ArrayBuffer(8);
    const view = new Uint8Array(b);
    b.transfer();
    expect(() => readv(t.pid, view, { address: t.info.data, length: 8 })).toThrow(/detached/);
  });

  test("a bigint address below 2^53 works like the number", () => {
    const a = buf(4);
    expect(readv(t.pid, a, { address: BigInt(t.info.data + 4), length: 4 })).toBe(4);
    expect(a).toEqual(pattern(4, 4));
  });

  test("a bigint address above the user address space reaches the kernel and faults", () => {
    expect(() => readv(t.pid, buf(4), { address: 0xffff_8000_0000_0000n, length: 4 })).toThrow(
      expect.objectContaining({ code: "EFAULT" }),
    );
  });
});

describe("small typed arrays", () => {
  test("a small typed array made without its own ArrayBuffer is filled where JS sees it", () => {
    // Such arrays start in the GC heap; the library materialises their buffer before taking the address.
    for (let i = 0; i < 2000; i++) {
      const small = new Uint8Array(4);
      readv(t.pid, small, { address: t.info.data + (i % 200), length: 4 });
      expect(small).toEqual(pattern(i % 200, 4));
    }
  });

  test("views over a SharedArrayBuffer (as Workers use) are filled at their offset", () => {
    const shared = new Uint8Array(new SharedArrayBuffer(16));
    expect(readv(t.pid, shared.subarray(4, 12), { address: t.info.data + 40, length: 8 })).toBe(8);
    expect([...shared]).toEqual([0, 0, 0, 0, ...pattern(40, 8), 0, 0, 0, 0]);
  });

  test("reading our own memory (the test process itself)", () => {
    const source = new Uint8Array(new ArrayBuffer(16)).map((_, i) => 100 + i);
    const out = buf(16);
    expect(readv(libc.getpid(), out, { address: addressOf(source.buffer), length: 16 })).toBe(16);
    expect(out).toEqual(source);
  });
});

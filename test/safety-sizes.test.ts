/**
 * Sizes that would overflow, and messages that name the bad argument.
 */
import { describe, expect, test } from "bun:test";
import {
  findPattern,
  findPointerPaths,
  freeze,
  nop,
  parseChain,
  parseMaps,
  patch,
  PointerChain,
  PointerChainList,
  Process,
  ProcessVmError,
  resolveAll,
  scan,
  watch,
} from "../src/index.ts";
import { addressOf } from "../src/ffi/libc.ts";
import { resolve } from "../src/trainer/index.ts";
import { runChild } from "./helpers/exits.ts";

const me = Process.self();

describe("watch sizes", () => {
  test("ranges adding up to 2 GiB - 4 KiB or more are refused before anything is allocated or armed", () => {
    const at = 0x10000;
    expect(() => watch(me, [{ address: at, length: 2 ** 31 }])).toThrow(RangeError);
    expect(() => watch(me, [{ address: at, length: 2 ** 31 - 4096 + 1 }])).toThrow(/targets\[0\]: the watched bytes would exceed 2147479552/);
    expect(() =>
      watch(me, [
        { address: at, length: 2 ** 30 },
        { address: at, length: 2 ** 30 },
      ]),
    ).toThrow(/targets\[1\]/);
    expect(() => watch(me, [{ address: at, length: 2 ** 53 }])).toThrow(RangeError);
  });
});

describe("findPattern keeps addresses only", () => {
  test("1,000 wildcards over 1 MiB: every address, in little memory (in a child, to measure its RSS)", async () => {
    const script = `
      import { Process, findPattern } from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).pathname)};
      import { addressOf } from ${JSON.stringify(new URL("../src/ffi/libc.ts", import.meta.url).pathname)};
      const me = Process.self();
      const big = new Uint8Array(new ArrayBuffer(1 << 20)).fill(1);
      const base = addressOf(big.buffer);
      const found = await findPattern(me, Array(1000).fill("??").join(" "), { within: [base, base + big.length], threads: 0 });
      const ok = found.length === (1 << 20) - 999 && found[0] === base && found.at(-1) === base + (1 << 20) - 1000;
      console.log(JSON.stringify({ ok, count: found.length, rssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
      me.close();
    `;
    const run = await runChild(["-e", script], 60_000);
    expect(run.exitedInTime).toBe(true);
    const out = JSON.parse(run.stdout.trim());
    expect(out.ok).toBe(true);
    // Kept bytes would be 1,000 per match: about 1 GB. Addresses alone are 8 MiB.
    expect(out.rssMB).toBeLessThan(400);
  }, 90_000);

  test("a long pattern still finds its matches exactly", async () => {
    const buf = new Uint8Array(new ArrayBuffer(64 * 1024));
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7) & 0xff;
    buf.set([0xca, 0xfe], 40_000);
    buf.set([0xba, 0xbe], 40_000 + 298);
    const base = addressOf(buf.buffer);
    const pattern = ["ca fe", ...Array(296).fill("??"), "ba be"].join(" ");
    expect(await findPattern(me, pattern, { within: [base, base + buf.length], threads: 0 })).toEqual([base + 40_000]);
    expect(buf[40_000]).toBe(0xca); // buf stays alive until here
  });
});

describe("messages name the argument", () => {
  const notProcess = { pid: process.pid, maps: () => [] } as unknown as Process;
  const message = "process must be a Process (got an object); make one with new Process(pid)";

  test("a non-Process where one is expected", async () => {
    const sync: [string, () => unknown][] = [
      ["freeze", () => freeze(notProcess, 0x1000, "i32", 1)],
      ["watch", () => watch(notProcess, [0x1000])],
      ["patch", () => patch(notProcess, 0x1000, [1])],
      ["nop", () => nop(notProcess, 0x1000, 1)],
      ["resolve", () => resolve(notProcess, "0x1000 -> 0x8")],
      ["resolveAll", () => resolveAll(notProcess, ["0x1000"])],
      ["PointerChain", () => new PointerChain(notProcess, "0x1000")],
      ["PointerChainList", () => new PointerChainList(notProcess, ["0x1000"])],
    ];
    for (const [name, call] of sync) expect({ name, thrown: thrownMessage(call) }).toEqual({ name, thrown: message });
    const async: [string, () => Promise<unknown>][] = [
      ["scan", () => scan(notProcess, "i32", 1)],
      ["findPattern", () => findPattern(notProcess, "90")],
      ["findPointerPaths", () => findPointerPaths(notProcess, 0x1000)],
    ];
    for (const [name, call] of async) {
      let thrown: unknown;
      try {
        await call();
      } catch (error) {
        thrown = error;
      }
      expect({ name, thrown: (thrown as Error).message }).toEqual({ name, thrown: message });
      expect(thrown).toBeInstanceOf(TypeError);
    }
    expect(thrownMessage(() => freeze(5 as never, 0x1000, "i32", 1))).toBe("process must be a Process (got 5); make one with new Process(pid)");
  });

  test("non-strings to the parsers, and Symbols anywhere, are TypeErrors that say what they got", () => {
    expect(thrownMessage(() => parseChain(5 as never))).toBe("chain must be a string (got 5)");
    expect(thrownMessage(() => parseChain(Symbol("c") as never))).toBe("chain must be a string (got Symbol(c))");
    expect(thrownMessage(() => parseMaps(null as never))).toBe("text must be the string of a /proc/PID/maps file (got null)");
    expect(thrownMessage(() => freeze(me, Symbol("a") as never, "i32", 1))).toBe("address must be a number, a bigint or a pointer chain (got Symbol(a))");
    expect(thrownMessage(() => freeze(me, 0x1000, Symbol("t") as never, 1))).toBe("unknown value type Symbol(t)");
    expect(thrownMessage(() => watch(me, [Symbol("w")] as never))).toBe("targets[0] must be an address, a pointer chain, { address, type } or { address, length } (got Symbol(w))");
    expect(thrownMessage(() => watch(me, [{ address: Symbol("w"), length: 4 }] as never))).toBe("targets[0].address must be a number, a bigint or a pointer chain (got Symbol(w))");
    expect(thrownMessage(() => nop(me, 0x1000, Symbol("n") as never))).toBe("length must be a number (got Symbol(n))");
    expect(thrownMessage(() => patch(me, 0x1000, [Symbol("b")] as never))).toBe("bytes[0] must be a byte (got Symbol(b))");
  });

  test("nop with null options uses this machine's no-op", () => {
    const code = new Uint8Array(new ArrayBuffer(8)).fill(0xcc);
    const p = nop(me, addressOf(code.buffer), process.arch === "arm64" ? 4 : 3, null as never);
    expect(code[0]).toBe(process.arch === "arm64" ? 0x1f : 0x90);
    expect(p.restore()).toBe(true);
    expect([...code]).toEqual(new Array(8).fill(0xcc));
    expect(thrownMessage(() => nop(me, addressOf(code.buffer), 4, { arch: "mips" as never }))).toBe('options.arch must be "x64" or "arm64" (got "mips")');
  });

  test("an error without a length does not claim one", () => {
    const e = new ProcessVmError({ errno: 3, syscall: "process_vm_readv", pid: 42, address: 0x7f0000 });
    expect(e.message).toBe("ESRCH: no such process, process_vm_readv (pid 42, 0x7f0000). The process does not exist or has exited.");
  });
});

function thrownMessage(call: () => unknown): string | undefined {
  try {
    call();
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

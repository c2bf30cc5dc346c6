/**
 * Never hand the kernel an address that is not ours any more: arenas that a
 * caller cannot detach, views measured after every piece of the caller's code
 * ran, and accessors that name a bad argument.
 */
import { describe, expect, test } from "bun:test";
import { Process, readv, RemoteReader, RemoteWriter } from "../src/index.ts";
import { addressOf } from "../src/ffi/libc.ts";

const PID = process.pid;

/** Every way a caller could try to detach an ArrayBuffer-like; each throws or is absent for the arena. */
function tryDetach(buffer: ArrayBufferLike): string[] {
  const refused: string[] = [];
  const b = buffer as { transfer?: (n?: number) => unknown; transferToFixedLength?: () => unknown };
  if (typeof b.transfer !== "function") refused.push("transfer");
  else {
    try {
      b.transfer(0);
    } catch {
      refused.push("transfer");
    }
  }
  if (typeof b.transferToFixedLength !== "function") refused.push("transferToFixedLength");
  try {
    structuredClone(buffer, { transfer: [buffer as ArrayBuffer] });
  } catch {
    refused.push("structuredClone");
  }
  const channel = new MessageChannel();
  try {
    channel.port1.postMessage(buffer, [buffer as ArrayBuffer]);
  } catch {
    refused.push("postMessage");
  } finally {
    channel.port1.close();
    channel.port2.close();
  }
  return refused;
}

describe("arenas cannot be detached", () => {
  test("RemoteReader: the kernel writes into the reader's own arena, never into memory freed by a caller", () => {
    const src = new Uint8Array(new ArrayBuffer(65536)).fill(0x41);
    const rr = new RemoteReader(PID, [{ address: addressOf(src.buffer), length: 65536 }]);
    expect(tryDetach(rr.buffer)).toEqual(["transfer", "transferToFixedLength", "structuredClone", "postMessage"]);
    expect(tryDetach(rr.views[0]!.buffer)).toHaveLength(4);
    expect(tryDetach(rr.data.buffer)).toHaveLength(4);
    expect(rr.buffer.byteLength).toBeGreaterThanOrEqual(65536);
    Bun.gc(true);
    const victim = new Uint8Array(new ArrayBuffer(65536));
    rr.read();
    expect(rr.completed[0]).toBe(1);
    expect(rr.views[0]!.byteLength).toBe(65536);
    expect(rr.views[0]!.every((b) => b === 0x41)).toBe(true);
    expect(victim.every((b) => b === 0)).toBe(true);
    // The arena keeps one native address for its whole life.
    expect(addressOf(rr.buffer)).toBe(addressOf(rr.buffer));
    expect(src[65535]).toBe(0x41); // src stays alive (and unchanged) until here
  });

  test("RemoteWriter: what it sends is its own arena's bytes", () => {
    const dst = new Uint8Array(new ArrayBuffer(4096));
    const writer = new RemoteWriter(PID, [{ address: addressOf(dst.buffer), length: 4096 }]);
    expect(tryDetach(writer.buffer)).toHaveLength(4);
    writer.views[0]!.fill(0x5a);
    const other = new Uint8Array(new ArrayBuffer(4096)).fill(0x77);
    expect(writer.write()).toBe(1);
    expect(dst.every((b) => b === 0x5a)).toBe(true);
    expect(other[0]).toBe(0x77);
    expect(dst.byteLength).toBe(4096);
  });

  test("a reader's views of every range share the one arena, which stays valid after many collections", () => {
    const words = new Uint32Array(new ArrayBuffer(64)).map((_, i) => i * 3);
    const base = addressOf(words.buffer);
    const rr = new RemoteReader(PID, [
      { address: base, length: 4 },
      { address: base + 32, length: 8 },
    ]);
    for (let i = 0; i < 5; i++) {
      Bun.gc(true);
      rr.read();
    }
    expect(rr.u32(0)).toBe(0);
    expect(rr.u32(1)).toBe(24);
    expect(rr.u32(1, 4)).toBe(27);
    expect(words[0]).toBe(0); // words stays alive until here
  });
});

describe("readv measures local views after the caller's code ran", () => {
  test("a resizable buffer shrunk by a remote range's getter gets nothing written past its length", () => {
    const src = new Uint8Array(new ArrayBuffer(65536)).fill(0x41);
    const rab = new ArrayBuffer(65536, { maxByteLength: 65536 });
    const local = new Uint8Array(rab); // length-tracking
    const remote = {
      get address() {
        rab.resize(16);
        return addressOf(src.buffer);
      },
      length: 65536,
    };
    const n = readv(PID, local, remote);
    expect(n).toBe(16);
    expect(local.byteLength).toBe(16);
    expect([...local]).toEqual(new Array(16).fill(0x41));
    expect(src[0]).toBe(0x41); // src stays alive until here
  });

  test("a local list whose element getter shrinks an earlier buffer", () => {
    const src = new Uint8Array(new ArrayBuffer(8192)).fill(0x42);
    const rab = new ArrayBuffer(4096, { maxByteLength: 4096 });
    const first = new Uint8Array(rab);
    const second = new Uint8Array(new ArrayBuffer(8));
    const list: Uint8Array[] = [first];
    Object.defineProperty(list, 1, {
      get() {
        rab.resize(8);
        return second;
      },
      enumerable: true,
    });
    const n = readv(PID, list, { address: addressOf(src.buffer), length: 8192 });
    expect(n).toBe(16);
    expect([...first]).toEqual(new Array(8).fill(0x42));
    expect([...second]).toEqual(new Array(8).fill(0x42));
    expect(src[0]).toBe(0x42);
  });

  test("Process.write reads its options before measuring the data", () => {
    const me = Process.self();
    const dst = new Uint8Array(new ArrayBuffer(64));
    const rab = new ArrayBuffer(64, { maxByteLength: 64 });
    new Uint8Array(rab).fill(9);
    const options = {
      get force() {
        rab.resize(4);
        return false;
      },
    };
    me.write(addressOf(dst.buffer), new Uint8Array(rab), options);
    expect([...dst.subarray(0, 5)]).toEqual([9, 9, 9, 9, 0]);
    me.close();
  });
});

describe("accessors name the bad argument", () => {
  const words = new Uint8Array(new ArrayBuffer(16));
  const rr = new RemoteReader(PID, [{ address: addressOf(words.buffer), length: 16 }]);
  rr.read();

  test("bigint offsets and indices are TypeErrors that say which", () => {
    expect(() => rr.u32(0, 1n as unknown as number)).toThrow(new TypeError("offset must be a number (got 1n)"));
    expect(() => rr.u8(0n as unknown as number)).toThrow(new TypeError("range index must be a number (got 0n)"));
    expect(() => rr.offsetOf(Symbol("x") as unknown as number)).toThrow(new TypeError("range index must be a number (got Symbol(x))"));
    expect(() => rr.f64(3)).toThrow(new RangeError("range index 3 is not one of the 1 ranges"));
    expect(() => rr.i64(0, 9)).toThrow(new RangeError("offset 9 + 8 bytes is outside range 0 (16 bytes)"));
  });

  test("bad ranges and options name themselves, Symbols included", () => {
    expect(() => new RemoteReader(PID, Symbol("r") as never)).toThrow("ranges must be an array of { address, length } (got Symbol(r))");
    expect(() => new RemoteReader(PID, [Symbol("r")] as never)).toThrow("ranges[0] must be an object { address, length } (got Symbol(r))");
    expect(() => new RemoteReader(PID, [], { coalesce: Symbol("c") as never })).toThrow("options.coalesce must be a number (got Symbol(c))");
    expect(() => readv(PID, new Uint8Array(1), [Symbol("s")] as never)).toThrow("remote[0] must be an object { address, length } (got Symbol(s))");
    expect(() => readv(Symbol("p") as never, new Uint8Array(1), [])).toThrow("pid must be a number (got Symbol(p))");
  });
});

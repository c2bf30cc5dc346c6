import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Process } from "../src/process.ts";
import {
  formatChain,
  parseChain,
  PointerChain,
  PointerChainError,
  PointerChainList,
  resetTrainerStats,
  resolve,
  resolveAll,
  trainerStats,
} from "../src/trainer/index.ts";
import { Target } from "./helpers/target.ts";

const GRAPH = new URL("./fixtures/graph.ts", import.meta.url).pathname;

export interface GraphInfo {
  pid: number;
  modulePath: string;
  moduleBase: number;
  bss: number;
  arena: number;
  game: number;
  player: number;
  stats: number;
  health: number;
  list: number;
  entities: number[];
  dangling: number;
}

let t: Target;
let g: GraphInfo;
let proc: Process;

beforeAll(async () => {
  t = await Target.start([], GRAPH);
  g = t.info as unknown as GraphInfo;
  proc = new Process(t.pid);
});
afterAll(() => t.kill());

describe("parseChain / formatChain", () => {
  test("arrow form", () => {
    expect(parseChain("libgame.so+0x1a2b0 -> 0x10 -> 0x8")).toEqual({ base: { module: "libgame.so", offset: 0x1a2b0 }, offsets: [0x10, 0x8] });
    expect(parseChain("libstdc++.so.6 + 0x10 -> -0x8 -> 16")).toEqual({ base: { module: "libstdc++.so.6", offset: 0x10 }, offsets: [-8, 16] });
    expect(parseChain("0x7f0000001000 -> 0x10")).toEqual({ base: 0x7f0000001000, offsets: [0x10] });
    expect(parseChain("libgame.so")).toEqual({ base: { module: "libgame.so", offset: 0 }, offsets: [] });
  });
  test("Cheat Engine bracket form", () => {
    expect(parseChain("[[libgame.so+1a2b0]+10]+8")).toEqual({ base: { module: "libgame.so", offset: 0x1a2b0 }, offsets: [0x10, 0x8] });
    expect(parseChain("[[7f0000001000]]")).toEqual({ base: 0x7f0000001000, offsets: [0, 0] });
  });
  test("bad chains are SyntaxErrors", () => {
    expect(() => parseChain("libgame.so+0x10 -> zz")).toThrow(SyntaxError);
    expect(() => parseChain("libgame.so+1a -> 0x8")).toThrow(SyntaxError); // hex without 0x in arrow form
    expect(() => parseChain("[[libgame.so+10]+8")).toThrow(SyntaxError);
  });
  test("format round-trips", () => {
    const s = "libgame.so+0x1a2b0 -> 0x10 -> -0x8";
    expect(formatChain(parseChain(s))).toBe(s);
    expect(formatChain("[[libgame.so+1a2b0]+10]+8")).toBe("libgame.so+0x1a2b0 -> 0x10 -> 0x8");
  });
});

describe("resolve", () => {
  test("follows the planted chain in all forms", () => {
    expect(resolve(proc, "libgame.so+0x100 -> 0x18 -> 0x20 -> 0x30")).toBe(g.health);
    expect(resolve(proc, "[[[libgame.so+100]+18]+20]+30")).toBe(g.health);
    expect(resolve(proc, { base: { module: "libgame.so", offset: 0x100 }, offsets: [0x18, 0x20, 0x30] })).toBe(g.health);
    expect(resolve(proc, { base: BigInt(g.game + 0x18), offsets: [0x20, 0x30] })).toBe(g.health);
    expect(resolve(proc, { base: g.health, offsets: [] })).toBe(g.health);
    // through .bss (the anonymous page after the module file)
    expect(resolve(proc, { base: { module: "libgame.so", offset: g.bss - g.moduleBase + 0x40 }, offsets: [0x20, 0x30] })).toBe(g.health);
    expect(proc.readI32(resolve(proc, "libgame.so+0x800 -> 0x18 -> 0x10 -> 0x40"))).toBe(30);
  });

  test("a null link is explained", () => {
    let error: unknown;
    try {
      resolve(proc, "libgame.so+0x200 -> 0x8 -> 0x10");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PointerChainError);
    const e = error as PointerChainError;
    expect(e.reason).toBe("null");
    expect(e.step).toBe(1);
    const holder = proc.readPointer(g.moduleBase + 0x200);
    expect(e.address).toBe(holder + 0x8);
    expect(e.message).toContain(`null pointer at 0x${(holder + 8).toString(16)}`);
  });

  test("an unmapped link is explained", () => {
    const e = (() => {
      try {
        resolve(proc, "libgame.so+0x300 -> 0x10 -> 0x8");
      } catch (e) {
        return e as PointerChainError;
      }
    })();
    expect(e).toBeInstanceOf(PointerChainError);
    expect(e!.reason).toBe("unmapped");
    expect(e!.step).toBe(1);
    expect(e!.address).toBe(g.dangling + 0x10);
    expect(e!.message).toContain("EFAULT");
  });

  test("a missing module is explained", () => {
    expect(() => resolve(proc, "libnothere.so+0x10 -> 0x8")).toThrow(/module "libnothere.so" is not mapped/);
    const chain = new PointerChain(proc, "libnothere.so+0x10 -> 0x8");
    expect(chain.tryResolve()).toBeNull();
    const e = chain.error()!;
    expect(e.reason).toBe("module");
    expect(e.address).toBe(0); // never NaN
    expect(e.message).not.toContain("NaN");
  });

  test("a gone process throws ProcessVmError ESRCH, not a chain error", async () => {
    const other = await Target.start([], GRAPH);
    const p = new Process(other.pid);
    const chain = new PointerChain(p, "libgame.so+0x100 -> 0x18 -> 0x20 -> 0x30");
    expect(chain.resolve()).toBe((other.info as unknown as GraphInfo).health);
    await other.exit();
    expect(() => chain.tryResolve()).toThrow(expect.objectContaining({ code: "ESRCH" }));
  });
});

describe("PointerChain", () => {
  test("re-resolves after the game reallocates, one read per link", async () => {
    const chain = new PointerChain(proc, "libgame.so+0x100 -> 0x18 -> 0x20 -> 0x30");
    expect(chain.depth).toBe(3);
    expect(chain.resolve()).toBe(g.health);
    const before = g.health;
    g = (await t.cmd("rebuild")) as unknown as GraphInfo;
    expect(g.health).not.toBe(before);
    resetTrainerStats();
    expect(chain.tryResolve()).toBe(g.health);
    expect(trainerStats.readCalls).toBe(3);
    expect(chain.address).toBe(g.health);
    expect(chain.error()).toBeNull();
  });

  test("tryResolve returns null and error() explains", () => {
    const chain = new PointerChain(proc, "libgame.so+0x200 -> 0x8 -> 0x10");
    expect(chain.tryResolve()).toBeNull();
    expect(chain.error()?.reason).toBe("null");
  });
});

describe("resolveAll", () => {
  const chains = Array.from({ length: 64 }, (_, i) => `libgame.so+0x800 -> ${i * 8} -> 0x10 -> 0x40`);

  test("resolves every chain, null where a link failed, in one batched read per level", () => {
    resetTrainerStats();
    const { addresses, errors } = resolveAll(proc, chains);
    expect(trainerStats.readCalls).toBe(3);
    for (let i = 0; i < 64; i++) {
      if (i % 10 === 9) {
        expect(addresses[i]).toBeNull();
        expect(errors[i]?.reason).toBe("null");
        expect(errors[i]?.step).toBe(1);
        expect(errors[i]?.address).toBe(g.list + i * 8);
      } else {
        expect(errors[i]).toBeNull();
        expect(proc.readI32(addresses[i]!)).toBe(i * 10);
      }
    }
  });

  test("mixed depths, failures and a missing module", () => {
    resetTrainerStats();
    const { addresses, errors } = resolveAll(proc, [
      "libgame.so+0x300 -> 0x0 -> 0x8", // dangling at step 1
      "libgame.so+0x100 -> 0x18 -> 0x20 -> 0x30",
      "libnothere.so -> 0x0",
      { base: g.health, offsets: [] },
      "libgame.so+0x800 -> 0x0 -> 0x10 -> 0x40",
    ]);
    expect(addresses).toEqual([null, g.health, null, g.health, expect.any(Number)]);
    expect(errors[0]?.reason).toBe("unmapped");
    expect(errors[0]?.address).toBe(g.dangling);
    expect(errors[2]?.reason).toBe("module");
    expect(errors[2]?.address).toBe(0);
    expect(proc.readI32(addresses[4]!)).toBe(0);
    // 3 levels, plus one call to step over the dangling entry in level 1
    expect(trainerStats.readCalls).toBe(4);
  });

  test("dangling links in the middle of a batch: the batch goes on after each, one extra call apiece", () => {
    const mixed = Array.from({ length: 100 }, (_, i) => (i % 7 === 3 ? "libgame.so+0x300 -> 0x0 -> 0x8" : chains[i % 64]!));
    const dangling = mixed.filter((c) => c.startsWith("libgame.so+0x300")).length;
    expect(dangling).toBe(14);
    resetTrainerStats();
    const { addresses, errors } = resolveAll(proc, mixed);
    // level 0: one call; level 1: one call, plus one after each failing entry; level 2: one call
    expect(trainerStats.readCalls).toBe(1 + (dangling + 1) + 1);
    for (let i = 0; i < 100; i++) {
      if (i % 7 === 3) {
        expect(errors[i]?.reason).toBe("unmapped");
        expect(errors[i]?.step).toBe(1);
        expect(errors[i]?.address).toBe(g.dangling);
      } else if (i % 64 % 10 === 9) {
        expect(errors[i]?.reason).toBe("null");
      } else {
        expect(proc.readI32(addresses[i]!)).toBe((i % 64) * 10);
      }
    }
  });

  test("more chains than IOV_MAX: split into calls of 1024, same results", () => {
    const many = Array.from({ length: 3000 }, (_, i) => chains[i % 64]!);
    const list = new PointerChainList(proc, many);
    resetTrainerStats();
    const out = list.resolve();
    // level 0: 3000 entries -> 3 calls; level 1: 3000 reads of which 1 in 10 null pointers are not read; level 2 likewise
    expect(trainerStats.readCalls).toBe(9);
    for (let i = 0; i < many.length; i++) {
      if (i % 64 % 10 === 9) expect(out[i]).toBeNaN();
      else expect(proc.readI32(out[i]!)).toBe((i % 64) * 10);
    }
    // re-resolve allocates nothing and returns the same array
    expect(list.resolve()).toBe(out);
  });
});

/**
 * Type tests, checked by `tsc` (the `typecheck` step of `npm test`), never run:
 * what scans, freezes and watches say they return. Each `@ts-expect-error`
 * line must be an error, and each `exact<A, B>()` must see two identical types.
 */
import { Process, scan, type FreezeHandle, type Scan, type ScanMatch, type ScanValueType, type WatchChange } from "../src/index.ts";
import type { PointerChainError, PointerPath, ScanValueOf, ValueInput, ValueOf } from "../src/index.ts";

/** `true` only when `A` and `B` are the same type. */
type Same<A, B> = (<X>() => X extends A ? 1 : 2) extends (<X>() => X extends B ? 1 : 2) ? true : false;
/** Compiles only when `A` and `B` are the same type. */
function exact<A, B>(..._: Same<A, B> extends true ? [] : [never]): void {}

declare const proc: Process;
declare const address: number;

export async function scans(): Promise<void> {
  const i32 = await proc.scan("i32", 100);
  exact<typeof i32, Scan<"i32">>();
  for (const m of i32) {
    exact<typeof m.value, number>();
    exact<typeof m.previous, number | undefined>();
    exact<typeof m.type, "i32">();
    const doubled: number = m.value * 2;
    // @ts-expect-error an i32 value is a number, not a bigint
    const big: bigint = m.value;
    void doubled, big;
  }
  for (const m of await scan(proc, "u8", 1)) exact<typeof m.value, number>();
  for (const m of await proc.scan("f32", 1.5)) exact<typeof m.value, number>();
  for (const m of await proc.scan("f64", "1..2")) exact<typeof m.value, number>();
  for (const m of await proc.scan("i64", 5n)) {
    exact<typeof m.value, bigint>();
    const shifted: bigint = m.value << 1n;
    // @ts-expect-error an i64 value is a bigint, not a number
    const n: number = m.value;
    void shifted, n;
  }
  for (const m of await proc.scan("u64", 5n)) exact<typeof m.value, bigint>();
  for (const m of await proc.scan("string", "Player")) {
    exact<typeof m.value, string>();
    exact<typeof m.type, "string">();
    const upper: string = m.value.toUpperCase();
    void upper;
  }
  for (const m of await proc.scan("bytes", "48 8b ?? 05")) {
    exact<typeof m.value, Uint8Array>();
    exact<typeof m.previous, Uint8Array | undefined>();
    // @ts-expect-error a bytes value is a Uint8Array, not a string
    m.value.toUpperCase();
  }
  for (const m of await proc.scan("int", 7)) {
    exact<typeof m.value, number | bigint>();
    exact<typeof m.type, "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "i64" | "u64">();
  }
  // Either-sign types: read both ways at one width.
  for (const m of await proc.scan("int8", -1)) {
    exact<typeof m.value, number>();
    exact<typeof m.type, "i8" | "u8">();
  }
  for (const m of await proc.scan("int16", 300)) exact<typeof m.type, "i16" | "u16">();
  for (const m of await proc.scan("int32", -5, { endian: "big" })) exact<typeof m.value, number>();
  for (const m of await proc.scan("int64", 5n)) {
    exact<typeof m.value, bigint>();
    exact<typeof m.type, "i64" | "u64">();
  }
  for (const m of await proc.scan("u16", 7, { endian: "big" })) exact<typeof m.value, number>();
  // A type known only at run time gives every possibility, as before.
  const type = "i32" as ScanValueType;
  for (const m of await proc.scan(type, 1)) exact<typeof m.value, number | bigint | Uint8Array | string>();
  exact<ScanMatch, ScanMatch<ScanValueType>>();
  // next() keeps the type.
  const narrowed = await i32.next("decreased");
  exact<typeof narrowed, Scan<"i32">>();
  // @ts-expect-error no such scan type
  await proc.scan("i33", 1);
  exact<ScanValueOf<"u16" | "string">, number | string>();
}

export function freezes(): void {
  const hp = proc.freeze(address, "i32", 999);
  exact<typeof hp, FreezeHandle<"i32">>();
  exact<typeof hp.value, number>();
  hp.set(5);
  // @ts-expect-error an i32 freeze takes a number
  hp.set(5n);
  // @ts-expect-error an i32 freeze takes a number
  proc.freeze(address, "i32", 5n);
  const be = proc.freeze(address, "f32", 1.5, { endian: "big", intervalMs: 50 });
  exact<typeof be.value, number>();
  const big = proc.freeze(address, "u64", 1n << 40n);
  exact<typeof big.value, bigint>();
  big.set(7); // a safe integer is converted
  big.set(7n);
  exact<ValueOf<"f32">, number>();
  exact<ValueInput<"i64">, bigint | number>();
  // @ts-expect-error the value must be given
  proc.freeze(address, "f32");
}

export async function watches(): Promise<void> {
  // Plain addresses are read as options.type, "i32" by default.
  for await (const c of proc.watch([address])) {
    exact<typeof c.new, number | null>();
    exact<typeof c.old, number | null>();
  }
  for await (const c of proc.watch([address, address + 8], { type: "u64", intervalMs: 10 })) exact<typeof c.new, bigint | null>();
  // A list written in place: the index says which target changed.
  const w = proc.watch([address, { address, type: "f64" }, { address, length: 16 }, { address, type: "i64" }]);
  for await (const c of w) {
    exact<typeof c.new, number | Uint8Array | bigint | null>();
    if (c.index === 1) exact<typeof c.new, number | null>();
    if (c.index === 2) exact<typeof c.new, Uint8Array | null>();
    if (c.index === 3) {
      exact<typeof c.old, bigint | null>();
      // @ts-expect-error target 3 is an i64: its values are bigints
      const n: number | null = c.new;
      void n;
    }
  }
  // Chains: read as options.type, or as their own type; a broken one is null with an error.
  for await (const c of proc.watch(["libgame.so+0x1a2b0 -> 0x10", { address: "libgame.so+0x1a2b0 -> 0x18", type: "u64" }, { address: "game+0x10 -> 0x0", length: 8 }])) {
    if (c.index === 0) exact<typeof c.new, number | null>();
    if (c.index === 1) exact<typeof c.new, bigint | null>();
    if (c.index === 2) exact<typeof c.new, Uint8Array | null>();
    exact<typeof c.error, PointerChainError | null>();
  }
  const chained = proc.freeze("libgame.so+0x1a2b0 -> 0x10 -> 0x8", "i16", 30);
  exact<typeof chained.value, number>();
  // A list built at run time: each change may be any of its targets' types.
  const targets = [{ address, type: "u8" as const }];
  for await (const c of proc.watch(targets)) exact<typeof c.new, number | null>();
  proc.watch([address], {
    type: "i16",
    onChange: (c) => {
      exact<typeof c.new, number | null>();
      exact<typeof c, WatchChange<number, 0>>();
    },
  });
  // @ts-expect-error no such value type
  proc.watch([address], { type: "i33" });
}

export async function pointerPaths(): Promise<void> {
  const paths = await proc.findPointerPaths(address);
  exact<typeof paths.length, number>();
  const first = paths[0];
  exact<typeof first, PointerPath | undefined>(); // noUncheckedIndexedAccess, as for arrays
  // @ts-expect-error read-only, like the paths
  paths[0] = paths[1]!;
}

/**
 * What a scan of each type really yields matches the types it declares
 * (ScanValueOf, ScanMatchType): the table below is checked against those
 * types by tsc, and against the matches of real scans of this process here.
 */
import { expect, test } from "bun:test";
import { addressOfView } from "../src/ffi/libc.ts";
import { Process, type ScanMatchType, type ScanValueOf, type ScanValueType } from "../src/index.ts";

/** The `typeof` of a value (`"Uint8Array"` for bytes). */
type Kind<V> = V extends number ? "number" : V extends bigint ? "bigint" : V extends string ? "string" : V extends Uint8Array ? "Uint8Array" : never;

/** Per scan type: the kinds of value and the match types it may yield, as its declared types say. */
const DECLARED: { [T in ScanValueType]: { kinds: readonly Kind<ScanValueOf<T>>[]; types: readonly ScanMatchType<T>[] } } = {
  i8: { kinds: ["number"], types: ["i8"] },
  u8: { kinds: ["number"], types: ["u8"] },
  i16: { kinds: ["number"], types: ["i16"] },
  u16: { kinds: ["number"], types: ["u16"] },
  i32: { kinds: ["number"], types: ["i32"] },
  u32: { kinds: ["number"], types: ["u32"] },
  i64: { kinds: ["bigint"], types: ["i64"] },
  u64: { kinds: ["bigint"], types: ["u64"] },
  f32: { kinds: ["number"], types: ["f32"] },
  f64: { kinds: ["number"], types: ["f64"] },
  int: { kinds: ["number", "bigint"], types: ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64"] },
  int8: { kinds: ["number"], types: ["i8", "u8"] },
  int16: { kinds: ["number"], types: ["i16", "u16"] },
  int32: { kinds: ["number"], types: ["i32", "u32"] },
  int64: { kinds: ["bigint"], types: ["i64", "u64"] },
  bytes: { kinds: ["Uint8Array"], types: ["bytes"] },
  string: { kinds: ["string"], types: ["string"] },
};

function kindOf(value: unknown): string {
  return value instanceof Uint8Array ? "Uint8Array" : typeof value;
}

test("every scan type yields the kind of value and the match type it declares", async () => {
  // One buffer of this process: 5 at every integer width, 5 as f32 and f64, some text.
  const buffer = new ArrayBuffer(256);
  const view = new DataView(buffer);
  view.setInt8(1, 5);
  view.setInt16(2, 5, true);
  view.setInt32(4, 5, true);
  view.setBigInt64(8, 5n, true);
  view.setFloat32(16, 5, true);
  view.setFloat64(24, 5, true);
  new Uint8Array(buffer, 64).set(new TextEncoder().encode("typed-match"));
  const start = addressOfView(new Uint8Array(buffer));
  const within: [number, number] = [start, start + buffer.byteLength];
  const me = Process.self();
  const queries: { [T in ScanValueType]: Parameters<typeof me.scan<T>>[1] } = {
    i8: 5, u8: 5, i16: 5, u16: 5, i32: 5, u32: 5, i64: 5n, u64: 5n, f32: 5, f64: 5,
    int: 5, int8: 5, int16: 5, int32: 5, int64: 5n, bytes: "74 79 ?? 65 64", string: "typed-match",
  };
  for (const type of Object.keys(DECLARED) as ScanValueType[]) {
    const matches = [...(await me.scan(type, queries[type], { within, threads: 0 }))];
    expect({ type, found: matches.length > 0 }).toEqual({ type, found: true });
    const declared = DECLARED[type] as { kinds: readonly string[]; types: readonly string[] };
    for (const m of matches) {
      expect({ type, kind: declared.kinds.includes(kindOf(m.value)), matchType: declared.types.includes(m.type) }).toEqual({ type, kind: true, matchType: true });
    }
    if (type === "int") expect(new Set(matches.map((m) => kindOf(m.value)))).toEqual(new Set(["number", "bigint"]));
  }
  void buffer; // scanned above: kept alive until here
});

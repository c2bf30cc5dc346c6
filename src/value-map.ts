/**
 * Type-level maps from the names of value types to the JavaScript types of
 * their values, so that a scan, a freeze or a watch says what comes back:
 * `scan("i32", …)` yields `number`s, `scan("u64", …)` `bigint`s,
 * `scan("string", …)` strings. Declarations only: nothing here exists at run time.
 *
 * @module
 */
import type { ScanValueType } from "./scan/query.ts";
import type { Value, ValueType } from "./types.ts";

/**
 * The JavaScript type of each {@link ValueType}'s values: 64-bit integers are
 * `bigint`s, every other type a `number`.
 *
 * @example
 * ```ts
 * const hp: ValueTypeMap["i32"] = proc.readI32(address); // number
 * ```
 */
export interface ValueTypeMap {
  i8: number;
  u8: number;
  i16: number;
  u16: number;
  i32: number;
  u32: number;
  i64: bigint;
  u64: bigint;
  f32: number;
  f64: number;
}

/**
 * The JavaScript type of the values of each {@link ScanValueType}: the numeric
 * types as in {@link ValueTypeMap}, `"int"` a `number` or a `bigint` (the
 * width that matched decides), `"int8"` … `"int32"` a `number`, `"int64"` a
 * `bigint`, `"bytes"` a `Uint8Array`, `"string"` a `string`.
 *
 * @example
 * ```ts
 * const text: ScanValueTypeMap["string"] = "Player"; // string
 * ```
 */
export interface ScanValueTypeMap extends ValueTypeMap {
  int: Value;
  int8: number;
  int16: number;
  int32: number;
  int64: bigint;
  bytes: Uint8Array;
  string: string;
}

/**
 * The types a match of each either-sign scan type is read as (its `type`):
 * the signed or the unsigned integer of the width, any width for `"int"`.
 *
 * @example
 * ```ts
 * const read: ScanMatchTypeMap["int16"] = "u16"; // "i16" | "u16"
 * ```
 */
export interface ScanMatchTypeMap {
  int: "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "i64" | "u64";
  int8: "i8" | "u8";
  int16: "i16" | "u16";
  int32: "i32" | "u32";
  int64: "i64" | "u64";
}

/**
 * The value of a {@link ValueType} `T` as read: `ValueOf<"i32">` is `number`,
 * `ValueOf<"u64">` is `bigint`, and a union of types gives the union of their values.
 *
 * @example
 * ```ts
 * function read<T extends ValueType>(type: T): ValueOf<T> { … }
 * const n: number = read("f32");
 * ```
 */
export type ValueOf<T extends ValueType> = T extends keyof ValueTypeMap ? ValueTypeMap[T] : Value;

/**
 * What a value of type `T` may be given as: its {@link ValueOf}, and for the
 * 64-bit integers also a safe-integer `number` (converted to a `bigint`).
 *
 * @example
 * ```ts
 * const a: ValueInput<"i64"> = 5;   // or 5n
 * const b: ValueInput<"i32"> = 5;   // a bigint is refused
 * ```
 */
export type ValueInput<T extends ValueType> = [T] extends [never]
  ? Value
  : T extends ValueType
    ? ValueOf<T> extends bigint
      ? bigint | number
      : ValueOf<T>
    : never;

/**
 * The value of a match of a scan for `T`: `ScanValueOf<"i32">` is `number`,
 * `ScanValueOf<"i64">` `bigint`, `ScanValueOf<"bytes">` `Uint8Array`,
 * `ScanValueOf<"string">` `string`.
 *
 * @example
 * ```ts
 * const s = await proc.scan("f64", 1.5);
 * for (const m of s) { const v: ScanValueOf<"f64"> = m.value; }
 * ```
 */
export type ScanValueOf<T extends ScanValueType> = T extends keyof ScanValueTypeMap
  ? ScanValueTypeMap[T]
  : T extends ValueType
    ? ValueOf<T>
    : Value | Uint8Array | string;

/**
 * The `type` of a match of a scan for `T`: `T` itself, except that the
 * either-sign types (`"int"`, `"int8"` … `"int64"`) report the integer type
 * the value was read as (see {@link ScanMatchTypeMap}).
 *
 * @example
 * ```ts
 * for (const m of await proc.scan("int", 7)) m.type; // "u8" | "i8" | … | "u64"
 * ```
 */
export type ScanMatchType<T extends ScanValueType> = T extends keyof ScanMatchTypeMap ? ScanMatchTypeMap[T] : T;

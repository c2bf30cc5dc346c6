/**
 * Numeric value types shared by the scanner and the trainer: names, sizes and
 * DataView codecs (little-endian unless told otherwise).
 *
 * @module
 */
import { describe } from "./validate.ts";

/** A fixed-width numeric type, named as in Rust and Frida's `readS32`/`readU64` family. */
export type ValueType = "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "i64" | "u64" | "f32" | "f64";

/**
 * Byte order of a value in the target's memory: `"little"` (the default: x86-64
 * and aarch64 processes) or `"big"` (the guest memory of emulators such as
 * Dolphin for GameCube/Wii, RPCS3 for PS3, many arcade boards).
 */
export type Endian = "little" | "big";

/**
 * Checks an `endian` option and returns whether it means little-endian
 * (`undefined` does).
 *
 * @throws {RangeError} for anything but `undefined`, `"little"` or `"big"`.
 * @example
 * ```ts
 * isLittleEndian("big"); // false
 * ```
 */
export function isLittleEndian(endian: unknown): boolean {
  if (endian === undefined || endian === "little") return true;
  if (endian === "big") return false;
  throw new RangeError(`endian must be "little" or "big" (got ${describe(endian)})`);
}

/** A value of a {@link ValueType}: 64-bit integers are bigints. */
export type Value = number | bigint;

/**
 * Size in bytes of each type.
 *
 * @example
 * ```ts
 * VALUE_SIZE.f64; // 8
 * ```
 */
export const VALUE_SIZE: Readonly<Record<ValueType, number>> = Object.freeze({
  i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, u64: 8, f32: 4, f64: 8,
});

/**
 * Whether `name` is a {@link ValueType}.
 *
 * @example
 * ```ts
 * isValueType("i32"); // true
 * ```
 */
export function isValueType(name: unknown): name is ValueType {
  return typeof name === "string" && Object.hasOwn(VALUE_SIZE, name);
}

/**
 * Reads a value of `type` at `offset` of `view`, little-endian unless
 * `littleEndian` is false.
 *
 * @example
 * ```ts
 * getValue(new DataView(buf), 0, "i32");
 * getValue(new DataView(buf), 0, "f32", false); // big-endian
 * ```
 */
export function getValue(view: DataView, offset: number, type: ValueType, littleEndian = true): Value {
  const o = offset | 0;
  switch (type) {
    case "i8": return view.getInt8(o);
    case "u8": return view.getUint8(o);
    case "i16": return view.getInt16(o, littleEndian);
    case "u16": return view.getUint16(o, littleEndian);
    case "i32": return view.getInt32(o, littleEndian);
    case "u32": return view.getUint32(o, littleEndian);
    case "i64": return view.getBigInt64(o, littleEndian);
    case "u64": return view.getBigUint64(o, littleEndian);
    case "f32": return view.getFloat32(o, littleEndian);
    case "f64": return view.getFloat64(o, littleEndian);
  }
}

/**
 * Checks that `value` fits `type` and returns it in the form the type takes
 * (bigint for 64-bit integers, number otherwise).
 *
 * @throws {RangeError | TypeError} naming the type when it does not fit.
 * @example
 * ```ts
 * checkValue("u8", 300); // throws RangeError
 * ```
 */
export function checkValue(type: ValueType, value: unknown): Value {
  if (type === "f32" || type === "f64") {
    if (typeof value !== "number") throw new TypeError(`a ${type} value must be a number (got ${typeof value})`);
    return value;
  }
  if (type === "i64" || type === "u64") {
    const v = typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
    if (typeof v !== "bigint") throw new TypeError(`a ${type} value must be a bigint or a safe integer (got ${describe(value)})`);
    const ok = type === "u64" ? v >= 0n && v < 1n << 64n : v >= -(1n << 63n) && v < 1n << 63n;
    if (!ok) throw new RangeError(`${v} does not fit ${type}`);
    return v;
  }
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`a ${type} value must be an integer number (got ${describe(value)})`);
  }
  const bits = VALUE_SIZE[type] * 8;
  const signed = type[0] === "i";
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  if (value < min || value > max) throw new RangeError(`${value} does not fit ${type} (${min} to ${max})`);
  return value;
}

/**
 * Writes a value of `type` at `offset` of `view`, little-endian unless
 * `littleEndian` is false. The value is not range-checked here: call
 * {@link checkValue} once, up front.
 *
 * @example
 * ```ts
 * setValue(new DataView(buf), 0, "f32", 1.5);
 * setValue(new DataView(buf), 0, "u32", 0x80003000, false); // big-endian
 * ```
 */
export function setValue(view: DataView, offset: number, type: ValueType, value: Value, littleEndian = true): void {
  const o = offset | 0;
  switch (type) {
    case "i8": return view.setInt8(o, value as number);
    case "u8": return view.setUint8(o, value as number);
    case "i16": return view.setInt16(o, value as number, littleEndian);
    case "u16": return view.setUint16(o, value as number, littleEndian);
    case "i32": return view.setInt32(o, value as number, littleEndian);
    case "u32": return view.setUint32(o, value as number, littleEndian);
    case "i64": return view.setBigInt64(o, value as bigint, littleEndian);
    case "u64": return view.setBigUint64(o, value as bigint, littleEndian);
    case "f32": return view.setFloat32(o, value as number, littleEndian);
    case "f64": return view.setFloat64(o, value as number, littleEndian);
  }
}

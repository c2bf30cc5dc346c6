/**
 * Values as the page shows and types them: parsing a typed value from text,
 * formatting one for display, checking the fields of a request.
 *
 * @module
 */
import { isValueType, VALUE_SIZE, type Value, type ValueType } from "../index.ts";

/**
 * A request field that is missing or of the wrong kind; the server answers it
 * as an error (`{ ok: false, error }`) and goes on.
 *
 * @example
 * ```ts
 * if (typeof body.query !== "string") throw new RequestError('"query" must be a string');
 * ```
 */
export class RequestError extends Error {
  override name = "RequestError" as const;
}

/**
 * Parses `text` as a value of `type`: integers in decimal or `0x` hex (bigint
 * for 64-bit types), floats as JavaScript numbers. Throws a RequestError that
 * names the problem when it does not fit.
 *
 * @example
 * ```ts
 * parseTypedValue("i32", "-5");       // -5
 * parseTypedValue("u64", "0xffff");   // 65535n
 * ```
 */
export function parseTypedValue(type: ValueType, text: string): Value {
  const t = text.trim().replace(/_/g, "");
  if (t === "") throw new RequestError("the value is empty");
  if (type === "f32" || type === "f64") {
    const n = Number(t);
    if (Number.isNaN(n) && t !== "NaN") throw new RequestError(`"${text}" is not a number`);
    return n;
  }
  if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(t)) throw new RequestError(`"${text}" is not an integer (decimal or 0x-hex)`);
  const negative = t.startsWith("-");
  const big = BigInt(negative ? t.slice(1) : t) * (negative ? -1n : 1n);
  const bits = BigInt(VALUE_SIZE[type] * 8);
  const signed = type[0] === "i";
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (big < min || big > max) throw new RequestError(`${text} does not fit ${type} (${min} to ${max})`);
  return type === "i64" || type === "u64" ? big : Number(big);
}

/**
 * A value as text: integers exactly, floats with up to 9 significant digits (f32) or 17 (f64), trimmed.
 *
 * @example
 * ```ts
 * formatValue("f32", 0.10000000149011612); // "0.1"
 * ```
 */
export function formatValue(type: ValueType | string, value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (type === "f32") return Number.isFinite(value) ? String(Number(value.toPrecision(7))) : String(value);
    return String(value);
  }
  if (value instanceof Uint8Array) return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join(" ");
  return String(value);
}

/**
 * `0x`-prefixed hex.
 *
 * @example
 * ```ts
 * hex(4096); // "0x1000"
 * ```
 */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * An address given as a number or as text (`0x7f00…`, decimal), checked to be a user-space address.
 *
 * @example
 * ```ts
 * parseAddress("0x7f001000"); // 2130710528
 * ```
 */
export function parseAddress(value: unknown, what = "address"): number {
  let n = NaN;
  if (typeof value === "number") n = value;
  else if (typeof value === "string") {
    const t = value.trim();
    if (/^0x[0-9a-f]{1,14}$/i.test(t)) n = parseInt(t.slice(2), 16);
    else if (/^\d{1,16}$/.test(t)) n = Number(t);
    else if (/^[0-9a-f]{1,14}$/i.test(t) && /[a-f]/i.test(t)) n = parseInt(t, 16);
  }
  if (!Number.isSafeInteger(n) || n < 0) throw new RequestError(`${what} must be a non-negative integer or 0x-hex text (got ${JSON.stringify(value)?.slice(0, 40)})`);
  return n;
}

/**
 * Field checks for requests: each returns the field or throws a RequestError naming it.
 *
 * @example
 * ```ts
 * const n = field.int(body, "count", 0, 1000);
 * ```
 */
export const field = {
  str(body: Record<string, unknown>, key: string, maxLength = 4096): string {
    const v = body[key];
    if (typeof v !== "string") throw new RequestError(`"${key}" must be a string`);
    if (v.length > maxLength) throw new RequestError(`"${key}" is too long (${v.length} > ${maxLength})`);
    return v;
  },
  optStr(body: Record<string, unknown>, key: string, maxLength = 4096): string | undefined {
    return body[key] === undefined || body[key] === null || body[key] === "" ? undefined : field.str(body, key, maxLength);
  },
  int(body: Record<string, unknown>, key: string, min: number, max: number): number {
    const v = body[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new RequestError(`"${key}" must be an integer`);
    if (v < min || v > max) throw new RequestError(`"${key}" must be between ${min} and ${max} (got ${v})`);
    return v;
  },
  optInt(body: Record<string, unknown>, key: string, min: number, max: number, fallback: number): number {
    return body[key] === undefined || body[key] === null ? fallback : field.int(body, key, min, max);
  },
  bool(body: Record<string, unknown>, key: string): boolean {
    const v = body[key];
    if (v === undefined) return false;
    if (typeof v !== "boolean") throw new RequestError(`"${key}" must be true or false`);
    return v;
  },
  type(body: Record<string, unknown>, key = "type"): ValueType {
    const v = body[key];
    if (!isValueType(v)) throw new RequestError(`"${key}" must be one of i8 u8 i16 u16 i32 u32 i64 u64 f32 f64 (got ${JSON.stringify(v)?.slice(0, 20)})`);
    return v;
  },
  obj(body: Record<string, unknown>, key: string): Record<string, unknown> {
    const v = body[key];
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new RequestError(`"${key}" must be an object`);
    return v as Record<string, unknown>;
  },
};

/**
 * Scan queries: the value and object forms, the scanmem-style text parser,
 * and their normalisation into the plain specs that the scan routines compile.
 *
 * Match kinds are grouped as in scanmem: against a given value (`eq ne gt lt
 * range`), against the old value (`changed unchanged increased decreased`),
 * or both (`increasedBy decreasedBy`).
 *
 * @module
 */
import { checkValue, VALUE_SIZE, type ValueType } from "../types.ts";
import { describe } from "../validate.ts";

/**
 * An integer of a fixed width read both ways, as scanmem's `int8` … `int64`:
 * each address is read as the signed and as the unsigned integer of that
 * width, and a reading takes part in a step only when the query's values fit
 * its type (see {@link ScanValueType}).
 */
export type EitherSignType = "int8" | "int16" | "int32" | "int64";

/**
 * What a scan looks for: a numeric {@link ValueType}; `"int8"` … `"int64"`
 * (an integer of that width, signed or unsigned: {@link EitherSignType});
 * `"int"` (any integer width, like scanmem's default: `int8` to `int64` at
 * once, each at its natural alignment); `"bytes"` (a pattern with wildcards)
 * or `"string"` (text, UTF-8 or UTF-16LE).
 *
 * In the either-sign types (`int`, `int8` … `int64`), as in scanmem, each
 * address has up to two readings per width (`i8` and `u8`, …). A query with
 * values (`=`, `!=`, `<`, `>`, ranges, `+ n`, `- n`) tries only the readings
 * that can hold every value of the query: `"100..1000"` leaves the 8-bit
 * readings out, `"< 133"` the `i8` one, `"= -1"` the unsigned ones. A value
 * query tries every such reading at every address still matching; a query
 * against the old value (`changed`, `increased`, `+ n`…) only the readings
 * that matched at the previous step. An address counts once, whatever the
 * readings that match there.
 */
export type ScanValueType = ValueType | EitherSignType | "int" | "bytes" | "string";

/**
 * The readings of an either-sign scan type, narrowest first, signed before unsigned.
 *
 * @example
 * ```ts
 * EITHER_SIGN_READINGS.int16; // ["i16", "u16"]
 * ```
 */
export const EITHER_SIGN_READINGS: Readonly<Record<EitherSignType | "int", readonly ValueType[]>> = Object.freeze({
  int8: ["i8", "u8"],
  int16: ["i16", "u16"],
  int32: ["i32", "u32"],
  int64: ["i64", "u64"],
  int: ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64"],
});

/**
 * Whether `type` is `"int"` or one of `"int8"` … `"int64"`.
 *
 * @example
 * ```ts
 * isEitherSign("int32"); // true
 * ```
 */
export function isEitherSign(type: unknown): type is EitherSignType | "int" {
  return typeof type === "string" && Object.hasOwn(EITHER_SIGN_READINGS, type);
}

/** A number, or a bigint for 64-bit integers. */
export type Numeric = number | bigint;

/**
 * First-scan query.
 * - a value or `{ eq }`: equal (floats: see {@link ScanOptions.tolerance});
 * - `{ ne }`, `{ gt }`, `{ lt }`: not equal, greater, less than a value;
 * - `{ min, max }`: within the inclusive range;
 * - `"unknown"`: every position (a snapshot, compared by the next scan);
 * - for `bytes`: a pattern string or the bytes; for `string`: the text.
 */
export type FirstQuery =
  | Numeric
  | "unknown"
  | { eq: Numeric; tolerance?: number }
  | { ne: Numeric; tolerance?: number }
  | { gt: Numeric }
  | { lt: Numeric }
  | { min: Numeric; max: Numeric }
  | Uint8Array;

/**
 * Next-scan query: the value forms of {@link FirstQuery}, or compared with the
 * value at the previous scan: `"changed"`, `"unchanged"`, `"increased"`,
 * `"decreased"`, `{ increasedBy: n }`, `{ decreasedBy: n }`; or `"update"`
 * (keep every match and refresh the values a later step compares with, as
 * scanmem's `update`).
 */
export type NextQuery =
  | Numeric
  | "update"
  | "changed"
  | "unchanged"
  | "increased"
  | "decreased"
  | { eq: Numeric; tolerance?: number }
  | { ne: Numeric; tolerance?: number }
  | { gt: Numeric }
  | { lt: Numeric }
  | { min: Numeric; max: Numeric }
  | { increasedBy: Numeric; tolerance?: number }
  | { decreasedBy: Numeric; tolerance?: number }
  | Uint8Array;

/** Every query form that {@link parseQuery} returns. */
export type Query = FirstQuery | NextQuery;

/** Comparison operators of the routines (`any`: every position, as `"unknown"` and `"update"`). */
export type Op =
  | "eq" | "ne" | "gt" | "lt" | "range" | "any"
  | "changed" | "unchanged" | "increased" | "decreased" | "increasedBy" | "decreasedBy";

/** Ops that compare with the old value. */
export const RELATIVE_OPS: ReadonlySet<Op> = new Set(["changed", "unchanged", "increased", "decreased", "increasedBy", "decreasedBy"]);

/** A normalised numeric comparison, ready to compile: plain data (it is posted to Workers). */
export interface NumericSpec {
  type: ValueType;
  op: Op;
  a: Numeric;
  b: Numeric;
  /** Absolute tolerance for float comparisons (0: exact). */
  tol: number;
  /** Float `eq`/`ne` with a tolerance: the bounds matched (the value ± tolerance, widened to include the value rounded to the type). */
  lo?: number;
  hi?: number;
  /** Values are big-endian in memory. */
  big?: boolean;
}

const NUMBER = /^[+-]?(0x[0-9a-f]+|\d+(\.\d*)?(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|inf(inity)?|nan)$/i;

function parseNumber(text: string): { value: Numeric; tolerance: number } | null {
  const t = text.trim();
  if (!NUMBER.test(t)) return null;
  const neg = t.startsWith("-");
  const body = t.replace(/^[+-]/, "");
  if (/^0x/i.test(body)) {
    const big = BigInt(body);
    const v = neg ? -big : big;
    return { value: v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v, tolerance: 0 };
  }
  if (/^inf/i.test(body)) return { value: neg ? -Infinity : Infinity, tolerance: 0 };
  if (/^nan$/i.test(body)) return { value: NaN, tolerance: 0 };
  if (/^\d+$/.test(body)) {
    const big = BigInt(body);
    const v = neg ? -big : big;
    const safe = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
    return { value: safe ? Number(v) : v, tolerance: 0.5 };
  }
  // Decimal text: half a unit of the last digit typed ("5.25" matches 5.245 to 5.255).
  const [mantissa = "", exp = "0"] = body.toLowerCase().split("e");
  const decimals = mantissa.includes(".") ? mantissa.length - mantissa.indexOf(".") - 1 : 0;
  return { value: Number(t), tolerance: 0.5 * 10 ** (Number(exp) - decimals) };
}

/**
 * Parses a scanmem-style query:
 * `"5"`, `"= 5"`, `"!= 5"`, `"> 5"`, `"< 5"`, `"1..10"`, `"?"` (unknown),
 * `"="` / `"unchanged"`, `"!="` / `"changed"`, `">"` / `"+"` / `"increased"`,
 * `"<"` / `"-"` / `"decreased"`, `"+ 5"` (increased by 5), `"- 5"` (decreased by 5),
 * `"update"` (keep every match, refresh its value).
 * Integers beyond 2^53 become bigints; hex (`0x1f`) is accepted. A decimal
 * number carries a tolerance of half a unit of its last digit (`"1.5"`: ±0.05),
 * used by float scans (Cheat Engine's "rounded" match; integer scans ignore it).
 *
 * @throws {SyntaxError} when the text is not a query.
 * @throws {RangeError} for a reversed range (`"10..1"`), naming its bounds.
 * @example
 * ```ts
 * import { parseQuery } from "process-vm";
 * parseQuery("1..10"); // { min: 1, max: 10 }
 * parseQuery("+ 5");   // { increasedBy: 5 }
 * parseQuery("3.14");  // { eq: 3.14, tolerance: 0.005 }
 * ```
 */
export function parseQuery(text: string): Query {
  if (typeof text !== "string") throw new TypeError("query must be a string");
  const t = text.trim();
  const words: Record<string, Query> = {
    "": "unknown", "?": "unknown", unknown: "unknown",
    "=": "unchanged", "==": "unchanged", unchanged: "unchanged",
    "!=": "changed", changed: "changed",
    ">": "increased", "+": "increased", increased: "increased",
    "<": "decreased", "-": "decreased", decreased: "decreased",
    update: "update",
  };
  const word = words[t.toLowerCase()];
  if (word !== undefined) return word;
  const fail = (): never => {
    throw new SyntaxError(`invalid query "${text}" (expected a value, "min..max", "> v", "< v", "!= v", "+ n", "- n", "changed", …)`);
  };
  const num = (s: string) => parseNumber(s) ?? fail();
  const range = /^(.+?)\s*\.\.\s*(.+)$/.exec(t);
  if (range && !/^[+-]?\d*\.\d*$/.test(t)) {
    const min = num(range[1]!).value;
    const max = num(range[2]!).value;
    checkRange(min, max, text.trim());
    return { min, max };
  }
  const op = /^(==|=|!=|>|<|\+|-)\s+(.+)$/.exec(t) ?? /^(==|!=|=|>|<)(.+)$/.exec(t);
  if (op) {
    const { value, tolerance } = num(op[2]!);
    switch (op[1]) {
      case "=": case "==": return tolerance > 0 ? { eq: value, tolerance } : { eq: value };
      case "!=": return tolerance > 0 ? { ne: value, tolerance } : { ne: value };
      case ">": return { gt: value };
      case "<": return { lt: value };
      case "+": return { increasedBy: value };
      case "-": return { decreasedBy: value };
    }
  }
  const { value, tolerance } = num(t);
  return tolerance > 0 ? { eq: value, tolerance } : { eq: value };
}

/** A range whose minimum is above its maximum is a mistake, not an empty scan. */
function checkRange(min: Numeric, max: Numeric, text?: string): void {
  if (min > max) {
    const shown = text === undefined ? `{ min: ${String(min)}, max: ${String(max)} }` : `"${text}"`;
    throw new RangeError(`reversed range ${shown}: the minimum ${String(min)} is above the maximum ${String(max)}`);
  }
}

function isObject(q: unknown): q is Record<string, unknown> {
  return typeof q === "object" && q !== null && !(q instanceof Uint8Array);
}

/** The op and operands of a query, before type checks. */
export interface RawQuery {
  op: Op;
  a?: Numeric;
  b?: Numeric;
  tolerance?: number;
}

/**
 * Splits a query (value, object, or text parsed with {@link parseQuery}) into
 * an op and operands.
 */
export function rawQuery(query: unknown): RawQuery {
  let q = query;
  if (typeof q === "string") {
    const words = ["unknown", "changed", "unchanged", "increased", "decreased", "update"];
    q = words.includes(q) ? q : parseQuery(q);
  }
  if (typeof q === "number" || typeof q === "bigint") return { op: "eq", a: q };
  if (typeof q === "string") return { op: q === "unknown" || q === "update" ? "any" : (q as Op) };
  if (!isObject(q)) throw new TypeError(`invalid query ${describe(query)}`);
  const tol = q.tolerance === undefined ? undefined : Number(q.tolerance);
  if (tol !== undefined && !(tol >= 0)) throw new RangeError("tolerance must be a number >= 0");
  const n = (k: string): Numeric => {
    const v = q[k];
    if (typeof v !== "number" && typeof v !== "bigint") throw new TypeError(`query.${k} must be a number or a bigint`);
    return v;
  };
  if ("eq" in q) return { op: "eq", a: n("eq"), tolerance: tol };
  if ("ne" in q) return { op: "ne", a: n("ne"), tolerance: tol };
  if ("gt" in q) return { op: "gt", a: n("gt") };
  if ("lt" in q) return { op: "lt", a: n("lt") };
  if ("min" in q || "max" in q) {
    const min = n("min");
    const max = n("max");
    checkRange(min, max);
    return { op: "range", a: min, b: max };
  }
  if ("increasedBy" in q) return { op: "increasedBy", a: n("increasedBy"), tolerance: tol };
  if ("decreasedBy" in q) return { op: "decreasedBy", a: n("decreasedBy"), tolerance: tol };
  throw new TypeError(`invalid query ${JSON.stringify(q, (_, v) => (typeof v === "bigint" ? `${v}n` : v))}`);
}

const isFloat = (t: ValueType) => t === "f32" || t === "f64";
const is64 = (t: ValueType) => t === "i64" || t === "u64";

function limits(type: ValueType): [Numeric, Numeric] {
  const bits = VALUE_SIZE[type] * 8;
  const signed = type[0] === "i";
  if (is64(type)) return signed ? [-(1n << 63n), (1n << 63n) - 1n] : [0n, (1n << 64n) - 1n];
  return signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
}

function toType(type: ValueType, v: Numeric): Numeric {
  if (is64(type)) {
    if (typeof v === "bigint") return v;
    return Number.isInteger(v) ? BigInt(v) : v; // non-integers are handled by the caller
  }
  return Number(v);
}

/**
 * Turns a raw query into a spec for `type`, or `null` when nothing can match
 * (an integer query value outside the type, or a NaN).
 *
 * Floats: the value of an `eq`/`ne` is rounded to the type (so `0.1` finds the
 * `f32` 0.1), and so are the bounds of `gt`, `lt` and `range` (so
 * `"0.1..0.2"` includes the `f32` 0.2). A tolerance (from a text query's
 * digits, the query or the options) widens the match around the value typed,
 * and always includes the value rounded to the type: `"3.7000001"` still
 * finds the `f32` 3.7.
 *
 * Integers ignore tolerances. `+ n` and `- n` wrap around at 32 and 64 bits
 * (the step is taken modulo 2^32 or 2^64) and not at 8 and 16 bits, where the
 * difference must be exact: scanmem compares `new == old + n` in C, where
 * 8- and 16-bit operands are promoted to `int` and 32- and 64-bit ones wrap.
 *
 * @param strict a fixed type: throw a RangeError for an `eq` value or a step outside the type instead of returning null.
 * @param reading a reading of an either-sign type (scanmem's flags): `null` unless every value of the query fits `type`.
 * @param big the values are big-endian.
 */
export function numericSpec(
  type: ValueType,
  raw: RawQuery,
  defaultTolerance: number | undefined,
  strict: boolean,
  reading = false,
  big = false,
): NumericSpec | null {
  const float = isFloat(type);
  const tol = float ? raw.tolerance ?? defaultTolerance ?? 0 : 0;
  const op = raw.op;
  const make = (o: Op, a: Numeric, b: Numeric, extra?: Partial<NumericSpec>): NumericSpec => {
    const spec: NumericSpec = { type, op: o, a, b, tol, ...extra };
    if (big) spec.big = true;
    return spec;
  };
  const zero = is64(type) ? 0n : 0;
  if (op === "changed" || op === "unchanged") {
    // Compared bit for bit, as the unsigned integer of the same width.
    const bits: Record<number, ValueType> = { 1: "u8", 2: "u16", 4: "u32", 8: "u64" };
    const u = bits[VALUE_SIZE[type]]!;
    const spec: NumericSpec = { type: u, op, a: is64(u) ? 0n : 0, b: is64(u) ? 0n : 0, tol: 0 };
    if (big) spec.big = true;
    return spec;
  }
  if (op === "increased" || op === "decreased" || op === "any") return make(op, zero, zero);
  if (float) {
    let a = Number(raw.a ?? 0);
    let b = Number(raw.b ?? 0);
    if (Number.isNaN(a) || Number.isNaN(b)) return op === "ne" ? make("any", 0, 0) : null;
    if (op === "increasedBy" || op === "decreasedBy") return make(op, a, b);
    const round = type === "f32" ? Math.fround : (x: number) => x;
    if ((op === "eq" || op === "ne") && tol > 0) {
      // The tolerance widens the value typed; the value rounded to the type always matches.
      const r = round(a);
      return make(op, a, b, { lo: Math.min(a - tol, r), hi: Math.max(a + tol, r) });
    }
    // Compare with the value nearest each bound, as memory holds it: "0.1..0.2" includes the stored f32 0.2.
    a = round(a);
    b = round(b);
    return make(op, a, b, { tol: 0 });
  }
  // Integer types.
  const [lo, hi] = limits(type);
  const big64 = is64(type);
  const int = (v: Numeric): Numeric => {
    if (typeof v === "bigint") return big64 ? v : Number(v);
    if (!Number.isFinite(v)) return v;
    return big64 ? (Number.isInteger(v) ? BigInt(v) : v) : v;
  };
  const A = int(raw.a ?? 0);
  const B = int(raw.b ?? 0);
  const inRange = (v: Numeric) => v >= lo && v <= hi;
  const isInt = (v: Numeric) => typeof v === "bigint" || Number.isInteger(v);
  if (reading) {
    // scanmem's flags: a reading takes part only when every value of the query fits its type.
    if (!inRange(A) || (op === "range" && !inRange(B))) return null;
  }
  const any = () => make("any", zero, zero);
  switch (op) {
    case "eq":
    case "ne": {
      if (!isInt(A) || !inRange(A)) {
        if (strict && op === "eq") checkValue(type, raw.a); // throws with the type's range
        return op === "eq" ? null : any();
      }
      return make(op, A, zero);
    }
    case "gt": {
      // v > A  <=>  v >= floor(A) + 1
      const f = typeof A === "bigint" ? A : Math.floor(A);
      if (f >= hi) return null;
      if (f < lo) return any();
      return make("gt", toType(type, f), zero);
    }
    case "lt": {
      const c = typeof A === "bigint" ? A : Math.ceil(A);
      if (c <= lo) return null;
      if (c > hi) return any();
      return make("lt", toType(type, c), zero);
    }
    case "range": {
      let min = typeof A === "bigint" ? A : Math.ceil(A);
      let max = typeof B === "bigint" ? B : Math.floor(B);
      if (min < lo) min = lo;
      if (max > hi) max = hi;
      if (min > max) return null;
      return make("range", toType(type, min), toType(type, max));
    }
    case "increasedBy":
    case "decreasedBy": {
      if (!isInt(A)) return null;
      const bits = VALUE_SIZE[type] * 8;
      const n = BigInt(A);
      if (n < -(1n << BigInt(bits - 1)) || n >= 1n << BigInt(bits)) {
        if (strict) throw new RangeError(`a step of ${String(raw.a)} does not fit ${bits} bits (${type})`);
        return null;
      }
      if (bits < 32) return make(op, Number(n), zero); // no wrap-around: the difference is exact
      // 32 and 64 bits wrap around: the step modulo 2^bits, in the type's own range.
      const step = type[0] === "i" ? BigInt.asIntN(bits, n) : BigInt.asUintN(bits, n);
      return make(op, big64 ? step : Number(step), zero);
    }
  }
  return null;
}

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
 * What a scan looks for: a numeric {@link ValueType}, `"int"` (any integer
 * width, like scanmem's default: `i8`, `i16`, `i32` and `i64` at once, each at
 * its natural alignment, read as unsigned when the query is non-negative),
 * `"bytes"` (a pattern with wildcards) or `"string"` (text, UTF-8 or UTF-16LE).
 */
export type ScanValueType = ValueType | "int" | "bytes" | "string";

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
 * `"decreased"`, `{ increasedBy: n }`, `{ decreasedBy: n }`.
 */
export type NextQuery =
  | Numeric
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

/** Comparison operators of the routines. */
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
 * `"<"` / `"-"` / `"decreased"`, `"+ 5"` (increased by 5), `"- 5"` (decreased by 5).
 * Integers beyond 2^53 become bigints; hex (`0x1f`) is accepted. A decimal
 * number carries a tolerance of half a unit of its last digit (`"1.5"`: ±0.05),
 * used by float scans (Cheat Engine's "rounded" match; integer scans ignore it).
 *
 * @throws {SyntaxError} when the text is not a query.
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
    const words = ["unknown", "changed", "unchanged", "increased", "decreased"];
    q = words.includes(q) ? q : parseQuery(q);
  }
  if (typeof q === "number" || typeof q === "bigint") return { op: "eq", a: q };
  if (typeof q === "string") return { op: q === "unknown" ? "any" : (q as Op) };
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
  if ("min" in q || "max" in q) return { op: "range", a: n("min"), b: n("max") };
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
 * (an integer query value outside the type, or a NaN). The value of an `eq`
 * against a float type is rounded to the type (so `0.1` finds the `f32` 0.1)
 * when the tolerance is 0, and so are the bounds of `gt`, `lt` and `range`
 * (so `"0.1..0.2"` includes the `f32` 0.2). Integer types ignore tolerances.
 *
 * @param strict throw a RangeError for an `eq` value outside the type instead of returning null.
 */
export function numericSpec(type: ValueType, raw: RawQuery, defaultTolerance: number | undefined, strict: boolean): NumericSpec | null {
  const float = isFloat(type);
  const tol = float ? raw.tolerance ?? defaultTolerance ?? 0 : 0;
  let op = raw.op;
  let a: Numeric = raw.a ?? 0;
  let b: Numeric = raw.b ?? 0;
  if (op === "changed" || op === "unchanged") {
    // Compared bit for bit, as the unsigned integer of the same width.
    const bits: Record<number, ValueType> = { 1: "u8", 2: "u16", 4: "u32", 8: "u64" };
    return { type: bits[VALUE_SIZE[type]]!, op, a: 0, b: 0, tol: 0 };
  }
  if (op === "increased" || op === "decreased" || op === "any") return { type, op, a: is64(type) ? 0n : 0, b: is64(type) ? 0n : 0, tol };
  if (float) {
    a = Number(a);
    b = Number(b);
    if (Number.isNaN(a) || Number.isNaN(b)) return op === "ne" ? { type, op: "any", a: 0, b: 0, tol } : null;
    if (tol === 0 && type === "f32" && op !== "increasedBy" && op !== "decreasedBy") {
      // Compare with the f32 nearest each bound, as an f32 in memory holds it: "0.1..0.2" includes the stored 0.2.
      a = Math.fround(a);
      b = Math.fround(b);
    }
    if (op === "range" && a > b) return null;
    return { type, op, a, b, tol };
  }
  // Integer types.
  const [lo, hi] = limits(type);
  const big = is64(type);
  const int = (v: Numeric): Numeric | null => {
    if (typeof v === "bigint") return big ? v : Number(v);
    if (!Number.isFinite(v)) return v;
    return big ? (Number.isInteger(v) ? BigInt(v) : v) : v;
  };
  const A = int(a)!;
  const B = int(b)!;
  const inRange = (v: Numeric) => v >= lo && v <= hi;
  switch (op) {
    case "eq":
    case "ne": {
      const isInt = typeof A === "bigint" || Number.isInteger(A);
      if (!isInt || !inRange(A)) {
        if (strict && op === "eq") checkValue(type, a); // throws with the type's range
        return op === "eq" ? null : { type, op: "any", a: toType(type, 0), b: toType(type, 0), tol: 0 };
      }
      return { type, op, a: A, b: toType(type, 0), tol: 0 };
    }
    case "gt": {
      // v > A  <=>  v >= floor(A) + 1
      const f = typeof A === "bigint" ? A : Math.floor(A);
      if (f >= hi) return null;
      if (f < lo) return { type, op: "any", a: toType(type, 0), b: toType(type, 0), tol: 0 };
      return { type, op: "gt", a: toType(type, f), b: toType(type, 0), tol: 0 };
    }
    case "lt": {
      const c = typeof A === "bigint" ? A : Math.ceil(A);
      if (c <= lo) return null;
      if (c > hi) return { type, op: "any", a: toType(type, 0), b: toType(type, 0), tol: 0 };
      return { type, op: "lt", a: toType(type, c), b: toType(type, 0), tol: 0 };
    }
    case "range": {
      let min = typeof A === "bigint" ? A : Math.ceil(A);
      let max = typeof B === "bigint" ? B : Math.floor(B);
      if (min < lo) min = lo;
      if (max > hi) max = hi;
      if (min > max) return null;
      return { type, op: "range", a: toType(type, min), b: toType(type, max), tol: 0 };
    }
    case "increasedBy":
    case "decreasedBy": {
      if (!(typeof A === "bigint" || Number.isInteger(A))) return null;
      return { type, op, a: toType(type, A), b: toType(type, 0), tol: 0 };
    }
  }
  return null;
}

/**
 * In the `"int"` mode, an `eq`/`ne` value that does not fit a part's type but
 * fits the other signedness of the same width is the same bits: `-1` for a
 * `u8` part is 255, `255` for an `i8` part is -1. So a value that changes sign
 * after the first scan is still found.
 */
export function wrapIntQuery(type: ValueType, raw: RawQuery): RawQuery {
  if ((raw.op !== "eq" && raw.op !== "ne") || raw.a === undefined || isFloat(type)) return raw;
  const bits = BigInt(VALUE_SIZE[type] * 8);
  const signed = type[0] === "i";
  let v: bigint;
  try {
    v = BigInt(raw.a);
  } catch {
    return raw; // not an integer: nothing to wrap
  }
  const half = 1n << (bits - 1n);
  if (!signed && v < 0n && v >= -half) v += 1n << bits;
  else if (signed && v >= half && v < 1n << bits) v -= 1n << bits;
  else return raw;
  return { ...raw, a: is64(type) ? v : Number(v) };
}

/**
 * The sub-type of the `"int"` mode for an integer width: unsigned when the
 * query's values are all non-negative, signed otherwise (and for relative queries).
 */
export function intModeType(width: 1 | 2 | 4 | 8, raw: RawQuery): ValueType {
  const values = [raw.a, raw.b].filter((v): v is Numeric => v !== undefined);
  const negative = values.some((v) => v < 0);
  const unsigned = values.length > 0 && !negative && raw.op !== "increasedBy" && raw.op !== "decreasedBy";
  const bits = width * 8;
  return `${unsigned ? "u" : "i"}${bits}` as ValueType;
}

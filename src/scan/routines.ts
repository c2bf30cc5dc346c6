/**
 * Scan routines: one loop compiled per scan (type × op × alignment × byte
 * order), so that the comparison is chosen once per scan and never once per
 * address. Each loop is generated with the comparison inlined, and the
 * query's operands are constants of its closure, so the JIT sees one
 * monomorphic loop. Big-endian values are read through the DataView loops
 * (the typed-array ones read the machine's order).
 *
 * @module
 */
import type { ValueType } from "../types.ts";
import { VALUE_SIZE } from "../types.ts";
import type { NumericSpec } from "./query.ts";

/** Typed array classes per type. */
export const ARRAY: Record<ValueType, { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): ArrayLike<number | bigint> }> = {
  i8: Int8Array, u8: Uint8Array, i16: Int16Array, u16: Uint16Array, i32: Int32Array, u32: Uint32Array,
  i64: BigInt64Array, u64: BigUint64Array, f32: Float32Array, f64: Float64Array,
};

const GETTER: Record<ValueType, string> = {
  i8: "getInt8", u8: "getUint8", i16: "getInt16", u16: "getUint16", i32: "getInt32", u32: "getUint32",
  i64: "getBigInt64", u64: "getBigUint64", f32: "getFloat32", f64: "getFloat64",
};

/** `(arr, from, to, out) => n`: indices i in [from, to) of `arr` whose element matches, written to `out`. */
export type AlignedRoutine = (arr: ArrayLike<number | bigint>, from: number, to: number, out: Int32Array) => number;
/** `(dv, from, to, step, out) => n`: byte offsets in [from, to) by `step` whose value matches. */
export type UnalignedRoutine = (dv: DataView, from: number, to: number, step: number, out: Int32Array) => number;
/** `(cur, old, delta, from, to, out) => n`: indices i whose `cur[i]` matches against `old[i + delta]`. */
export type SnapshotAlignedRoutine = (cur: ArrayLike<number | bigint>, old: ArrayLike<number | bigint>, delta: number, from: number, to: number, out: Int32Array) => number;
/** `(dv, odv, delta, from, to, step, out) => n`: byte offsets p whose value matches against the one at `p + delta` of `odv`. */
export type SnapshotUnalignedRoutine = (dv: DataView, odv: DataView, delta: number, from: number, to: number, step: number, out: Int32Array) => number;
/**
 * `(dv, u8, addrs, m0, m1, st, lp, old, outA, outV, c) => c'`: of the matches m in [m0, m1), whose value is
 * at local offset `lp + addrs[m] - st`, those that match against `old[m]`, appended from `c` to `outA` and `outV`.
 * For big-endian values, `old` is a DataView of the old values' bytes.
 */
export type NextSpanRoutine = (
  dv: DataView, u8: Uint8Array, addrs: Float64Array, m0: number, m1: number, st: number, lp: number,
  old: ArrayLike<number | bigint> | DataView, outA: Float64Array, outV: Uint8Array, c: number,
) => number;

/** An integer type of 32 bits or fewer (values are exact numbers, differences fit 33 bits). */
function small(spec: NumericSpec): boolean {
  return spec.type !== "f32" && spec.type !== "f64" && spec.type !== "i64" && spec.type !== "u64";
}

/** The comparison as a JS expression over `v` (value) and `o` (old value). */
function condition(spec: NumericSpec): string {
  const float = spec.type === "f32" || spec.type === "f64";
  const tol = spec.tol;
  switch (spec.op) {
    case "any": return "true";
    case "eq": return float && tol > 0 ? "(v >= LO && v <= HI)" : "v === A";
    case "ne": return float && tol > 0 ? "!(v >= LO && v <= HI)" : "v !== A";
    case "gt": return "v > A";
    case "lt": return "v < A";
    case "range":
      // Integers up to 32 bits: one unsigned comparison (v - A wraps below A), no branch on random data.
      return small(spec) ? "((v - A) >>> 0) <= W" : "(v >= A && v <= B)";
    case "changed": return "v !== o";
    case "unchanged": return "v === o";
    case "increased": return "v > o";
    case "decreased": return "v < o";
    case "increasedBy":
    case "decreasedBy": {
      const d = spec.op === "increasedBy" ? "(v - o)" : "(o - v)";
      if (!float) {
        // 32 and 64 bits wrap around (the step was reduced modulo 2^bits); 8 and 16 bits do not (see numericSpec).
        const sum = spec.op === "increasedBy" ? "(o + A)" : "(o - A)";
        switch (spec.type) {
          case "u32": return `v === (${sum} >>> 0)`;
          case "i32": return `v === (${sum} | 0)`;
          case "u64": return `v === BigInt.asUintN(64, ${sum})`;
          case "i64": return `v === BigInt.asIntN(64, ${sum})`;
          default: return `${d} === A`;
        }
      }
      if (tol > 0) return `Math.abs(${d} - A) <= T`;
      // No tolerance given: a difference of floats is exact only by luck, so allow a few units in the last place.
      const eps = spec.type === "f32" ? 2 ** -21 : 2 ** -50;
      return `Math.abs(${d} - A) <= ${eps} * Math.max(Math.abs(v), Math.abs(o), Math.abs(A))`;
    }
  }
}

function constants(spec: NumericSpec): [string[], unknown[]] {
  const tol = spec.tol;
  const a = spec.a;
  const lo = spec.lo ?? (typeof a === "number" ? a - tol : 0);
  const hi = spec.hi ?? (typeof a === "number" ? a + tol : 0);
  const w = small(spec) ? Number(spec.b) - Number(spec.a) : 0;
  return [["A", "B", "T", "LO", "HI", "W"], [spec.a, spec.b, tol, lo, hi, w]];
}

function compile<F>(spec: NumericSpec, body: string): F {
  const [names, values] = constants(spec);
  // eslint-disable-next-line no-new-func
  return new Function(...names, `"use strict"; return ${body};`)(...values) as F;
}

const cache = new Map<string, unknown>();

function cached<F>(kind: string, spec: NumericSpec, make: () => F): F {
  const key = `${kind}|${spec.type}|${spec.op}|${String(spec.a)}|${String(spec.b)}|${spec.tol}|${spec.lo}|${spec.hi}|${spec.big === true}`;
  let f = cache.get(key) as F | undefined;
  if (f === undefined) {
    if (cache.size > 256) cache.clear();
    f = make();
    cache.set(key, f);
  }
  return f;
}

/** `true` for little-endian reads, `false` for big-endian ones: the DataView getters' second argument. */
function little(spec: NumericSpec): string {
  return spec.big === true ? "false" : "true";
}

/*
 * Offsets within the chunk buffer (below 2^31) are made int32 with `| 0` on entry: the engine computes them from
 * addresses, as doubles, and a loop whose index was profiled as an int32 elsewhere was seen leaving its optimized
 * code at every chunk (a speculation on the index's type failing), ten times slower. A snapshot's `delta` can pass
 * 2^31 and stays a number.
 */

/** The loop over naturally aligned elements of a chunk (little-endian only: typed arrays read the machine's order). */
export function alignedRoutine(spec: NumericSpec): AlignedRoutine {
  return cached("a", spec, () =>
    compile<AlignedRoutine>(spec, `function aligned(arr, from, to, out) {
      let n = 0;
      const end = to | 0;
      for (let i = from | 0; i < end; i++) { const v = arr[i]; if (${condition(spec)}) out[n++] = i; }
      return n;
    }`),
  );
}

/** The loop over every `step`-th byte offset of a chunk. */
export function unalignedRoutine(spec: NumericSpec): UnalignedRoutine {
  return cached("u", spec, () =>
    compile<UnalignedRoutine>(spec, `function unaligned(dv, from, to, step, out) {
      let n = 0;
      const end = to | 0;
      const by = step | 0;
      for (let p = from | 0; p < end; p += by) { const v = dv.${GETTER[spec.type]}(p, ${little(spec)}); if (${condition(spec)}) out[n++] = p; }
      return n;
    }`),
  );
}

/** The loop comparing a chunk with a snapshot, aligned. */
export function snapshotAlignedRoutine(spec: NumericSpec): SnapshotAlignedRoutine {
  return cached("sa", spec, () =>
    compile<SnapshotAlignedRoutine>(spec, `function snapshotAligned(cur, old, delta, from, to, out) {
      let n = 0;
      const end = to | 0;
      for (let i = from | 0; i < end; i++) { const v = cur[i]; const o = old[i + delta]; if (${condition(spec)}) out[n++] = i; }
      return n;
    }`),
  );
}

/** The loop comparing a chunk with a snapshot at every `step`-th byte. */
export function snapshotUnalignedRoutine(spec: NumericSpec): SnapshotUnalignedRoutine {
  const g = GETTER[spec.type];
  return cached("su", spec, () =>
    compile<SnapshotUnalignedRoutine>(spec, `function snapshotUnaligned(dv, odv, delta, from, to, step, out) {
      let n = 0;
      const end = to | 0;
      const by = step | 0;
      for (let p = from | 0; p < end; p += by) { const v = dv.${g}(p, ${little(spec)}); const o = odv.${g}(p + delta, ${little(spec)}); if (${condition(spec)}) out[n++] = p; }
      return n;
    }`),
  );
}

/**
 * The loop over the matches `m0..m1` of the previous scan that lie in one span
 * read at local offset `lp` for address `st`: each match kept is appended at
 * `c` to `outA` (its address) and `outV` (its bytes, copied unrolled;
 * not `A`, `B`…: those names are the query's constants).
 */
export function nextSpanRoutine(spec: NumericSpec): NextSpanRoutine {
  const w = VALUE_SIZE[spec.type];
  let copy = "";
  for (let b = 0; b < w; b++) copy += `outV[d + ${b}] = u8[p + ${b}]; `;
  return cached("ns", spec, () =>
    compile<NextSpanRoutine>(spec, `function nextSpan(dv, u8, addrs, m0, m1, st, lp, old, outA, outV, c) {
      for (let m = m0; m < m1; m++) {
        const a = addrs[m];
        const p = ((a - st) | 0) + lp;
        const v = dv.${GETTER[spec.type]}(p, ${little(spec)}); const o = ${spec.big === true ? `old.${GETTER[spec.type]}(m * ${w}, false)` : "old[m]"};
        if (${condition(spec)}) { outA[c] = a; const d = c * ${w}; ${copy}c++; }
      }
      return c;
    }`),
  );
}

/**
 * Needle bytes for an exact search, when an `eq` can be found with a native
 * byte search (integers, and floats other than ±0 with no tolerance); else null.
 */
export function exactNeedle(spec: NumericSpec): Uint8Array | null {
  if (spec.op !== "eq") return null;
  const float = spec.type === "f32" || spec.type === "f64";
  if (float && (spec.tol > 0 || spec.a === 0 || Number.isNaN(spec.a))) return null;
  const size = VALUE_SIZE[spec.type];
  const buf = new ArrayBuffer(size);
  const dv = new DataView(buf);
  const a = spec.a;
  const le = spec.big !== true;
  switch (spec.type) {
    case "i8": case "u8": dv.setUint8(0, Number(a) & 0xff); break;
    case "i16": case "u16": dv.setUint16(0, Number(a) & 0xffff, le); break;
    case "i32": case "u32": dv.setUint32(0, Number(a) >>> 0, le); break;
    case "i64": case "u64": dv.setBigUint64(0, BigInt.asUintN(64, BigInt(a)), le); break;
    case "f32": dv.setFloat32(0, Number(a), le); break;
    case "f64": dv.setFloat64(0, Number(a), le); break;
  }
  return new Uint8Array(buf);
}

/**
 * Interval arithmetic of resident-only scans, pure: which positions of a
 * selection must be read (their bytes touch memory that exists), and which
 * lie wholly in never-touched pages (zeros, never read).
 *
 * Ranges and runs are flat `[start, end)` pairs, ascending and disjoint.
 *
 * @module
 */
import { SNAP_PIECE } from "./engine.ts";

/** A run of start positions to examine: `[start, end)`, with bytes readable up to `limit`. */
export interface PositionRun {
  start: number;
  end: number;
  limit: number;
}

/**
 * The start positions within `ranges` whose `width` bytes overlap `runs`
 * (each run must lie within one range): `(run.start - width, run.end)`, clipped
 * to its range, merged. `limit` is the range's end.
 *
 * @example
 * ```ts
 * readPositions([0, 100], [40, 60], 4); // [{ start: 37, end: 60, limit: 100 }]
 * ```
 */
export function readPositions(ranges: ArrayLike<number>, runs: ArrayLike<number>, width: number): PositionRun[] {
  const out: PositionRun[] = [];
  let k = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const rs = ranges[i]!;
    const re = ranges[i + 1]!;
    while (k < runs.length && runs[k + 1]! <= rs) k += 2;
    for (; k < runs.length && runs[k]! < re; k += 2) {
      const start = Math.max(rs, runs[k]! - width + 1);
      const end = Math.min(re, runs[k + 1]!);
      if (end <= start) continue;
      const last = out[out.length - 1];
      if (last && last.limit === re && last.end >= start) last.end = Math.max(last.end, end);
      else out.push({ start, end, limit: re });
    }
  }
  return out;
}

/**
 * The parts of `ranges` outside `runs`, as flat `[start, end)` pairs.
 *
 * @example
 * ```ts
 * gaps([0, 100], [40, 60]); // [0, 40, 60, 100]
 * ```
 */
export function gaps(ranges: ArrayLike<number>, runs: ArrayLike<number>): number[] {
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const rs = ranges[i]!;
    const re = ranges[i + 1]!;
    let at = rs;
    while (k < runs.length && runs[k + 1]! <= rs) k += 2;
    for (; k < runs.length && runs[k]! < re; k += 2) {
      if (runs[k]! > at) out.push(at, runs[k]!);
      at = Math.max(at, runs[k + 1]!);
    }
    if (k > 0 && runs[k - 1]! > re) k -= 2; // a run that goes on into the next range
    if (at < re) out.push(at, re);
  }
  return out;
}

/**
 * The contiguous stretches of a level's pieces ({@link SNAP_PIECE} fields:
 * start, length, offset), as flat `[start, end)` pairs.
 *
 * @example
 * ```ts
 * logicalRanges(Float64Array.of(0, 10, 0, 10, 5, -1, 30, 5, 16)); // [0, 15, 30, 35]
 * ```
 */
export function logicalRanges(pieces: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let k = 0; k < pieces.length; k += SNAP_PIECE) {
    const s = pieces[k]!;
    const e = s + pieces[k + 1]!;
    const n = out.length;
    if (n > 0 && out[n - 1] === s) out[n - 1] = e;
    else out.push(s, e);
  }
  return out;
}

/**
 * The intersection of two sets of runs.
 *
 * @example
 * ```ts
 * intersectRuns([0, 10, 20, 30], [5, 25]); // [5, 10, 20, 25]
 * ```
 */
export function intersectRuns(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const s = Math.max(a[i]!, b[j]!);
    const e = Math.min(a[i + 1]!, b[j + 1]!);
    if (e > s) out.push(s, e);
    if (a[i + 1]! < b[j + 1]!) i += 2;
    else j += 2;
  }
  return out;
}

/**
 * The union of two sets of runs.
 *
 * @example
 * ```ts
 * unionRuns([0, 10, 20, 30], [5, 25]); // [0, 30]
 * ```
 */
export function unionRuns(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let s: number;
    let e: number;
    if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) {
      s = a[i]!;
      e = a[i + 1]!;
      i += 2;
    } else {
      s = b[j]!;
      e = b[j + 1]!;
      j += 2;
    }
    const n = out.length;
    if (n > 0 && out[n - 1]! >= s) out[n - 1] = Math.max(out[n - 1]!, e);
    else out.push(s, e);
  }
  return out;
}

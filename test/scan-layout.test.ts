/**
 * The interval arithmetic of resident-only scans (pure).
 */
import { expect, test } from "bun:test";
import { gaps, intersectRuns, logicalRanges, readPositions, unionRuns } from "../src/scan/layout.ts";

test("readPositions: starts whose bytes touch a run, clipped to the range, merged", () => {
  expect(readPositions([0, 100], [40, 60], 4)).toEqual([{ start: 37, end: 60, limit: 100 }]);
  // Runs closer than the width merge; a run at the range's start cannot reach before it.
  expect(readPositions([0, 100], [0, 10, 12, 20, 50, 60], 4)).toEqual([
    { start: 0, end: 20, limit: 100 },
    { start: 47, end: 60, limit: 100 },
  ]);
  // Two ranges: positions never cross from one to the other.
  expect(readPositions([0, 10, 20, 30], [5, 10, 20, 25], 8)).toEqual([
    { start: 0, end: 10, limit: 10 },
    { start: 20, end: 25, limit: 30 },
  ]);
  expect(readPositions([0, 100], [], 4)).toEqual([]);
});

test("gaps: what the runs leave of the ranges", () => {
  expect(gaps([0, 100], [40, 60])).toEqual([0, 40, 60, 100]);
  expect(gaps([0, 100, 200, 300], [0, 100, 250, 260])).toEqual([200, 250, 260, 300]);
  expect(gaps([0, 100], [])).toEqual([0, 100]);
});

test("logicalRanges: contiguous pieces join, whatever their data", () => {
  expect(logicalRanges(Float64Array.of(0, 10, 0, 10, 5, -1, 30, 5, 16))).toEqual([0, 15, 30, 35]);
  expect(logicalRanges(new Float64Array(0))).toEqual([]);
});

test("intersectRuns", () => {
  expect(intersectRuns([0, 10, 20, 30], [5, 25])).toEqual([5, 10, 20, 25]);
  expect(intersectRuns([0, 10], [10, 20])).toEqual([]);
  expect(intersectRuns([0, 100], [10, 20, 30, 40])).toEqual([10, 20, 30, 40]);
});

test("unionRuns", () => {
  expect(unionRuns([0, 10, 20, 30], [5, 25])).toEqual([0, 30]);
  expect(unionRuns([0, 10], [10, 20])).toEqual([0, 20]);
  expect(unionRuns([], [1, 2])).toEqual([1, 2]);
});

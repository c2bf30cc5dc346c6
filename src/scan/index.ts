/**
 * The memory scanner: value scans narrowed step by step (`scan`, `Scan`) and
 * byte-pattern scans (`findPattern`, `compilePattern`).
 *
 * @example
 * ```ts
 * import { Process, scan, findPattern } from "process-vm";
 * const proc = new Process(pid);
 * const s = await scan(proc, "i32", 100);
 * await s.next("decreased");
 * const code = await findPattern(proc, "55 48 89 e5", { code: true });
 * ```
 *
 * @module
 */
export { scan, findPattern, Scan } from "./scan.ts";
export type { ScanOptions, StepOptions, PatternScanOptions, ScanMatch, ScanReading, ScanExitError, ScanStats } from "./scan.ts";
export { parseQuery, isEitherSign, EITHER_SIGN_READINGS } from "./query.ts";
export type { ScanValueType, EitherSignType, FirstQuery, NextQuery, Query, Numeric } from "./query.ts";
export { compilePattern, patternFromBytes } from "./pattern.ts";
export type { CompiledPattern } from "./pattern.ts";
export { PatternSyntaxError } from "./errors.ts";
export { selectRanges } from "./regions.ts";
export type { MemoryOptions, ScanRange } from "./regions.ts";
export { terminateScanWorkers } from "./pool.ts";

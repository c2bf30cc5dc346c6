/**
 * process-vm: read and write another Linux process's memory from Bun through
 * `process_vm_readv(2)` / `process_vm_writev(2)`.
 *
 * @example
 * ```ts
 * import { Process } from "process-vm";
 * const proc = new Process(pid);
 * console.log(proc.readI32(address));
 * ```
 *
 * @module
 */
export { readv, writev } from "./syscall.ts";
export type { RemoteRange } from "./syscall.ts";
export { ProcessVmError, ModuleNotFoundError } from "./errors.ts";
export type { ProcessVmErrorDetails, ProcessVmSyscall, ProcessGoneReason } from "./errors.ts";
export { ERRNO, errnoInfo } from "./errno.ts";
export type { ErrnoInfo } from "./errno.ts";
export { Process } from "./process.ts";
export type { WriteOptions, ProcessOptions } from "./process.ts";
export { RemoteReader, RemoteWriter } from "./reader.ts";
export type { RemoteReaderOptions } from "./reader.ts";
export { parseMaps, parseMapsLine, parsePermissions, formatPermissions, modules, findModule, isPeName } from "./maps.ts";
export type { Region, RegionKind, Permissions, Module } from "./maps.ts";
export { IOV_MAX, IOVEC_SIZE } from "./ffi/iovec.ts";
export { PAGE_SIZE } from "./ffi/libc.ts";
export {
  PointerChain,
  PointerChainList,
  PointerChainError,
  PointerPaths,
  Watcher,
  parseChain,
  formatChain,
  freeze,
  watch,
  patch,
  nop,
  findPointerPaths,
  resolveAll,
  restoreAll,
  isChainLike,
  detectPointerSize,
  elfPointerSize,
  pePointerSize,
} from "./trainer/index.ts";
export type {
  ChainBase,
  ChainLike,
  PointerChainSpec,
  PointerChainFailure,
  ResolvedChains,
  FreezeHandle,
  FreezeOptions,
  WatchChange,
  WatchOptions,
  WatchTarget,
  WatchChangeOf,
  WatchValueOf,
  Patch,
  NopOptions,
  PointerPath,
  PointerScanOptions,
  PointerScanProgress,
  PointerScanStats,
  PatchOptions,
  AddressLike,
  PointerScanError,
} from "./trainer/index.ts";
export { VALUE_SIZE, isValueType, isLittleEndian } from "./types.ts";
export type { Value, ValueType, Endian } from "./types.ts";
export type { ValueTypeMap, ScanValueTypeMap, ScanMatchTypeMap, ValueOf, ValueInput, ScanValueOf, ScanMatchType } from "./value-map.ts";
export {
  scan,
  findPattern,
  Scan,
  parseQuery,
  compilePattern,
  patternFromBytes,
  PatternSyntaxError,
  selectRanges,
  terminateScanWorkers,
  isEitherSign,
  EITHER_SIGN_READINGS,
} from "./scan/index.ts";
export type {
  ScanOptions,
  StepOptions,
  PatternScanOptions,
  ScanMatch,
  ScanExitError,
  ScanValueType,
  FirstQuery,
  NextQuery,
  Query,
  Numeric,
  CompiledPattern,
  MemoryOptions,
  ScanRange,
  ScanReading,
  EitherSignType,
} from "./scan/index.ts";
export { residentRuns, existingRuns, zeroFilled, decodePageRegions, decodePagemapEntries } from "./pagemap.ts";
export type { ResidentRuns, ResidentRunsOptions, MemoryLayout, PagemapSource } from "./pagemap.ts";
export type { ScanStats } from "./scan/index.ts";
export {
  TABLE_FORMAT,
  TABLE_VERSION,
  TableError,
  parseTable,
  validateTable,
  formatTable,
  createTable,
  flattenEntries,
  findEntry,
  nextEntryId,
  addEntry,
  removeEntry,
  updateEntry,
  isTableValueType,
} from "./table/model.ts";
export type {
  Table,
  TableEntry,
  TableValueType,
  TableStringEncoding,
  GroupEntry,
  ValueEntry,
  ScriptEntry,
  UnsupportedEntry,
  FreezeSetting,
  FlatEntry,
} from "./table/model.ts";
export { loadTable, saveTable } from "./table/file.ts";
export { readCheatTable, CheatTableError } from "./table/ct.ts";
export type { ReadCheatTableOptions } from "./table/ct.ts";
export { parseAutoAssembler, cePatternToPattern, AutoAssemblerRunner, AutoAssemblerError } from "./table/autoasm.ts";
export type { AutoAssemblerScript, AutoAssemblerStatement } from "./table/autoasm.ts";
export { TableRuntime, formatEntryValue, encodeEntryValue, entrySize } from "./table/runtime.ts";
export type { TableRow, TableRuntimeOptions } from "./table/runtime.ts";
export { parseXml, XmlError } from "./table/xml.ts";
export type { XmlElement } from "./table/xml.ts";

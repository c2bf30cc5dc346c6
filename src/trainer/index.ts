/**
 * The trainer toolkit: pointer chains, freezing, watching, code patches and a
 * pointer scanner. Every function takes the `Process` first.
 *
 * @module
 */
export { formatChain, isChainLike, parseChain, PointerChain, PointerChainList, resolve, resolveAll } from "./chain.ts";
export type { AddressLike, ChainBase, ChainLike, PointerChainSpec, ResolvedChains } from "./chain.ts";
export { PointerChainError } from "./errors.ts";
export type { PointerChainFailure } from "./errors.ts";
export { resetTrainerStats, trainerStats } from "./stats.ts";
export type { TrainerStats } from "./stats.ts";
export { freeze } from "./freeze.ts";
export type { FreezeHandle, FreezeOptions } from "./freeze.ts";
export { watch, Watcher } from "./watch.ts";
export type { WatchChange, WatchChangeOf, WatchOptions, WatchTarget, WatchValueOf } from "./watch.ts";
export { nop, patch } from "./patch.ts";
export type { NopOptions, Patch, PatchOptions } from "./patch.ts";
export { findPointerPaths, PointerPaths } from "./pointer-scan.ts";
export type { PointerPath, PointerScanError, PointerScanOptions, PointerScanProgress, PointerScanStats } from "./pointer-scan.ts";
export { cleanupState, restoreAll } from "./cleanup.ts";
export { detectPointerSize, elfPointerSize, pePointerSize } from "./pointer-size.ts";

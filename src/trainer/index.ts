/**
 * The trainer toolkit: pointer chains, freezing, watching, code patches and a
 * pointer scanner. Every function takes the `Process` first.
 *
 * @module
 */
export { formatChain, parseChain, PointerChain, PointerChainList, resolve, resolveAll } from "./chain.ts";
export type { ChainBase, ChainLike, PointerChainSpec, ResolvedChains } from "./chain.ts";
export { PointerChainError } from "./errors.ts";
export type { PointerChainFailure } from "./errors.ts";
export { resetTrainerStats, trainerStats } from "./stats.ts";
export type { TrainerStats } from "./stats.ts";

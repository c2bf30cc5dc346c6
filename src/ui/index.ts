/**
 * The browser UI of process-vm (`pvm ui`): a Bun server and a small page that
 * scans, lists, freezes and views memory, with live values over one WebSocket.
 *
 * @example
 * ```ts
 * import { startUi } from "process-vm/src/ui/index.ts";
 * const ui = await startUi({ pid: 1234 });
 * console.log(`open ${ui.url}`);
 * // … later
 * await ui.stop();
 * ```
 *
 * @module
 */
export { startUi, MAX_MESSAGE } from "./server.ts";
export type { UiOptions, UiServer } from "./server.ts";
export { UiState, listProcesses, MAX_WINDOW, MAX_ROWS } from "./state.ts";
export type { Push, ProcessInfo } from "./state.ts";
export { LiveValues } from "./live.ts";
export type { LiveSlot, LiveStats, LiveMessage } from "./live.ts";
export { AddressList, MAX_ENTRIES } from "./list.ts";
export type { ListEntry, SavedList } from "./list.ts";
export { Gate, randomToken, isLoopback, cookieName } from "./auth.ts";
export { RequestError, parseTypedValue, formatValue } from "./values.ts";

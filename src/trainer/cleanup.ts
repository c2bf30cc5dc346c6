/**
 * Leaving the target as it was: one registry of what the library changed in
 * other processes (patches) or keeps changing (freezes), undone when this
 * process ends.
 *
 * While something is registered, listeners are installed for:
 * - `exit`: normal exit, `process.exit()`, and, in Bun, uncaught exceptions and
 *   unhandled rejections too (Bun emits `exit` before it dies of those; checked
 *   with Bun 1.4.5). Exit listeners run synchronously, and so does the undo.
 * - `SIGINT`, `SIGTERM`, `SIGHUP`: only when no other listener of that signal
 *   is installed, the registry is undone, its listeners removed, and the signal
 *   raised again, so that the process dies of it as it would have (a shell shows
 *   130, 143, 129). When the program has a listener of its own for the signal,
 *   it has taken the signal over: the registry leaves it alone and undoes
 *   everything at `exit` instead (or when the program calls {@link restoreAll}).
 *
 * The listeners are removed as soon as nothing is registered. A `SIGKILL`
 * cannot be caught: nothing is undone then.
 *
 * The state lives on `globalThis` under a `Symbol.for` key, so two copies of
 * the library in one process share one registry and one set of listeners.
 *
 * @module
 */

/**
 * Something to undo when this process ends: a patch to restore, a freeze to stop.
 *
 * @example
 * ```ts
 * const entry: Undoable = { undo: () => p.restore(), describe: () => "patch at 0x1234" };
 * ```
 */
export interface Undoable {
  /** Undoes it, synchronously. May throw; the error is reported and the others still run. */
  undo(): void;
  /** Names it in a warning when undoing it fails (`"patch at 0x1234"`). */
  describe(): string;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type Signal = (typeof SIGNALS)[number];
const SIGNAL_NUMBER: Record<Signal, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

interface Registry {
  entries: Undoable[];
  installed: boolean;
  onExit: () => void;
  onSignal: (signal: Signal) => void;
}

const KEY = Symbol.for("process-vm.cleanup");

function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  let r = g[KEY];
  if (!r) {
    const made: Registry = {
      entries: [],
      installed: false,
      onExit: () => {
        undoEntries(made);
      },
      onSignal: (signal: Signal) => {
        // Another listener of the program's own means it handles the signal: leave it be.
        const others = process.listeners(signal).some((l) => l !== made.onSignal);
        if (others) return;
        undoEntries(made);
        uninstall(made);
        // No listener left: the default action (die of the signal) applies again.
        process.kill(process.pid, signal);
        // The signal is delivered at once; should it not be, still end as the shell expects.
        setTimeout(() => process.exit(128 + SIGNAL_NUMBER[signal]), 100);
      },
    };
    g[KEY] = r = made;
  }
  return r;
}

function install(r: Registry): void {
  if (r.installed) return;
  r.installed = true;
  process.on("exit", r.onExit);
  for (const s of SIGNALS) process.on(s, r.onSignal);
}

function uninstall(r: Registry): void {
  if (!r.installed) return;
  r.installed = false;
  process.off("exit", r.onExit);
  for (const s of SIGNALS) process.off(s, r.onSignal);
}

/** Undoes every entry, newest first (so overlapping patches come apart in order); returns how many. */
function undoEntries(r: Registry): number {
  let n = 0;
  while (r.entries.length > 0) {
    const e = r.entries.pop()!;
    n++;
    try {
      e.undo();
    } catch (error) {
      console.error(`process-vm: could not undo the ${e.describe()}: ${(error as Error).message}`);
    }
  }
  uninstall(r);
  return n;
}

/**
 * Registers `entry` to be undone when this process ends (see the module
 * documentation). Installs the exit and signal listeners with the first entry.
 *
 * @example
 * ```ts
 * const entry = { undo: () => p.restore(), describe: () => "patch at 0x1234" };
 * track(entry);
 * // later, once undone by other means:
 * untrack(entry);
 * ```
 */
export function track(entry: Undoable): void {
  const r = registry();
  r.entries.push(entry);
  install(r);
}

/**
 * Forgets `entry` (it was undone, or is to be kept). Removes the listeners with
 * the last entry. Harmless for an entry that is not registered.
 *
 * @example
 * ```ts
 * untrack(entry);
 * ```
 */
export function untrack(entry: Undoable): void {
  const r = registry();
  const i = r.entries.lastIndexOf(entry);
  if (i >= 0) r.entries.splice(i, 1);
  if (r.entries.length === 0) uninstall(r);
}

/**
 * Restores every patch and stops every freeze made in this process without
 * `{ keep: true }`, newest first, and returns how many. The library does this
 * by itself at exit and on SIGINT, SIGTERM and SIGHUP; call it from a signal
 * listener of your own, or before handing control elsewhere.
 *
 * A patch is restored only where the target still holds the bytes it wrote
 * (what the target rewrote since is left alone); a freeze stops and the value
 * stays as it was last written. Failures (the target exited, the range was
 * unmapped) are reported on stderr; the rest still run.
 *
 * @example
 * ```ts
 * import { restoreAll } from "process-vm";
 * process.on("SIGINT", () => {
 *   restoreAll();
 *   console.log("bye");
 *   process.exit(0);
 * });
 * ```
 */
export function restoreAll(): number {
  return undoEntries(registry());
}

/**
 * How many patches and freezes are registered to be undone, and whether the
 * exit and signal listeners are installed.
 *
 * @example
 * ```ts
 * const { pending, listening } = cleanupState();
 * ```
 */
export function cleanupState(): { pending: number; listening: boolean } {
  const r = registry();
  return { pending: r.entries.length, listening: r.installed };
}

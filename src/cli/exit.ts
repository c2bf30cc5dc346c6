/**
 * Work that must be undone before `pvm` exits, even on a second Ctrl-C that
 * does not wait for a command to finish (patches to restore).
 *
 * @module
 */

const hooks = new Set<() => void>();

/**
 * Registers `fn` to run before a forced exit; returns a function that unregisters it.
 *
 * @example
 * ```ts
 * const release = onExit(() => patch.restore());
 * try { await work(); } finally { release(); patch.restore(); }
 * ```
 */
export function onExit(fn: () => void): () => void {
  hooks.add(fn);
  return () => hooks.delete(fn);
}

/**
 * Runs every registered hook (errors ignored, each once).
 *
 * @example
 * ```ts
 * runExitHooks();
 * process.exit(130);
 * ```
 */
export function runExitHooks(): void {
  for (const fn of [...hooks]) {
    hooks.delete(fn);
    try {
      fn();
    } catch {
      // the target may be gone
    }
  }
}

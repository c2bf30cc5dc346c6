/**
 * The error thrown for an invalid byte pattern.
 *
 * @module
 */

/**
 * Thrown by {@link compilePattern} (and every function that takes a pattern)
 * when the pattern text is not valid. `position` is the index of the first
 * offending character in `pattern`.
 *
 * @example
 * ```ts
 * import { compilePattern, PatternSyntaxError } from "process-vm";
 * try {
 *   compilePattern("48 8b zz");
 * } catch (error) {
 *   if (error instanceof PatternSyntaxError) console.log(error.position); // 6
 * }
 * ```
 */
export class PatternSyntaxError extends SyntaxError {
  override name = "PatternSyntaxError" as const;
  /** The pattern text as given. */
  readonly pattern: string;
  /** Index of the first offending character in {@link pattern}. */
  readonly position: number;

  constructor(pattern: string, position: number, reason: string) {
    super(`${reason} at position ${position} of pattern "${pattern}"`);
    this.pattern = pattern;
    this.position = position;
  }
}

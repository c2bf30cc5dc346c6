/**
 * The shape of a `pvm` command.
 *
 * @module
 */

/** One `pvm` subcommand. */
export interface Command {
  /** The word after `pvm`. */
  readonly name: string;
  /** Its arguments, for the help text. */
  readonly usage: string;
  /** One line on what it does. */
  readonly summary: string;
  /** Runs it; throws `UsageError` for a command-line mistake. */
  run(argv: readonly string[]): Promise<void> | void;
}

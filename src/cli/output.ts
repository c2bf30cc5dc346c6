/**
 * Where `pvm` writes: results on stdout (text or JSON), notes on stderr,
 * colour only on a terminal, and a progress line that redraws itself on
 * stderr only when stderr is a terminal.
 *
 * @module
 */
import type { Value } from "../types.ts";

/** A stream we write to (process.stdout / process.stderr, or a test's). */
export interface Sink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * Whether colour may be used on `sink`: a terminal, no `NO_COLOR`, no `--no-color`.
 *
 * @example
 * ```ts
 * colorAllowed(process.stdout, false); // false in a pipe
 * ```
 */
export function colorAllowed(sink: Sink, noColorFlag: boolean, env: Record<string, string | undefined> = process.env): boolean {
  return sink.isTTY === true && !noColorFlag && (env.NO_COLOR ?? "") === "" && env.TERM !== "dumb";
}

/**
 * `0x`-prefixed hex.
 *
 * @example
 * ```ts
 * hex(4096); // "0x1000"
 * ```
 */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * A value for JSON: numbers as they are, 64-bit integers as numbers when exact
 * (below 2^53) and decimal strings otherwise, NaN and infinities as strings,
 * bytes as a hex string.
 *
 * @example
 * ```ts
 * jsonValue(2n ** 60n); // "1152921504606846976"
 * ```
 */
export function jsonValue(value: Value | Uint8Array | string | null | undefined): number | string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  return value;
}

/**
 * `{ address, addressHex }` for JSON output.
 *
 * @example
 * ```ts
 * jsonAddress(4096); // { address: 4096, addressHex: "0x1000" }
 * ```
 */
export function jsonAddress(address: number): { address: number; addressHex: string } {
  return { address, addressHex: hex(address) };
}

/**
 * One number of bytes for people: `512 B`, `3.2 MiB`, `6.0 GiB`.
 *
 * @example
 * ```ts
 * bytes(3 << 20); // "3.0 MiB"
 * ```
 */
export function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${String(Math.ceil(seconds % 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * One progress line on a terminal: `scan  42%  1.2 GiB of 2.9 GiB  950 MiB/s  2s left`,
 * redrawn in place at most ten times a second and erased by {@link end}.
 * Does nothing when its stream is not a terminal.
 *
 * @example
 * ```ts
 * const p = new Progress("scan", process.stderr);
 * await proc.scan("i32", 100, { onProgress: (done, total) => p.update(done, total) });
 * p.end();
 * ```
 */
export class Progress {
  readonly enabled: boolean;
  readonly #sink: Sink;
  readonly #label: string;
  readonly #started = performance.now();
  #last = -Infinity;
  #drawn = false;
  /** Work counted before this phase (for several steps shown as one). */
  offset = 0;

  constructor(label: string, sink: Sink, enabled = sink.isTTY === true) {
    this.#label = label;
    this.#sink = sink;
    this.enabled = enabled;
  }

  /** Shows `done` of `total` bytes (or `unit`s, shown as plain counts). */
  update(done: number, total: number, unit: "bytes" | "steps" = "bytes"): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.#last < 100 && done < total) return;
    this.#last = now;
    const pct = total > 0 ? Math.min(100, Math.floor((100 * done) / total)) : 0;
    const seconds = (now - this.#started) / 1000;
    let text = `${this.#label} ${String(pct).padStart(3)}%`;
    if (unit === "bytes") {
      const rate = seconds > 0 ? (done - this.offset) / seconds : 0;
      const left = rate > 0 ? (total - done) / rate : Infinity;
      text += `  ${bytes(done)} of ${bytes(total)}  ${bytes(rate)}/s  ${done >= total ? "done" : `${duration(left)} left`}`;
    } else {
      text += `  ${done} of ${total}`;
    }
    this.#sink.write(`\r\x1b[K${text}`);
    this.#drawn = true;
  }

  /** Erases the line. */
  end(): void {
    if (this.#drawn) this.#sink.write("\r\x1b[K");
    this.#drawn = false;
  }
}

/**
 * The reader of our output went away (`pvm scan … | head`): stop quietly, as `rg` does.
 *
 * @example
 * ```ts
 * try { out.line(text); } catch (error) { if (error instanceof BrokenPipeError) return 0; throw error; }
 * ```
 */
export class BrokenPipeError extends Error {
  override name = "BrokenPipeError" as const;
}

function put(sink: Sink, text: string): void {
  try {
    sink.write(text);
  } catch (error) {
    if ((error as { code?: string }).code === "EPIPE") throw new BrokenPipeError("stdout was closed");
    throw error;
  }
}

const STYLES = { address: "36", value: "1", dim: "2", error: "31", warn: "33", ok: "32" } as const;

/**
 * Results and notes of one command: text lines or JSON on stdout, notes on
 * stderr, colour only where allowed.
 *
 * @example
 * ```ts
 * const out = new Output({ json: false, noColor: false });
 * out.line(`${out.paint("address", hex(0x1000))}  i32 100`);
 * ```
 */
export class Output {
  /** `--json` was given: print JSON documents (or JSON lines) instead of text. */
  readonly json: boolean;
  /** Colour on stdout. */
  readonly color: boolean;
  readonly stdout: Sink;
  readonly stderr: Sink;
  readonly #noColor: boolean;

  constructor(options: { json?: boolean; noColor?: boolean; stdout?: Sink; stderr?: Sink }) {
    this.json = options.json === true;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.#noColor = options.noColor === true;
    this.color = !this.json && colorAllowed(this.stdout, this.#noColor);
  }

  /** One line of results on stdout. */
  line(text: string): void {
    put(this.stdout, `${text}\n`);
  }

  /** A JSON document (pretty) on stdout. */
  document(value: unknown): void {
    put(this.stdout, `${JSON.stringify(value, null, 2)}\n`);
  }

  /** One JSON line on stdout (for streams of records: watch, freeze). */
  record(value: unknown): void {
    put(this.stdout, `${JSON.stringify(value)}\n`);
  }

  /** A note for people on stderr (counts, hints, warnings): never part of the results. */
  note(text: string): void {
    try {
      this.stderr.write(`${text}\n`);
    } catch {
      // nobody reads our notes any more
    }
  }

  /** `text` in a style when colour is on. */
  paint(style: keyof typeof STYLES, text: string): string {
    return this.color ? `\x1b[${STYLES[style]}m${text}\x1b[0m` : text;
  }

  /** `text` in a style for stderr, when colour is allowed there. */
  paintErr(style: keyof typeof STYLES, text: string): string {
    return colorAllowed(this.stderr, this.#noColor) ? `\x1b[${STYLES[style]}m${text}\x1b[0m` : text;
  }

  /** A progress line on stderr (inert unless stderr is a terminal). */
  progress(label: string): Progress {
    return new Progress(label, this.stderr);
  }
}

/**
 * Watching: batched polling of addresses or ranges, reporting changes with the
 * old and new values, as an async iterator and as a callback.
 *
 * @module
 */
import { IovecTable } from "../ffi/iovec.ts";
import { addressOf } from "../ffi/libc.ts";
import type { Process } from "../process.ts";
import { getValue, VALUE_SIZE, type Value, type ValueType } from "../types.ts";
import type { ValueOf } from "../value-map.ts";
import { transferBatch } from "./batch.ts";

/**
 * What to watch: an address (read as `options.type`), an address with its own
 * type, or a range of bytes.
 */
export type WatchTarget =
  | number
  | bigint
  | { readonly address: number | bigint; readonly type: ValueType }
  | { readonly address: number | bigint; readonly length: number };

/**
 * One change. Values are numbers or bigints for typed targets, `Uint8Array`
 * copies for ranges, `null` while unreadable. `V` is the type of the values,
 * `I` the target's index (see {@link WatchChangeOf}).
 */
export interface WatchChange<V = Value | Uint8Array, I extends number = number> {
  /** Index of the target in the list given to {@link watch}. */
  index: I;
  address: number;
  old: V | null;
  new: V | null;
}

/**
 * The value a watch target `W` yields: a typed target's {@link ValueOf} its
 * type, a `Uint8Array` for a range, and for a plain address the value of the
 * watch's `type` option `D` (default `"i32"`: a `number`).
 *
 * @example
 * ```ts
 * type V = WatchValueOf<{ address: number; type: "u64" }>; // bigint
 * ```
 */
export type WatchValueOf<W, D extends ValueType = "i32"> = W extends { readonly type: infer T extends ValueType }
  ? ValueOf<T>
  : W extends { readonly length: number }
    ? Uint8Array
    : ValueOf<D>;

/**
 * The changes a watch of the targets `Ts` reports: for a list written in
 * place (a tuple), a union discriminated by `index`, so that checking
 * `change.index` narrows `change.new` to that target's value type.
 *
 * @example
 * ```ts
 * for await (const c of proc.watch([hp, { address: pos, type: "f64" }, { address: name, length: 16 }])) {
 *   if (c.index === 1) c.new; // number | null
 *   if (c.index === 2) c.new; // Uint8Array | null
 * }
 * ```
 */
export type WatchChangeOf<Ts extends readonly unknown[], D extends ValueType = "i32"> = {
  [K in keyof Ts]: WatchChange<WatchValueOf<Ts[K], D>, K extends `${infer N extends number}` ? N : number>;
}[number];

/** Options of {@link watch}: `D` is the type of plain addresses, `C` the changes reported. */
export interface WatchOptions<D extends ValueType = ValueType, C = WatchChange> {
  /** Type of targets given as plain addresses (default `"i32"`). */
  type?: D;
  /** Milliseconds between polls (default 100). */
  intervalMs?: number;
  /** Called with each change, in target order within a poll. */
  onChange?: (change: C) => void;
  /** Called once when watching stops on an error (the target exited: `ESRCH`). The iterator then throws it. */
  onError?: (error: Error) => void;
  /** Stops watching when aborted. */
  signal?: AbortSignal;
  /** Whether the poll timer keeps Bun running (default `true`). */
  keepAlive?: boolean;
  /** Changes kept for the iterator while nobody takes them; the oldest are dropped beyond this (default 10,000). */
  maxQueue?: number;
}

/**
 * A running watch: iterate it for changes, or pass `onChange`. Stop it with
 * {@link stop}, `using`, `break` out of `for await`, or an abort signal.
 *
 * @example
 * ```ts
 * const w = watch(proc, [{ address: ammo, type: "u16" }]);
 * for await (const change of w) if (change.new === 0) break; // break stops the watch
 * ```
 */
export class Watcher<C = WatchChange> implements AsyncIterable<C>, Disposable {
  /** The target process. */
  readonly process: Process;
  readonly #n: number;
  readonly #address: Float64Array;
  readonly #size: Int32Array;
  readonly #offset: Int32Array;
  readonly #type: (ValueType | null)[];
  readonly #local: IovecTable;
  readonly #remote: IovecTable;
  readonly #now: Uint8Array;
  readonly #nowView: DataView;
  readonly #last: Uint8Array;
  readonly #ok: Uint8Array;
  readonly #lastOk: Uint8Array;
  readonly #options: WatchOptions;
  #timer: ReturnType<typeof setInterval> | null = null;
  #queue: WatchChange[] = [];
  #waiting: { resolve: (r: IteratorResult<WatchChange>) => void; reject: (e: unknown) => void } | null = null;
  #error: Error | null = null;
  #active = true;
  #onAbort: (() => void) | null = null;
  /** Number of changes dropped because the queue was full. */
  dropped = 0;

  constructor(process: Process, targets: readonly WatchTarget[], options: WatchOptions = {}) {
    if (!Array.isArray(targets)) throw new TypeError("targets must be an array");
    const n = targets.length;
    this.process = process;
    this.#options = options;
    this.#n = n;
    this.#address = new Float64Array(n);
    this.#size = new Int32Array(n);
    this.#offset = new Int32Array(n);
    this.#type = new Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const t = targets[i]!;
      let address: number | bigint;
      let type: ValueType | null = null;
      let size: number;
      if (typeof t === "number" || typeof t === "bigint") {
        address = t;
        const ty: ValueType = options.type ?? "i32";
        type = ty;
        size = VALUE_SIZE[ty];
      } else if ("type" in t) {
        const typed = t as { readonly address: number | bigint; readonly type: ValueType };
        address = typed.address;
        type = typed.type;
        size = VALUE_SIZE[typed.type];
      } else {
        const range = t as { readonly address: number | bigint; readonly length: number };
        address = range.address;
        size = range.length;
      }
      const a = Number(address);
      if (!Number.isSafeInteger(a) || a <= 0) throw new RangeError(`targets[${i}]: address must be a positive safe integer`);
      if (type !== null && !Object.hasOwn(VALUE_SIZE, type)) throw new TypeError(`targets[${i}]: unknown type ${String(type)}`);
      if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`targets[${i}]: length must be a positive integer`);
      this.#address[i] = a;
      this.#size[i] = size;
      this.#type[i] = type;
      this.#offset[i] = total;
      total += Math.ceil(size / 8) * 8;
    }
    this.#now = new Uint8Array(new ArrayBuffer(Math.max(8, total)));
    this.#nowView = new DataView(this.#now.buffer);
    this.#last = new Uint8Array(this.#now.length);
    this.#ok = new Uint8Array(Math.max(1, n));
    this.#lastOk = new Uint8Array(Math.max(1, n));
    this.#local = new IovecTable(n);
    this.#remote = new IovecTable(n);
    const base = addressOf(this.#now.buffer);
    for (let i = 0; i < n; i++) {
      this.#local.set(i, base + this.#offset[i]!, this.#size[i]!);
      this.#remote.set(i, this.#address[i]!, this.#size[i]!);
    }
    // The baseline: changes are reported relative to the values at this point.
    this.#poll();
    this.#last.set(this.#now);
    this.#lastOk.set(this.#ok);
    const intervalMs = options.intervalMs ?? 100;
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) throw new RangeError(`intervalMs must be a positive number (got ${intervalMs})`);
    this.#timer = setInterval(() => this.#tick(), intervalMs);
    if (options.keepAlive === false) this.#timer.unref();
    if (options.signal) {
      if (options.signal.aborted) this.stop();
      else {
        this.#onAbort = () => this.stop();
        options.signal.addEventListener("abort", this.#onAbort, { once: true });
      }
    }
  }

  /** `false` once stopped. */
  get active(): boolean {
    return this.#active;
  }

  /** The current value of target `i` (as of the last poll), `null` when unreadable. */
  value(i: number): Value | Uint8Array | null {
    return this.#decode(this.#last, this.#lastOk, i);
  }

  #poll(): void {
    transferBatch("process_vm_readv", this.process.pid, this.#local, this.#remote, this.#n, this.#ok);
  }

  #decode(bytes: Uint8Array, ok: Uint8Array, i: number): Value | Uint8Array | null {
    if (ok[i] === 0) return null;
    const off = this.#offset[i]!;
    const type = this.#type[i];
    if (type) return getValue(bytes === this.#now ? this.#nowView : new DataView(bytes.buffer), off, type);
    return bytes.slice(off, off + this.#size[i]!);
  }

  #tick(): void {
    if (!this.#active) return;
    try {
      this.#poll();
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    const now = this.#now;
    const last = this.#last;
    for (let i = 0; i < this.#n; i++) {
      const off = this.#offset[i]!;
      const size = this.#size[i]!;
      let changed = this.#ok[i] !== this.#lastOk[i];
      if (!changed && this.#ok[i] === 1) {
        for (let k = off; k < off + size; k++) {
          if (now[k] !== last[k]) {
            changed = true;
            break;
          }
        }
      }
      if (!changed) continue;
      const change: WatchChange = {
        index: i,
        address: this.#address[i]!,
        old: this.#decode(last, this.#lastOk, i),
        new: this.#decode(now, this.#ok, i),
      };
      last.set(now.subarray(off, off + size), off);
      this.#lastOk[i] = this.#ok[i]!;
      this.#emit(change);
      if (!this.#active) return;
    }
  }

  #emit(change: WatchChange): void {
    this.#options.onChange?.(change);
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = null;
      w.resolve({ value: change, done: false });
      return;
    }
    this.#queue.push(change);
    if (this.#queue.length > (this.#options.maxQueue ?? 10_000)) {
      this.#queue.shift();
      this.dropped++;
    }
  }

  #fail(error: Error): void {
    this.#error = error;
    this.#end();
    this.#options.onError?.(error);
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = null;
      this.#error = null;
      w.reject(error);
    }
  }

  #end(): void {
    this.#active = false;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#onAbort) this.#options.signal?.removeEventListener("abort", this.#onAbort);
    this.#onAbort = null;
  }

  /** Stops polling; a waiting iterator ends. Harmless to call twice. */
  stop(): void {
    if (!this.#active) return;
    this.#end();
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  /** Changes, oldest first; ends after {@link stop}, throws the error that stopped the watch. */
  [Symbol.asyncIterator](): AsyncIterator<C> {
    // The changes are made by the targets' types, which are C's (see WatchChangeOf).
    return this.#iterator() as AsyncIterator<unknown> as AsyncIterator<C>;
  }

  #iterator(): AsyncIterator<WatchChange> {
    return {
      next: () => {
        const queued = this.#queue.shift();
        if (queued) return Promise.resolve({ value: queued, done: false });
        if (this.#error) {
          const e = this.#error;
          this.#error = null;
          return Promise.reject(e);
        }
        if (!this.#active) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
      },
      return: () => {
        this.stop();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/**
 * Watches addresses or ranges: every `intervalMs`, one batched read of all of
 * them, then a change for each whose bytes differ from the previous poll, with
 * the old and new values. The values when `watch` is called are the baseline.
 *
 * @throws {ProcessVmError} when the first poll cannot read the target at all (`ESRCH`, `EPERM`).
 * @example
 * ```ts
 * using w = watch(proc, [hpAddress, { address: posAddress, type: "f32" }], { intervalMs: 50 });
 * for await (const { address, old, new: now } of w) {
 *   console.log(`0x${address.toString(16)}: ${old} -> ${now}`);
 * }
 * // or: watch(proc, [hpAddress], { onChange: (c) => console.log(c) });
 * ```
 */
export function watch<const Ts extends readonly WatchTarget[], D extends ValueType = "i32">(
  process: Process,
  targets: Ts,
  options: WatchOptions<D, WatchChangeOf<Ts, D>> = {},
): Watcher<WatchChangeOf<Ts, D>> {
  return new Watcher(process, targets, options as unknown as WatchOptions);
}

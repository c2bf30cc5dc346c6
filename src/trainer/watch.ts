/**
 * Watching: batched polling of addresses or ranges, reporting changes with the
 * old and new values, as an async iterator and as a callback. Targets given as
 * pointer chains are followed again at every poll, all together (one batched
 * read per level), so a watch follows the object when the game replaces it.
 *
 * @module
 */
import { IovecTable } from "../ffi/iovec.ts";
import { addressOf, pinnedBuffer } from "../ffi/libc.ts";
import type { Process } from "../process.ts";
import { getValue, isLittleEndian, isValueType, VALUE_SIZE, type Endian, type Value, type ValueType } from "../types.ts";
import { checkInterval, checkOptions, checkProcess, describe, optionalBoolean, optionalCount, optionalFunction, optionalSignal } from "../validate.ts";
import type { ValueOf } from "../value-map.ts";
import { transferBatch } from "./batch.ts";
import { isChainLike, PointerChainList, type ChainLike } from "./chain.ts";
import type { PointerChainError } from "./errors.ts";

/**
 * What to watch: an address (read as `options.type`), an address with its own
 * type, or a range of bytes. Every address may also be a pointer chain
 * (`"libgame.so+0x1a2b0 -> 0x10 -> 0x8"`, a `PointerChain`, `{ base, offsets }`),
 * followed again at every poll.
 */
export type WatchTarget =
  | number
  | bigint
  | ChainLike
  | { readonly address: number | bigint | ChainLike; readonly type: ValueType }
  | { readonly address: number | bigint | ChainLike; readonly length: number };

/**
 * One change. Values are numbers or bigints for typed targets, `Uint8Array`
 * copies for ranges, `null` while unreadable or while a chain is broken.
 * `V` is the type of the values, `I` the target's index (see {@link WatchChangeOf}).
 *
 * For a chain target, a change is reported when the value changes, when the
 * chain breaks (`new` is `null`, `error` names the link) and when it resolves
 * again; a move to a new object that holds the same value is not a change (the
 * next change carries the new address).
 */
export interface WatchChange<V = Value | Uint8Array, I extends number = number> {
  /** Index of the target in the list given to {@link watch}. */
  index: I;
  /** Where the value was read; for a broken chain, where it last resolved (0 if it never did). */
  address: number;
  old: V | null;
  new: V | null;
  /** For a chain target whose chain is broken at this poll: which link failed and why. `null` otherwise. */
  error: PointerChainError | null;
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
export type WatchValueOf<W, D extends ValueType = "i32"> = W extends { readonly address: unknown; readonly type: infer T extends ValueType }
  ? ValueOf<T>
  : W extends { readonly address: unknown; readonly length: number }
    ? Uint8Array
    : ValueOf<D>; // a plain address, or a chain (a string has a length too)

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
  /** Byte order of the typed targets' values: `"little"` (default) or `"big"` (emulated consoles' memory). */
  endian?: Endian;
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

/** The most bytes one watcher reads per poll: MAX_RW_COUNT, what one `process_vm_readv` moves. */
const MAX_WATCH_BYTES = 0x7ffff000;

/** {@link WatchOptions}, each read once and checked. */
interface CheckedWatchOptions {
  readonly type: ValueType | undefined;
  readonly intervalMs: number;
  readonly onChange: ((change: WatchChange) => void) | undefined;
  readonly onError: ((error: Error) => void) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly keepAlive: boolean | undefined;
  readonly maxQueue: number;
  readonly endian: Endian;
}

/** Reads every option once (getters included) and checks it, before anything is armed. */
function watchOptions(options: unknown): CheckedWatchOptions {
  const o = checkOptions<WatchOptions>(options);
  const type = o.type;
  if (type !== undefined && type !== null && !isValueType(type)) throw new TypeError(`options.type: unknown type ${describe(type)}`);
  return Object.freeze({
    type: (type ?? undefined) as ValueType | undefined,
    intervalMs: checkInterval(o.intervalMs, "options.intervalMs", 100),
    onChange: optionalFunction<(change: WatchChange) => void>(o.onChange, "options.onChange"),
    onError: optionalFunction<(error: Error) => void>(o.onError, "options.onError"),
    signal: optionalSignal(o.signal, "options.signal"),
    keepAlive: optionalBoolean(o.keepAlive, "options.keepAlive"),
    maxQueue: optionalCount(o.maxQueue, "options.maxQueue") ?? 10_000,
    endian: isLittleEndian(o.endian) ? "little" : "big",
  });
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
  readonly #lastView: DataView;
  readonly #ok: Uint8Array;
  readonly #lastOk: Uint8Array;
  readonly #options: CheckedWatchOptions;
  readonly #little: boolean;
  /** The chain targets, resolved together at each poll; `null` when there are none. */
  readonly #chains: PointerChainList | null;
  /** Target index of each chain of {@link #chains}. */
  readonly #chainTarget: Int32Array;
  /** 1 while target i's chain resolves (always 1 for an address), and as of the last reported state. */
  readonly #linked: Uint8Array;
  readonly #lastLinked: Uint8Array;
  /** Why target i's chain is broken, `null` while it resolves. */
  readonly #linkError: (PointerChainError | null)[];
  #timer: ReturnType<typeof setInterval> | null = null;
  #queue: WatchChange[] = [];
  #waiting: { resolve: (r: IteratorResult<WatchChange>) => void; reject: (e: unknown) => void } | null = null;
  #error: Error | null = null;
  #active = true;
  #onAbort: (() => void) | null = null;
  /** Number of changes dropped because the queue was full. */
  dropped = 0;

  constructor(process: Process, targets: readonly WatchTarget[], options: WatchOptions = {}) {
    // Everything is read and checked before anything is armed: a bad option leaves no timer behind.
    checkProcess(process);
    const opts = watchOptions(options);
    if (!Array.isArray(targets)) throw new TypeError(`targets must be an array (got ${describe(targets)})`);
    const n = targets.length;
    this.process = process;
    this.#options = opts;
    this.#little = opts.endian !== "big";
    this.#n = n;
    this.#address = new Float64Array(n);
    this.#size = new Int32Array(n);
    this.#offset = new Int32Array(n);
    this.#type = new Array(n);
    const chains: ChainLike[] = [];
    const chainTarget: number[] = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const t = targets[i] as unknown;
      let address: unknown;
      let type: unknown = null;
      let size: unknown;
      if (typeof t === "number" || typeof t === "bigint" || isChainLike(t)) {
        address = t;
        type = opts.type ?? "i32";
      } else if (typeof t === "object" && t !== null) {
        const target = t as { readonly address?: unknown; readonly type?: unknown; readonly length?: unknown };
        address = target.address;
        if ("type" in target) type = target.type;
        else size = target.length;
      } else {
        throw new TypeError(`targets[${i}] must be an address, a pointer chain, { address, type } or { address, length } (got ${describe(t)})`);
      }
      if (type !== null) {
        if (!isValueType(type)) throw new TypeError(`targets[${i}]: unknown type ${describe(type)}`);
        size = VALUE_SIZE[type];
      }
      let a = 0; // a chain's address comes from the first poll
      if (isChainLike(address)) {
        chains.push(address);
        chainTarget.push(i);
      } else {
        if (typeof address !== "number" && typeof address !== "bigint") {
          throw new TypeError(`targets[${i}].address must be a number, a bigint or a pointer chain (got ${describe(address)})`);
        }
        a = Number(address);
        if (!Number.isSafeInteger(a) || a <= 0) throw new RangeError(`targets[${i}]: address must be a positive safe integer (got ${describe(address)})`);
      }
      if (typeof size !== "number" || !Number.isSafeInteger(size) || size <= 0) {
        throw new RangeError(`targets[${i}]: length must be a positive integer (got ${describe(size)})`);
      }
      // One poll reads every target in one call, which the kernel caps at MAX_RW_COUNT (2 GiB - 4 KiB).
      if (total + Math.ceil(size / 8) * 8 > MAX_WATCH_BYTES) {
        throw new RangeError(`targets[${i}]: the watched bytes would exceed ${MAX_WATCH_BYTES} (2 GiB - 4 KiB, what one read can move); watch less, or use a RemoteReader`);
      }
      this.#address[i] = a;
      this.#size[i] = size;
      this.#type[i] = type as ValueType | null;
      this.#offset[i] = total;
      total += Math.ceil(size / 8) * 8;
    }
    try {
      this.#now = new Uint8Array(pinnedBuffer(Math.max(8, total)));
      this.#last = new Uint8Array(this.#now.length);
    } catch {
      throw new RangeError(`the targets need ${2 * total} bytes of buffers, more than can be allocated`);
    }
    this.#nowView = new DataView(this.#now.buffer);
    this.#lastView = new DataView(this.#last.buffer);
    this.#ok = new Uint8Array(Math.max(1, n));
    this.#lastOk = new Uint8Array(Math.max(1, n));
    this.#local = new IovecTable(n);
    this.#remote = new IovecTable(n);
    this.#chains = chains.length > 0 ? new PointerChainList(process, chains) : null;
    this.#chainTarget = Int32Array.from(chainTarget);
    this.#linked = new Uint8Array(Math.max(1, n)).fill(1);
    this.#lastLinked = new Uint8Array(Math.max(1, n)).fill(1);
    this.#linkError = new Array<PointerChainError | null>(n).fill(null);
    const base = addressOf(this.#now.buffer);
    for (let i = 0; i < n; i++) {
      this.#local.set(i, base + this.#offset[i]!, this.#size[i]!);
      this.#remote.set(i, this.#address[i]!, this.#size[i]!);
    }
    // The baseline: changes are reported relative to the values at this point.
    this.#poll();
    this.#last.set(this.#now);
    this.#lastOk.set(this.#ok);
    this.#lastLinked.set(this.#linked);
    const signal = opts.signal;
    if (signal?.aborted) {
      this.#end();
      return;
    }
    this.#timer = setInterval(() => this.#tick(), opts.intervalMs);
    if (opts.keepAlive === false) this.#timer.unref();
    if (signal) {
      this.#onAbort = () => this.stop();
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** `false` once stopped. */
  get active(): boolean {
    return this.#active;
  }

  /** The current value of target `i` (as of the last poll), `null` when unreadable or its chain is broken. */
  value(i: number): Value | Uint8Array | null {
    if (typeof i !== "number") throw new TypeError(`index must be a number (got ${describe(i)})`);
    if (!Number.isInteger(i) || i < 0 || i >= this.#n) throw new RangeError(`index ${describe(i)} is not one of the ${this.#n} targets`);
    return this.#decode(this.#last, this.#lastOk, i);
  }

  /**
   * Where target `i` is read: its address, or where its chain resolved at the
   * last poll (where it last resolved while broken; 0 if it never did).
   *
   * @example
   * ```ts
   * console.log(w.address(0).toString(16));
   * ```
   */
  address(i: number): number {
    return this.#address[i] ?? 0;
  }

  /**
   * Why target `i`'s chain is broken at the last poll, `null` while it
   * resolves (and for plain addresses).
   *
   * @example
   * ```ts
   * const why = w.error(0)?.message;
   * ```
   */
  error(i: number): PointerChainError | null {
    return this.#linkError[i] ?? null;
  }

  #poll(): void {
    // Values of another program (after an exec, or a reused pid) are not changes of the watched ones.
    this.process.verify("process_vm_readv");
    const list = this.#chains;
    if (list !== null) this.#follow(list);
    transferBatch("process_vm_readv", this.process.pid, this.#local, this.#remote, this.#n, this.#ok);
    if (list !== null) {
      // a broken chain's zero-length entry "succeeds": it is unreadable
      const targets = this.#chainTarget;
      for (let k = 0; k < targets.length; k++) {
        const i = targets[k]!;
        if (this.#linked[i] === 0) this.#ok[i] = 0;
      }
    }
  }

  /**
   * Resolves every chain target and points its read at the result; a broken
   * link reads nothing (zero lengths on both sides keep the tables in step).
   * Allocates nothing unless a chain breaks.
   */
  #follow(list: PointerChainList): void {
    const addresses = list.resolve();
    const targets = this.#chainTarget;
    for (let k = 0; k < targets.length; k++) {
      const i = targets[k]!;
      const a = addresses[k]!;
      if (a !== a) {
        if (this.#linked[i] === 1) {
          this.#linked[i] = 0;
          this.#linkError[i] = list.error(k);
          this.#local.setLength(i, 0);
          this.#remote.setLength(i, 0);
          // the module may come back at another base: look it up again while the chain is broken
          list.refresh();
        }
        continue;
      }
      if (this.#linked[i] === 0) {
        this.#linked[i] = 1;
        this.#linkError[i] = null;
        this.#local.setLength(i, this.#size[i]!);
      }
      this.#address[i] = a;
      this.#remote.set(i, a, this.#size[i]!);
    }
  }

  #decode(bytes: Uint8Array, ok: Uint8Array, i: number): Value | Uint8Array | null {
    if (ok[i] === 0) return null;
    const off = this.#offset[i]!;
    const type = this.#type[i];
    if (type) return getValue(bytes === this.#now ? this.#nowView : this.#lastView, off, type, this.#little);
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
      let changed = this.#ok[i] !== this.#lastOk[i] || this.#linked[i] !== this.#lastLinked[i];
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
        error: this.#linkError[i]!,
      };
      last.set(now.subarray(off, off + size), off);
      this.#lastOk[i] = this.#ok[i]!;
      this.#lastLinked[i] = this.#linked[i]!;
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
    if (this.#queue.length > this.#options.maxQueue) {
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
 * A target may be a pointer chain: it is resolved again at every poll (all
 * chains together, one batched read per level), so the watch follows the
 * object when the game replaces it. A chain that breaks reports a change to
 * `null` with `error` naming the link, and one more when it resolves again. A
 * chain that is broken when `watch` is called does not throw: its baseline is
 * `null`.
 *
 * @throws {ProcessVmError} when the first poll cannot read the target at all (`ESRCH`, `EPERM`).
 * @example
 * ```ts
 * using w = watch(proc, [hpAddress, { address: "libgame.so+0x1a2b0 -> 0x10 -> 0x8", type: "f32" }], { intervalMs: 50 });
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

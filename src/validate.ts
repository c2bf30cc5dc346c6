/**
 * Argument checks shared by every entry point. Each throws a `TypeError` or
 * `RangeError` that names the argument, before anything reaches the kernel.
 *
 * @module
 */
import { types } from "node:util";

/** Largest pid_t (pid_t is a signed 32-bit integer). */
export const PID_MAX = 0x7fffffff;
/** 2^64: the first value that does not fit an `unsigned long`. */
export const TWO_64 = 1n << 64n;
/** `SSIZE_MAX` + 1 as a double (2^63), exact. */
export const SSIZE_LIMIT = 2 ** 63;

/**
 * A short description of any value for an error message. Never throws (a
 * Symbol, a revoked Proxy or an object with a throwing `toString` included).
 *
 * @example
 * ```ts
 * throw new TypeError(`pid must be a number (got ${describe(pid)})`);
 * ```
 */
export function describe(value: unknown): string {
  try {
    if (typeof value === "bigint") return `${value}n`;
    if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
    if (typeof value === "symbol") return value.toString();
    if (typeof value === "function") return "a function";
    if (typeof value === "object") {
      if (value === null) return "null";
      if (Array.isArray(value)) return "an array";
      if (ArrayBuffer.isView(value)) return `a ${TA_TAG.call(value) ?? "DataView"}`;
      return "an object";
    }
    return String(value);
  } catch {
    return "a value that cannot be described";
  }
}

/** Checks a process id: a positive 32-bit integer. */
export function checkPid(pid: unknown, name = "pid"): number {
  if (typeof pid !== "number") throw new TypeError(`${name} must be a number (got ${describe(pid)})`);
  if (!Number.isInteger(pid) || pid < 1 || pid > PID_MAX) {
    throw new RangeError(`${name} must be a positive 32-bit integer (got ${describe(pid)})`);
  }
  return pid;
}

/** Checks a byte count: a non-negative safe integer. */
export function checkLength(length: unknown, name: string): number {
  if (typeof length !== "number") throw new TypeError(`${name} must be a number (got ${describe(length)})`);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`${name} must be a non-negative integer (got ${describe(length)})`);
  }
  return length;
}

/**
 * Checks a remote address given as `number` (a non-negative safe integer) or
 * `bigint` (0 to 2^64 - 1), and returns it as a number when it is below 2^53
 * (every user-space address of x86-64 and aarch64) or the bigint otherwise.
 */
export function checkAddress(address: unknown, name: string): number | bigint {
  if (typeof address === "number") {
    if (!Number.isInteger(address) || address < 0) {
      throw new RangeError(`${name} must be a non-negative integer (got ${describe(address)})`);
    }
    if (address > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`${name} is above 2^53 and cannot be exact as a number; pass a bigint (got ${address})`);
    }
    return address;
  }
  if (typeof address === "bigint") {
    if (address < 0n || address >= TWO_64) {
      throw new RangeError(`${name} must be between 0 and 2^64 - 1 (got ${describe(address)})`);
    }
    return address <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(address) : address;
  }
  throw new TypeError(`${name} must be a number or a bigint (got ${describe(address)})`);
}

/** Checks `flags`: an `unsigned long`, passed to the kernel unchanged. */
export function checkFlags(flags: unknown): number | bigint {
  if (typeof flags === "number") {
    if (!Number.isSafeInteger(flags) || flags < 0) {
      throw new RangeError(`flags must be a non-negative integer (got ${describe(flags)})`);
    }
    return flags;
  }
  if (typeof flags === "bigint") {
    if (flags < 0n || flags >= TWO_64) throw new RangeError(`flags must fit an unsigned long (got ${describe(flags)})`);
    return flags;
  }
  throw new TypeError(`flags must be a number or a bigint (got ${describe(flags)})`);
}

// The engine's own getters: a view's `buffer`, `byteOffset` and `byteLength` can be
// redefined by user code, and what reaches the kernel must be what the engine knows.
const getter = (proto: object, name: string) => Object.getOwnPropertyDescriptor(proto, name)!.get!;
const TYPED_ARRAY = Object.getPrototypeOf(Uint8Array.prototype) as object;
const TA_BUFFER = getter(TYPED_ARRAY, "buffer");
const TA_OFFSET = getter(TYPED_ARRAY, "byteOffset");
const TA_LENGTH = getter(TYPED_ARRAY, "byteLength");
const DV_BUFFER = getter(DataView.prototype, "buffer");
const DV_OFFSET = getter(DataView.prototype, "byteOffset");
const DV_LENGTH = getter(DataView.prototype, "byteLength");
const AB_DETACHED = getter(ArrayBuffer.prototype, "detached");
const AB_LENGTH = getter(ArrayBuffer.prototype, "byteLength");
const SAB_LENGTH = getter(SharedArrayBuffer.prototype, "byteLength");
const TA_TAG = getter(TYPED_ARRAY, Symbol.toStringTag as unknown as string);

/**
 * A view's byte length as the engine knows it (0 once its buffer is detached or shrunk past it).
 *
 * @example
 * ```ts
 * if (viewLength(view) !== measured) throw new RangeError("local changed length while it was checked");
 * ```
 */
export function viewLength(view: unknown): number {
  return (TA_TAG.call(view) !== undefined ? TA_LENGTH : DV_LENGTH).call(view) as number;
}

/** A view's memory as the engine knows it. */
export interface ViewParts {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/**
 * Checks that `view` is an `ArrayBufferView` whose buffer is not detached, and
 * returns its buffer, offset and length read through the engine's own getters.
 */
export function checkView(view: unknown, name: string): ViewParts {
  if (!ArrayBuffer.isView(view)) {
    throw new TypeError(`${name} must be an ArrayBufferView such as a Uint8Array (got ${describe(view)})`);
  }
  const typed = TA_TAG.call(view) !== undefined;
  // Reading the buffer first also moves a small typed array out of the GC heap into its own ArrayBuffer.
  const buffer = (typed ? TA_BUFFER : DV_BUFFER).call(view) as ArrayBufferLike;
  if (!types.isSharedArrayBuffer(buffer) && AB_DETACHED.call(buffer)) {
    throw new TypeError(`${name} is backed by a detached ArrayBuffer`);
  }
  return {
    buffer,
    byteOffset: (typed ? TA_OFFSET : DV_OFFSET).call(view) as number,
    byteLength: (typed ? TA_LENGTH : DV_LENGTH).call(view) as number,
  };
}

/** Checks `data` to be written (an `ArrayBufferView` or an `ArrayBuffer`) and returns a fresh byte view of it. */
export function toBytes(data: unknown, name: string): Uint8Array {
  if (types.isAnyArrayBuffer(data)) {
    const shared = types.isSharedArrayBuffer(data);
    if (!shared && AB_DETACHED.call(data)) throw new TypeError(`${name} is a detached ArrayBuffer`);
    return new Uint8Array(data, 0, (shared ? SAB_LENGTH : AB_LENGTH).call(data) as number);
  }
  const parts = checkView(data, name);
  return new Uint8Array(parts.buffer, parts.byteOffset, parts.byteLength);
}

/**
 * The longest delay a timer takes (2^31 - 1 ms, about 24.8 days); longer ones would fire every millisecond.
 *
 * @example
 * ```ts
 * if (intervalMs > MAX_TIMER_MS) throw new RangeError("intervalMs is too long");
 * ```
 */
export const MAX_TIMER_MS = 0x7fffffff;

/**
 * Checks an options argument: an object, or `undefined`/`null` for none. Returns an object to read from.
 *
 * @example
 * ```ts
 * const o = checkOptions<WatchOptions>(options); // then read each field once
 * ```
 */
export function checkOptions<T extends object>(options: unknown, name = "options"): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object") throw new TypeError(`${name} must be an object (got ${describe(options)})`);
  return options as Partial<T>;
}

/**
 * Checks an optional callback.
 *
 * @example
 * ```ts
 * const onError = optionalFunction<(e: Error) => void>(o.onError, "options.onError");
 * ```
 */
export function optionalFunction<F extends (...args: never[]) => unknown>(value: unknown, name: string): F | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "function") throw new TypeError(`${name} must be a function (got ${describe(value)})`);
  return value as F;
}

/**
 * Checks an optional boolean flag.
 *
 * @example
 * ```ts
 * const keepAlive = optionalBoolean(o.keepAlive, "options.keepAlive") ?? true;
 * ```
 */
export function optionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw new TypeError(`${name} must be a boolean (got ${describe(value)})`);
  return value;
}

/**
 * Checks a timer interval in milliseconds: a positive finite number of at most 2^31 - 1.
 *
 * @example
 * ```ts
 * const intervalMs = checkInterval(o.intervalMs, "options.intervalMs", 100);
 * ```
 */
export function checkInterval(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number") throw new TypeError(`${name} must be a number of milliseconds (got ${describe(value)})`);
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a positive number (got ${describe(value)})`);
  if (value > MAX_TIMER_MS) throw new RangeError(`${name} must be at most 2^31 - 1 (${MAX_TIMER_MS}) milliseconds (got ${describe(value)})`);
  return value;
}

/**
 * Checks an optional `AbortSignal` (an `AbortController` is refused with a hint to pass its `signal`).
 *
 * @example
 * ```ts
 * const signal = optionalSignal(o.signal, "options.signal");
 * ```
 */
export function optionalSignal(value: unknown, name: string): AbortSignal | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof AbortSignal) return value;
  if (value instanceof AbortController) throw new TypeError(`${name} must be an AbortSignal (got an AbortController: pass its .signal)`);
  throw new TypeError(`${name} must be an AbortSignal (got ${describe(value)})`);
}

/**
 * Checks an optional non-negative safe integer.
 *
 * @example
 * ```ts
 * const maxQueue = optionalCount(o.maxQueue, "options.maxQueue") ?? 10_000;
 * ```
 */
export function optionalCount(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number") throw new TypeError(`${name} must be a number (got ${describe(value)})`);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer (got ${describe(value)})`);
  return value;
}

const processes = new WeakSet<object>();

/**
 * Marks `value` as a genuine `Process` (called by its constructor).
 *
 * @example
 * ```ts
 * registerProcess(this); // in Process's constructor
 * ```
 */
export function registerProcess(value: object): void {
  processes.add(value);
}

/**
 * Checks that `value` is a `Process` made by this library (a plain object with a `pid` is not).
 *
 * @example
 * ```ts
 * checkProcess(process); // TypeError "process must be a Process (got 5); make one with new Process(pid)"
 * ```
 */
export function checkProcess<P>(value: P, name = "process"): P {
  if (typeof value !== "object" || value === null || !processes.has(value)) {
    throw new TypeError(`${name} must be a Process (got ${describe(value)}); make one with new Process(pid)`);
  }
  return value;
}

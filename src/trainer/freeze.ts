/**
 * Freezing: values written back on a timer. All the values frozen in one
 * process at one interval share a freezer, which writes them in one batched
 * `process_vm_writev` per tick (split in calls of 1024 entries, the kernel's
 * limit).
 *
 * @module
 */
import { ProcessVmError } from "../errors.ts";
import { IovecTable } from "../ffi/iovec.ts";
import { addressOf, pinnedBuffer } from "../ffi/libc.ts";
import type { Process } from "../process.ts";
import { checkValue, getValue, isLittleEndian, isValueType, setValue, VALUE_SIZE, type Endian, type Value, type ValueType } from "../types.ts";
import { checkInterval, checkOptions, checkProcess, describe, optionalBoolean, optionalFunction } from "../validate.ts";
import { transferBatch } from "./batch.ts";
import { trainerStats } from "./stats.ts";

/** Options of {@link freeze}. */
export interface FreezeOptions {
  /** Milliseconds between writes (default 100, Cheat Engine's default). Values frozen at the same interval share one batched write. */
  intervalMs?: number;
  /** When the target raises the value, keep the higher value frozen instead of writing the old one back. */
  allowIncrease?: boolean;
  /** When the target lowers the value, keep the lower value frozen. */
  allowDecrease?: boolean;
  /** Byte order of the value in memory: `"little"` (default) or `"big"` (emulated consoles' memory). */
  endian?: Endian;
  /**
   * Called once when this freeze stops on its own: the target exited (`ESRCH`),
   * or the address can no longer be written (`EFAULT`). Without it, the stop is
   * reported once per freezer with `console.warn`. Either way, {@link FreezeHandle.stopped}
   * resolves with the error.
   */
  onError?: (error: Error) => void;
  /**
   * Whether the freezer's timer keeps Bun running (default `true`: a trainer
   * whose only work is to hold values must not exit). With `false` the timer
   * is unref'd. Once every freeze of a freezer has stopped, its timer is
   * cleared either way.
   */
  keepAlive?: boolean;
}

/** A frozen value. */
export interface FreezeHandle extends Disposable {
  /** The frozen address. */
  readonly address: number;
  readonly type: ValueType;
  /** The value being written (it follows the target with `allowIncrease` / `allowDecrease`). */
  readonly value: Value;
  /** `false` once stopped, by {@link stop} or by an error. */
  readonly active: boolean;
  /** The error that stopped the freeze, if one did. */
  readonly error: Error | null;
  /** Resolves when the freeze stops: with `null` after {@link stop}, with the error otherwise. Never rejects. */
  readonly stopped: Promise<Error | null>;
  /** Changes the frozen value (written from the next tick). */
  set(value: Value): void;
  /** Stops freezing. Harmless to call twice. */
  stop(): void;
}

class Entry implements FreezeHandle {
  readonly address: number;
  readonly type: ValueType;
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly flexible: boolean;
  readonly options: FreezeOptions;
  /** Whether the value is little-endian in memory. */
  readonly little: boolean;
  value: Value;
  active = true;
  error: Error | null = null;
  readonly stopped: Promise<Error | null>;
  #resolve!: (error: Error | null) => void;
  #freezer: Freezer;

  constructor(freezer: Freezer, address: number, type: ValueType, value: Value, options: FreezeOptions) {
    this.#freezer = freezer;
    this.address = address;
    this.type = type;
    this.size = VALUE_SIZE[type];
    this.bytes = new Uint8Array(new ArrayBuffer(8));
    this.view = new DataView(this.bytes.buffer);
    this.value = value;
    this.little = isLittleEndian(options.endian);
    setValue(this.view, 0, type, value, this.little);
    this.options = options;
    this.flexible = Boolean(options.allowIncrease || options.allowDecrease);
    this.stopped = new Promise((resolve) => (this.#resolve = resolve));
  }

  set(value: Value): void {
    this.value = checkValue(this.type, value);
    setValue(this.view, 0, this.type, this.value, this.little);
    this.#freezer.changed();
  }

  /** Ends the freeze; returns whether it was active. */
  end(error: Error | null): boolean {
    if (!this.active) return false;
    this.active = false;
    this.error = error;
    this.#resolve(error);
    return true;
  }

  stop(): void {
    if (this.end(null)) this.#freezer.remove(this);
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}

const freezers = new Map<string, Freezer>();
const processIds = new WeakMap<Process, number>();
let nextProcessId = 0;

/** The values frozen in one process at one interval, written together each tick. */
class Freezer {
  readonly key: string;
  readonly process: Process;
  readonly intervalMs: number;
  entries: Entry[] = [];
  #timer: ReturnType<typeof setInterval> | null = null;
  #dirty = true;
  #count = 0;
  #local = new IovecTable(0);
  #remote = new IovecTable(0);
  #arena = new Uint8Array(pinnedBuffer(0));
  #ok = new Uint8Array(1);
  // the flexible entries' current values
  #flex: Entry[] = [];
  #readLocal = new IovecTable(0);
  #readRemote = new IovecTable(0);
  #readArena = new DataView(pinnedBuffer(8));
  #readOk = new Uint8Array(1);

  constructor(key: string, process: Process, intervalMs: number) {
    this.key = key;
    this.process = process;
    this.intervalMs = intervalMs;
  }

  add(entry: Entry): void {
    this.entries.push(entry);
    this.changed();
    if (!this.#timer) this.#timer = setInterval(() => this.tick(), this.intervalMs);
    this.#ref();
  }

  remove(entry: Entry): void {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    this.changed();
    if (this.entries.length === 0) this.#close();
    else this.#ref();
  }

  changed(): void {
    this.#dirty = true;
  }

  #ref(): void {
    if (!this.#timer) return;
    if (this.entries.some((e) => e.options.keepAlive !== false)) this.#timer.ref();
    else this.#timer.unref();
  }

  #close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (freezers.get(this.key) === this) freezers.delete(this.key);
  }

  #rebuild(): void {
    const entries = this.entries;
    const n = entries.length;
    if (this.#local.capacity < n) {
      const cap = Math.max(n, this.#local.capacity * 2, 16);
      this.#local = new IovecTable(cap);
      this.#remote = new IovecTable(cap);
      this.#arena = new Uint8Array(pinnedBuffer(cap * 8));
      this.#ok = new Uint8Array(cap);
    }
    const base = addressOf(this.#arena.buffer);
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      this.#arena.set(e.bytes.subarray(0, e.size), i * 8);
      this.#local.set(i, base + i * 8, e.size);
      this.#remote.set(i, e.address, e.size);
    }
    this.#count = n;
    this.#flex = entries.filter((e) => e.flexible);
    const f = this.#flex.length;
    if (this.#readLocal.capacity < f) {
      const cap = Math.max(f, this.#readLocal.capacity * 2, 16);
      this.#readLocal = new IovecTable(cap);
      this.#readRemote = new IovecTable(cap);
      this.#readArena = new DataView(pinnedBuffer(cap * 8));
      this.#readOk = new Uint8Array(cap);
    }
    const rbase = addressOf(this.#readArena.buffer);
    for (let i = 0; i < f; i++) {
      const e = this.#flex[i]!;
      this.#readLocal.set(i, rbase + i * 8, e.size);
      this.#readRemote.set(i, e.address, e.size);
    }
    this.#dirty = false;
  }

  tick(): void {
    if (this.entries.length === 0) return this.#close();
    if (this.#dirty) this.#rebuild();
    trainerStats.freezeTicks++;
    const pid = this.process.pid;
    let faults: Entry[] | null = null; // made only on the rare tick where a write failed
    try {
      // The pid still runs the program the values were frozen in (no exec, no reuse): else nothing is written.
      this.process.verify();
      const f = this.#flex.length;
      if (f > 0) {
        transferBatch("process_vm_readv", pid, this.#readLocal, this.#readRemote, f, this.#readOk);
        for (let i = 0; i < f; i++) {
          if (this.#readOk[i] === 0) continue; // the write below reports it
          const e = this.#flex[i]!;
          const now = getValue(this.#readArena, i * 8, e.type, e.little);
          if ((e.options.allowIncrease && now > e.value) || (e.options.allowDecrease && now < e.value)) {
            e.value = now;
            setValue(e.view, 0, e.type, now, e.little);
            this.#dirty = true;
          }
        }
        if (this.#dirty) this.#rebuild();
      }
      const n = this.#count;
      const done = transferBatch("process_vm_writev", pid, this.#local, this.#remote, n, this.#ok);
      if (done < n) {
        faults = [];
        for (let i = 0; i < n; i++) if (this.#ok[i] === 0) faults.push(this.entries[i]!);
      }
    } catch (error) {
      // The target is gone (ESRCH) or out of reach: every freeze of this freezer stops, reported once each.
      const stopped = this.entries.filter((e) => e.end(error as Error));
      this.entries = [];
      this.#close();
      this.#report(stopped, error as Error);
      return;
    }
    if (faults !== null) {
      // Each freeze gets its own error; without onError handlers, one warning covers them all.
      let first: Error | null = null;
      for (const e of faults) {
        const error = new ProcessVmError({ errno: 14, syscall: "process_vm_writev", pid, address: e.address, length: e.size, hint: "the frozen address can no longer be written; freezing it stopped" });
        first ??= error;
        if (e.end(error)) this.remove(e);
      }
      this.#report(faults, first!);
    }
  }

  #report(stopped: Entry[], error: Error): void {
    let warned = false;
    for (const e of stopped) {
      if (e.options.onError) e.options.onError(e.error ?? error);
      else if (!warned) {
        warned = true;
        console.warn(`process-vm: freezing in pid ${this.process.pid} stopped: ${error.message}`);
      }
    }
  }
}

/**
 * Freezes a value: writes `value` at `address` now, then every `intervalMs`.
 * All values frozen in one process at one interval are written together, in
 * one batched write per tick (plus one batched read when some allow increase
 * or decrease). The first write happens at once, so a bad address throws here.
 *
 * When the target exits, every freeze of it stops and each reports once
 * (`onError`, or one `console.warn`); nothing rejects. After `stop()` of the
 * last freeze, no timer is left.
 *
 * @throws {ProcessVmError} when the first write fails.
 * @throws {TypeError | RangeError} when `value` does not fit `type`.
 * @example
 * ```ts
 * using hp = freeze(proc, hpAddress, "i32", 999, { intervalMs: 50, onError: (e) => console.log(e.message) });
 * const ammo = freeze(proc, ammoAddress, "u16", 30, { allowIncrease: true });
 * // ...
 * ammo.stop();
 * ```
 */
export function freeze(process: Process, address: number | bigint, type: ValueType, value: Value, options: FreezeOptions = {}): FreezeHandle {
  // Every argument and option is read once and checked before the first write: a bad one leaves nothing frozen.
  checkProcess(process);
  if (!isValueType(type)) throw new TypeError(`unknown value type ${describe(type)}`);
  if (typeof address !== "number" && typeof address !== "bigint") throw new TypeError(`address must be a number or a bigint (got ${describe(address)})`);
  const a = Number(address);
  if (!Number.isSafeInteger(a) || a <= 0) throw new RangeError(`address must be a positive safe integer (got ${describe(address)})`);
  const opts = freezeOptions(options);
  const v = checkValue(type, value);
  // One freezer per Process object and interval: a Process made after an exec must not share the old one's fate.
  let id = processIds.get(process);
  if (id === undefined) processIds.set(process, (id = nextProcessId++));
  const key = `${id}:${opts.intervalMs}`;
  let freezer = freezers.get(key);
  const made = !freezer;
  freezer ??= new Freezer(key, process, opts.intervalMs);
  const entry = new Entry(freezer, a, type, v, opts);
  process.write(a, entry.bytes.subarray(0, entry.size));
  // Only a freeze whose first write landed joins (or makes) a freezer and arms its timer.
  if (made) freezers.set(key, freezer);
  freezer.add(entry);
  return entry;
}

/** Reads every option once (getters included) and checks it. */
function freezeOptions(options: unknown): Readonly<FreezeOptions> & { readonly intervalMs: number } {
  const o = checkOptions<FreezeOptions>(options);
  return Object.freeze({
    intervalMs: checkInterval(o.intervalMs, "options.intervalMs", 100),
    allowIncrease: optionalBoolean(o.allowIncrease, "options.allowIncrease"),
    allowDecrease: optionalBoolean(o.allowDecrease, "options.allowDecrease"),
    onError: optionalFunction<(error: Error) => void>(o.onError, "options.onError"),
    keepAlive: optionalBoolean(o.keepAlive, "options.keepAlive"),
    endian: isLittleEndian(o.endian) ? "little" : "big",
  });
}

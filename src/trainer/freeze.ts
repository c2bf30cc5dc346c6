/**
 * Freezing: values written back on a timer. All the values frozen in one
 * process at one interval share a freezer, which writes them in one batched
 * `process_vm_writev` per tick (split in calls of 1024 entries, the kernel's
 * limit). Values frozen through pointer chains are followed again each tick,
 * all chains of a freezer together (one batched read per level), so a freeze
 * moves with the object when the game replaces it.
 *
 * @module
 */
import { ProcessVmError } from "../errors.ts";
import { IovecTable } from "../ffi/iovec.ts";
import { addressOf, pinnedBuffer } from "../ffi/libc.ts";
import type { Process } from "../process.ts";
import { checkValue, getValue, isLittleEndian, isValueType, setValue, VALUE_SIZE, type Endian, type Value, type ValueType } from "../types.ts";
import { checkInterval, checkOptions, checkProcess, describe, optionalBoolean, optionalFunction } from "../validate.ts";
import type { ValueInput, ValueOf } from "../value-map.ts";
import { transferBatch } from "./batch.ts";
import { isChainLike, PointerChain, PointerChainList, type ChainLike } from "./chain.ts";
import { track, untrack, type Undoable } from "./cleanup.ts";
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
   * or the address can no longer be written (`EFAULT`; a freeze of a chain
   * waits instead, see `onChainChange`). Without it, the stop is
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
  /**
   * Leave this freeze out of the cleanup. By default every freeze is
   * registered with the patches: it is stopped by {@link restoreAll}, at exit
   * and on SIGINT, SIGTERM and SIGHUP (the process still dies of the signal).
   * Stopping does not write the original value back: the value stays as last
   * written, as when a freeze is unticked in Cheat Engine. A freeze made with
   * `keep: true` is not stopped by {@link restoreAll} and installs no exit or
   * signal listener (it still ends with this process: nothing writes it any more).
   */
  keep?: boolean;
  /**
   * For a freeze of a pointer chain: called when the chain breaks (`address`
   * `null`, `error` a {@link PointerChainError} naming the link), when the
   * address it resolves to cannot be written (`address` set, `error` a
   * `ProcessVmError`), when it holds again (`error` `null`), and when it moves
   * to a new address (the game replaced the object). The freeze goes on
   * through all of these; only {@link FreezeHandle.stop} or the target's exit
   * end it.
   */
  onChainChange?: (address: number | null, error: Error | null) => void;
}

/** A frozen value of type `T` (its `value` a `number`, or a `bigint` for `i64`/`u64`). */
export interface FreezeHandle<T extends ValueType = ValueType> extends Disposable {
  /** The frozen address; for a chain, the address it last resolved to (0 until it first resolves). */
  readonly address: number;
  /** The chain, in arrow form, for a freeze of a pointer chain; `null` for an address. */
  readonly chain: string | null;
  /**
   * For a chain: why the value is not held right now (a {@link PointerChainError}
   * when a link is broken, a `ProcessVmError` when the address it resolves to
   * cannot be written), `null` while it is held. Always `null` for an address.
   */
  readonly broken: Error | null;
  readonly type: T;
  /** The value being written (it follows the target with `allowIncrease` / `allowDecrease`). */
  readonly value: ValueOf<T>;
  /** `false` once stopped, by {@link stop} or by an error. */
  readonly active: boolean;
  /** The error that stopped the freeze, if one did. */
  readonly error: Error | null;
  /** Resolves when the freeze stops: with `null` after {@link stop}, with the error otherwise. Never rejects. */
  readonly stopped: Promise<Error | null>;
  /** Changes the frozen value (written from the next tick). */
  set(value: ValueInput<T>): void;
  /** Stops freezing. Harmless to call twice. */
  stop(): void;
}

/** Why a chain entry is not held: not broken, a broken link, a failed write. */
const HELD = 0;
const LINK = 1;
const WRITE = 2;

class Entry implements FreezeHandle {
  address: number;
  readonly chain: string | null;
  /** The chain to follow each tick, `null` for an address. */
  readonly target: PointerChain | null;
  broken: Error | null = null;
  /** HELD, LINK or WRITE. */
  brokenBy = HELD;
  /** Index in the freezer's write table and in its read table (-1: not flexible). */
  writeIndex = 0;
  readIndex = -1;
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
  /** The registration with the exit/signal cleanup, `null` with `keep`. */
  readonly undo: Undoable | null;

  constructor(freezer: Freezer, address: number, target: PointerChain | null, type: ValueType, value: Value, options: FreezeOptions) {
    this.#freezer = freezer;
    this.address = address;
    this.target = target;
    this.chain = target ? target.text : null;
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
    this.undo = options.keep
      ? null
      : { undo: () => this.stop(), describe: () => `freeze of ${type} at ${this.chain ?? `0x${this.address.toString(16)}`} in pid ${freezer.process.pid}` };
  }

  /** Records a change of the chain's state and tells `onChainChange`. */
  moved(brokenBy: number, error: Error | null): void {
    this.brokenBy = brokenBy;
    this.broken = error;
    const report = this.options.onChainChange;
    if (report) {
      // after the tick: the callback may stop freezes, which reshapes the freezer's tables
      const address = brokenBy === LINK ? null : this.address;
      queueMicrotask(() => report(address, error));
    }
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
    if (this.undo) untrack(this.undo);
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
  // the entries that follow a chain, resolved together each tick; rebuilt when entries come or go
  #members = true;
  #chainEntries: Entry[] = [];
  #chains: PointerChainList | null = null;

  constructor(key: string, process: Process, intervalMs: number) {
    this.key = key;
    this.process = process;
    this.intervalMs = intervalMs;
  }

  add(entry: Entry): void {
    this.entries.push(entry);
    this.#members = true;
    this.changed();
    if (!this.#timer) this.#timer = setInterval(() => this.tick(), this.intervalMs);
    this.#ref();
  }

  remove(entry: Entry): void {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    this.#members = true;
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
    if (this.#members) {
      this.#members = false;
      this.#chainEntries = entries.filter((e) => e.target !== null);
      this.#chains = this.#chainEntries.length > 0 ? new PointerChainList(this.process, this.#chainEntries.map((e) => e.target!)) : null;
    }
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
      // a broken link writes nothing: zero lengths on both sides keep the tables in step
      const size = e.brokenBy === LINK ? 0 : e.size;
      e.writeIndex = i;
      e.readIndex = -1;
      this.#local.set(i, base + i * 8, size);
      this.#remote.set(i, e.address, size);
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
      const size = e.brokenBy === LINK ? 0 : e.size;
      e.readIndex = i;
      this.#readLocal.set(i, rbase + i * 8, size);
      this.#readRemote.set(i, e.address, size);
    }
    this.#dirty = false;
  }

  tick(): void {
    if (this.entries.length === 0) return this.#close();
    if (this.#dirty) this.#rebuild();
    trainerStats.freezeTicks++;
    const pid = this.process.pid;
    let faults: Entry[] | null = null; // made only on the rare tick where a write to an address failed
    try {
      // The pid still runs the program the values were frozen in (no exec, no reuse): else nothing is written.
      this.process.verify();
      if (this.#chains !== null) this.#follow(this.#chains);
      const f = this.#flex.length;
      if (f > 0) {
        transferBatch("process_vm_readv", pid, this.#readLocal, this.#readRemote, f, this.#readOk);
        for (let i = 0; i < f; i++) {
          const e = this.#flex[i]!;
          if (this.#readOk[i] === 0 || e.brokenBy === LINK) continue; // the write below reports it
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
        for (let i = 0; i < n; i++) {
          if (this.#ok[i] !== 0) continue;
          const e = this.entries[i]!;
          if (e.target === null) (faults ??= []).push(e);
          else if (e.brokenBy === HELD) {
            // a chain that leads to memory that cannot be written: wait for it to move (or the memory to come back)
            e.moved(WRITE, new ProcessVmError({ errno: 14, syscall: "process_vm_writev", pid, address: e.address, length: e.size, hint: `pointer chain ${e.chain} leads to an address that cannot be written; the freeze goes on and holds the value once it can` }));
          }
        }
      }
      const c = this.#chainEntries.length;
      for (let k = 0; k < c; k++) {
        const e = this.#chainEntries[k]!;
        if (e.brokenBy === WRITE && this.#ok[e.writeIndex] === 1) e.moved(HELD, null);
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

  /**
   * Resolves every chain of this freezer (one batched read per level) and
   * points its table entries at the results; a broken link gets zero lengths.
   * Allocates nothing unless a chain changes state.
   */
  #follow(list: PointerChainList): void {
    const addresses = list.resolve();
    const entries = this.#chainEntries;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      const a = addresses[k]!;
      if (a !== a) {
        if (e.brokenBy === LINK) continue;
        this.#aim(e, e.address, 0);
        // the module may come back at another base: look it up again while the chain is broken
        list.refresh();
        e.moved(LINK, list.error(k));
        continue;
      }
      if (a === e.address && e.brokenBy !== LINK) continue;
      const was = e.brokenBy;
      e.address = a;
      this.#aim(e, a, e.size);
      e.moved(was === WRITE ? WRITE : HELD, was === WRITE ? e.broken : null);
    }
  }

  /** Points entry `e`'s write (and read) slots at `address` with `size` bytes. */
  #aim(e: Entry, address: number, size: number): void {
    this.#local.setLength(e.writeIndex, size);
    this.#remote.set(e.writeIndex, address, size);
    if (e.readIndex >= 0) {
      this.#readLocal.setLength(e.readIndex, size);
      this.#readRemote.set(e.readIndex, address, size);
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
 * `address` may be a pointer chain (`"libgame.so+0x1a2b0 -> 0x10 -> 0x8"`, a
 * {@link PointerChain} or `{ base, offsets }`): it is followed again every
 * tick, so the freeze holds the new object when the game replaces the old
 * one. A chain that does not resolve (a null or dangling link, the module not
 * loaded yet) does not throw: the freeze waits, `broken` says why, and it
 * holds the value as soon as the chain resolves. `onChainChange` reports each
 * break, recovery and move.
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
export function freeze<T extends ValueType>(
  process: Process, address: number | bigint | ChainLike, type: T, value: ValueInput<T>, options: FreezeOptions = {},
): FreezeHandle<T> {
  // Every argument and option is read once and checked before the first write: a bad one leaves nothing frozen.
  checkProcess(process);
  if (!isValueType(type)) throw new TypeError(`unknown value type ${describe(type)}`);
  const chain = isChainLike(address);
  if (!chain && typeof address !== "number" && typeof address !== "bigint") {
    throw new TypeError(`address must be a number, a bigint or a pointer chain (got ${describe(address)})`);
  }
  if (!chain && (!Number.isSafeInteger(Number(address)) || Number(address) <= 0)) {
    throw new RangeError(`address must be a positive safe integer (got ${describe(address)})`);
  }
  const opts = freezeOptions(options);
  const v = checkValue(type, value);
  // One freezer per Process object and interval: a Process made after an exec must not share the old one's fate.
  let id = processIds.get(process);
  if (id === undefined) processIds.set(process, (id = nextProcessId++));
  const key = `${id}:${opts.intervalMs}`;
  let freezer = freezers.get(key);
  const made = !freezer;
  freezer ??= new Freezer(key, process, opts.intervalMs);
  // A chain is parsed (SyntaxError) and followed once now; one that does not resolve yet waits.
  const target = chain ? new PointerChain(process, address as ChainLike) : null;
  const a = target ? (target.tryResolve() ?? 0) : Number(address);
  const entry = new Entry(freezer, a, target, type, v, opts);
  if (target === null) process.write(a, entry.bytes.subarray(0, entry.size));
  else if (a === 0) {
    entry.brokenBy = LINK;
    entry.broken = target.error();
  } else {
    try {
      process.write(a, entry.bytes.subarray(0, entry.size));
    } catch (error) {
      if ((error as { code?: string }).code !== "EFAULT") throw error;
      entry.brokenBy = WRITE;
      entry.broken = error as Error;
    }
  }
  // Only a freeze whose first write landed (or whose chain waits) joins (or makes) a freezer and arms its timer.
  if (made) freezers.set(key, freezer);
  freezer.add(entry);
  if (entry.undo) track(entry.undo);
  return entry as FreezeHandle as FreezeHandle<T>;
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
    keep: optionalBoolean(o.keep, "options.keep"),
    onChainChange: optionalFunction<(address: number | null, error: Error | null) => void>(o.onChainChange, "options.onChainChange"),
  });
}

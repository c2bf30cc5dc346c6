/**
 * Live values: everything the page shows (a window of scan matches, the
 * address list, the memory view) is read by ONE `RemoteReader`, rebuilt when
 * that set changes, on a timer of up to 20 ticks a second; only the values
 * that changed since the last tick are sent.
 *
 * @module
 */
import { RemoteReader, type ValueType } from "../index.ts";
import { formatValue } from "./values.ts";

/** One watched value: `key` names it to the page (`"s3"`, `"l12"`, `"m0"`…). */
export interface LiveSlot {
  key: string;
  address: number;
  /** Bytes to read: the type's size, or a memory view row. */
  length: number;
  /** How to show it: a value type, or `"hex"` for raw bytes. */
  format: ValueType | "hex";
}

/** Counters, for tests and the status line. */
export interface LiveStats {
  /** Timer ticks that had something to read. */
  ticks: number;
  /** `RemoteReader.read()` calls: one per tick. */
  reads: number;
  /** Readers built (the visible set changed). */
  rebuilds: number;
  /** Messages sent. */
  messages: number;
  /** Ranges the current reader reads. */
  ranges: number;
}

/** What {@link LiveValues} sends: `values[key]` is the new text, or `null` when it cannot be read. */
export interface LiveMessage {
  t: "live";
  values: Record<string, string | null>;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

function show(reader: RemoteReader, i: number, format: ValueType | "hex"): string {
  switch (format) {
    case "i8": return String(reader.i8(i));
    case "u8": return String(reader.u8(i));
    case "i16": return String(reader.i16(i));
    case "u16": return String(reader.u16(i));
    case "i32": return String(reader.i32(i));
    case "u32": return String(reader.u32(i));
    case "i64": return String(reader.i64(i));
    case "u64": return String(reader.u64(i));
    case "f32": return formatValue("f32", reader.f32(i));
    case "f64": return formatValue("f64", reader.f64(i));
    case "hex": {
      const view = reader.views[i]!;
      let s = "";
      for (let k = 0; k < view.length; k++) s += HEX[view[k]!]!;
      return s;
    }
  }
}

/**
 * The live-value loop of one attached process.
 *
 * @example
 * ```ts
 * const live = new LiveValues((msg) => socket.send(JSON.stringify(msg)));
 * live.setProcess(pid);
 * live.set("list", [{ key: "l1", address: hp, length: 4, format: "i32" }]);
 * live.start();
 * ```
 */
export class LiveValues {
  /** Counters since creation. */
  readonly stats: LiveStats = { ticks: 0, reads: 0, rebuilds: 0, messages: 0, ranges: 0 };
  readonly #send: (message: LiveMessage) => void;
  readonly #onError: (error: Error) => void;
  readonly #intervalMs: number;
  readonly #groups = new Map<string, readonly LiveSlot[]>();
  #pid: number | null = null;
  #dirty = false;
  #reader: RemoteReader | null = null;
  #slots: LiveSlot[] = [];
  /** Last bytes sent per slot, packed; `#known[i]` 0 until sent once, 2 when sent as unreadable. */
  #last = new Uint8Array(0);
  #lastOffset = new Int32Array(0);
  #known = new Uint8Array(0);
  #timer: ReturnType<typeof setInterval> | null = null;

  /**
   * @param send Receives each message (only when something changed).
   * @param options `intervalMs` between ticks (default 50: 20 updates a second); `onError` when reading stops (the target exited).
   */
  constructor(send: (message: LiveMessage) => void, options: { intervalMs?: number; onError?: (error: Error) => void } = {}) {
    this.#send = send;
    this.#intervalMs = options.intervalMs ?? 50;
    this.#onError = options.onError ?? (() => {});
  }

  /** The process read, or null for none. */
  setProcess(pid: number | null): void {
    this.#pid = pid;
    this.#dirty = true;
  }

  /** Replaces one group of watched values (`"scan"`, `"list"`, `"mem"`…); the reader is rebuilt at the next tick. */
  set(group: string, slots: readonly LiveSlot[]): void {
    this.#groups.set(group, slots);
    this.#dirty = true;
  }

  /** Forgets the last values sent, so that the next tick sends every value. */
  resend(): void {
    this.#known.fill(0);
  }

  /** Starts the timer (unref'd: it never keeps Bun running). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.tick(), this.#intervalMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Stops the timer. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #rebuild(): void {
    this.#dirty = false;
    this.#slots = [];
    const unreadable: Record<string, null> = {};
    let skipped = false;
    for (const slots of this.#groups.values()) {
      for (const s of slots) {
        // An address no read can reach is shown as unreadable rather than failing the reader of every value.
        if (Number.isSafeInteger(s.address) && s.address >= 0 && s.address + s.length <= Number.MAX_SAFE_INTEGER) this.#slots.push(s);
        else {
          unreadable[s.key] = null;
          skipped = true;
        }
      }
    }
    if (skipped) this.#send({ t: "live", values: unreadable });
    const n = this.#slots.length;
    this.#reader = null;
    this.stats.ranges = 0;
    if (this.#pid === null || n === 0) return;
    this.#reader = new RemoteReader(this.#pid, this.#slots.map((s) => ({ address: s.address, length: s.length })));
    this.stats.rebuilds++;
    this.stats.ranges = n;
    this.#lastOffset = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.#lastOffset[i + 1] = this.#lastOffset[i]! + this.#slots[i]!.length;
    this.#last = new Uint8Array(this.#lastOffset[n]!);
    this.#known = new Uint8Array(n);
  }

  /** One tick: one batched read of every watched value, then one message with those that changed. */
  tick(): void {
    if (this.#dirty) {
      try {
        this.#rebuild();
      } catch (error) {
        this.#reader = null;
        this.#onError(error as Error);
        return;
      }
    }
    const reader = this.#reader;
    if (!reader) return;
    this.stats.ticks++;
    this.stats.reads++;
    try {
      reader.read();
    } catch (error) {
      this.#reader = null;
      this.#onError(error as Error);
      return;
    }
    const completed = reader.completed;
    const views = reader.views;
    const last = this.#last;
    const lastOffset = this.#lastOffset;
    const known = this.#known;
    let values: Record<string, string | null> | null = null;
    for (let i = 0; i < views.length; i++) {
      if (!completed[i]) {
        if (known[i] !== 2) {
          known[i] = 2;
          (values ??= {})[this.#slots[i]!.key] = null;
        }
        continue;
      }
      const view = views[i]!;
      const o = lastOffset[i]!;
      let same = known[i] === 1;
      if (same) {
        for (let k = 0; k < view.length; k++) {
          if (last[o + k] !== view[k]) {
            same = false;
            break;
          }
        }
      }
      if (same) continue;
      last.set(view, o);
      known[i] = 1;
      const slot = this.#slots[i]!;
      (values ??= {})[slot.key] = show(reader, i, slot.format);
    }
    if (values) {
      this.stats.messages++;
      this.#send({ t: "live", values });
    }
  }
}

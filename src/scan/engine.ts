/**
 * The work of a scan, cut into tasks that run the same way on the main thread
 * (in slices) or in a Worker: read 1 MiB chunks into one reused ArrayBuffer,
 * run the compiled routine, and collect matches into flat typed arrays.
 *
 * @module
 */
import { IOV_MAX, IovecTable } from "../ffi/iovec.ts";
import { addressOf } from "../ffi/libc.ts";
import { nativeTransfer, rawTransfer } from "../syscall.ts";
import { VALUE_SIZE, type ValueType } from "../types.ts";
import { patternMatcher, type CompiledPattern, type PatternMatcher } from "./pattern.ts";
import type { NumericSpec } from "./query.ts";
import {
  alignedRoutine, ARRAY, exactNeedle, nextSpanRoutine, snapshotAlignedRoutine, snapshotUnalignedRoutine, unalignedRoutine,
} from "./routines.ts";

/** Bytes read per call. */
export const CHUNK = 1 << 20;
/** Matches of a next scan within this many bytes of each other are read as one span (one iovec). */
export const SPAN_GAP = 4096;
/** Fields per piece in a task's `pieces`: address, length (of start positions), limit (readable end), snapshot offset. */
export const PIECE = 4;
/**
 * Fields per piece of a sparse snapshot: address, length, offset into its data (or {@link ZERO} for zeros).
 *
 * @example
 * ```ts
 * for (let k = 0; k < pieces.length; k += SNAP_PIECE) console.log(pieces[k], pieces[k + 1], pieces[k + 2]);
 * ```
 */
export const SNAP_PIECE = 3;
/**
 * The offset of a snapshot piece that holds zeros and has no data.
 *
 * @example
 * ```ts
 * if (pieces[k + 2] === ZERO) continue; // zeros, never read
 * ```
 */
export const ZERO = -1;
/**
 * Bytes per SharedArrayBuffer of a snapshot's data (one holds at most 4 GiB):
 * offsets run on across the chunks, and no piece crosses from one to the next.
 *
 * @example
 * ```ts
 * const chunk = Math.floor(offset / SNAP_CHUNK); // data[chunk] holds the piece, at offset - chunk * SNAP_CHUNK
 * ```
 */
export const SNAP_CHUNK = 1 << 26;

const ESRCH = 3;
const EPERM = 1;

/** What a scan compares: numbers through a compiled routine, or bytes through a pattern. */
export type Matcher =
  | { kind: "numeric"; spec: NumericSpec }
  | { kind: "bytes"; op: "eq" | "ne" | "changed" | "unchanged" | "any"; pattern: CompiledPattern | null; width: number };

/**
 * `holes` (flat `[start, end)` pairs, ascending) are never-touched pages of private anonymous mappings, which hold
 * zeros: they are never read (reading them would make the kernel map them in the target). `null`: no holes.
 */
export type Task =
  | { kind: "first"; pid: number; matcher: Matcher; width: number; align: number; pieces: Float64Array; holes: Float64Array | null; addressesOnly?: boolean }
  | { kind: "snapshot"; pid: number; pieces: Float64Array; snap: SharedArrayBuffer[] }
  | {
    kind: "snapNext"; pid: number; matcher: Matcher; width: number; align: number; pieces: Float64Array; holes: Float64Array | null;
    /** The previous level's pieces ({@link SNAP_PIECE} fields each) and their data. */
    parent: Float64Array; snap: SharedArrayBuffer[] | null;
  }
  | {
    kind: "next"; pid: number; matcher: Matcher; width: number; addresses: Float64Array; values: Uint8Array; from: number; to: number;
    holes: Float64Array | null;
  };

export interface TaskResult {
  /** Match addresses, ascending. */
  addresses: Float64Array;
  /** `width` bytes per match: the value read. */
  values: Uint8Array;
  count: number;
  /** Bytes (or, for next scans, matches × width) examined. */
  bytes: number;
  /** Bytes that could not be read. */
  skipped: number;
  /** Bytes transferred from the target. */
  resident: number;
  /** Bytes taken as zeros without reading them (in the task's holes). */
  zeroed: number;
  /** Snapshot tasks: bytes read from the start of each piece. */
  read?: Float64Array;
  /** A fatal errno (ESRCH, EPERM…) and where. */
  errno?: number;
  errAddress?: number;
}

/** Growable flat output. */
class Out {
  addresses: Float64Array;
  values: Uint8Array;
  count = 0;
  readonly width: number;
  constructor(width: number, capacity = 1024) {
    this.width = width;
    this.addresses = new Float64Array(capacity);
    this.values = new Uint8Array(capacity * width);
  }
  grow(need: number): void {
    let cap = this.addresses.length;
    while (cap < need) cap *= 2;
    const a = new Float64Array(cap);
    a.set(this.addresses.subarray(0, this.count));
    const v = new Uint8Array(cap * this.width);
    v.set(this.values.subarray(0, this.count * this.width));
    this.addresses = a;
    this.values = v;
  }
  /** Adds `n` matches at local offsets `offs[0..n)` (times `scale`) of `src`, whose offset 0 is at `base`. */
  addMany(base: number, offs: Int32Array, n: number, scale: number, src: Uint8Array): void {
    if (this.count + n > this.addresses.length) this.grow(this.count + n);
    const w = this.width;
    const a = this.addresses;
    const v = this.values;
    let c = this.count;
    for (let k = 0; k < n; k++) {
      const off = offs[k]! * scale;
      a[c] = base + off;
      const d = c * w;
      for (let b = 0; b < w; b++) v[d + b] = src[off + b]!;
      c++;
    }
    this.count = c;
  }
  result(bytes: number, skipped: number, s: Scratch): TaskResult {
    return {
      addresses: this.addresses.slice(0, this.count),
      values: this.values.slice(0, this.count * this.width),
      count: this.count,
      bytes,
      skipped,
      resident: s.transferred,
      zeroed: s.zeroed,
    };
  }
}

/**
 * Per-thread scratch: the chunk buffer and its views, iovec tables. The chunk
 * buffer holds a chunk, its overlap of `width - 1` bytes and up to 7 bytes of
 * alignment, so it is made larger for wide values (long patterns and strings).
 */
class Scratch {
  readonly capacity: number;
  readonly buffer: ArrayBuffer;
  readonly address: number;
  readonly u8: Uint8Array;
  readonly buf: Buffer;
  readonly dv: DataView;
  readonly arrays = new Map<ValueType, ArrayLike<number | bigint>>();
  readonly out = new Int32Array(CHUNK + 64);
  /** Next scans: per span of a batch, its local offset, its address, its first match (and the batch's end). */
  readonly spanLocal = new Int32Array(IOV_MAX);
  readonly spanStart = new Float64Array(IOV_MAX);
  readonly spanFirst = new Int32Array(IOV_MAX + 1);
  readonly local = new IovecTable(IOV_MAX);
  readonly remote = new IovecTable(IOV_MAX);
  readonly fn = nativeTransfer("process_vm_readv");
  /** The current task's holes (see {@link Task}), a cursor into them, and its counters. */
  holes: Float64Array | null = null;
  hc = 0;
  transferred = 0;
  zeroed = 0;
  /** Old values of a snapshot comparison, laid out as the chunk buffer (made on first use). */
  #old: { buffer: ArrayBuffer; u8: Uint8Array; dv: DataView; arrays: Map<ValueType, ArrayLike<number | bigint>> } | undefined;
  constructor(width: number) {
    this.capacity = CHUNK + 64 + Math.ceil(width / 8) * 8;
    this.buffer = new ArrayBuffer(this.capacity);
    this.address = addressOf(this.buffer);
    this.u8 = new Uint8Array(this.buffer);
    this.buf = Buffer.from(this.buffer);
    this.dv = new DataView(this.buffer);
  }
  array(type: ValueType): ArrayLike<number | bigint> {
    let a = this.arrays.get(type);
    if (!a) {
      const w = VALUE_SIZE[type];
      a = new ARRAY[type](this.buffer, 0, Math.floor(this.buffer.byteLength / w));
      this.arrays.set(type, a);
    }
    return a;
  }
  /** One remote range into local memory at `localAddress`: bytes read or -errno. */
  read(pid: number, localAddress: number, address: number, length: number): number {
    this.local.set(0, localAddress, length);
    this.remote.set(0, address, length);
    const n = rawTransfer(this.fn, pid, this.local.address, 1, this.remote.address, 1, 0);
    if (n > 0) this.transferred += n;
    return n;
  }
  /** Starts a task with `holes`. */
  begin(holes: Float64Array | null): void {
    this.holes = holes;
    this.hc = 0;
    this.transferred = 0;
    this.zeroed = 0;
  }
  /** Whether no hole meets `[start, end)`. Calls ascend in `start`. */
  clear(start: number, end: number): boolean {
    const holes = this.holes;
    if (holes === null) return true;
    let c = this.hc;
    while (c < holes.length && holes[c + 1]! <= start) c += 2;
    this.hc = c;
    return c >= holes.length || holes[c]! >= end;
  }
  /**
   * `[address, address + length)` into the chunk buffer at `offset`: read,
   * except the parts in holes, which are zeros (never read, so never faulted
   * in). Returns how many bytes from the start are valid (a read stops at a
   * fault, as a plain read would), or -errno when nothing could be read or the
   * error is fatal. Calls ascend in `address`.
   */
  fill(pid: number, offset: number, address: number, length: number): number {
    if (this.clear(address, address + length)) return this.read(pid, this.address + offset, address, length);
    const holes = this.holes!;
    const end = address + length;
    let at = address;
    for (let k = this.hc; at < end; k += 2) {
      const hs = k < holes.length ? Math.max(at, Math.min(end, holes[k]!)) : end;
      if (hs > at) {
        const n = this.read(pid, this.address + offset + (at - address), at, hs - at);
        if (n !== hs - at) {
          if (n < 0 && fatal(-n)) return n;
          return at - address + Math.max(0, n);
        }
      }
      if (k >= holes.length) break;
      const he = Math.min(end, holes[k + 1]!);
      if (he > hs) {
        this.u8.fill(0, offset + (hs - address), offset + (he - address));
        this.zeroed += he - hs;
      }
      at = Math.max(hs, he);
    }
    return length;
  }
  /** The old-values buffer: its bytes, a DataView and typed arrays over it. */
  old(): { u8: Uint8Array; dv: DataView; array(type: ValueType): ArrayLike<number | bigint> } {
    if (!this.#old) {
      const buffer = new ArrayBuffer(this.capacity);
      this.#old = { buffer, u8: new Uint8Array(buffer), dv: new DataView(buffer), arrays: new Map() };
    }
    const o = this.#old;
    return {
      u8: o.u8,
      dv: o.dv,
      array(type) {
        let a = o.arrays.get(type);
        if (!a) {
          a = new ARRAY[type](o.buffer, 0, Math.floor(o.buffer.byteLength / VALUE_SIZE[type]));
          o.arrays.set(type, a);
        }
        return a;
      },
    };
  }
}

let scratch: Scratch | undefined;
const matchers = new WeakMap<CompiledPattern, PatternMatcher>();

function fatal(errno: number): boolean {
  return errno === ESRCH || errno === EPERM;
}

/** Runs one task to the end. */
export function runTask(task: Task): TaskResult {
  const width = "width" in task ? task.width : 0;
  if (!scratch || scratch.capacity < CHUNK + 64 + width) scratch = new Scratch(width);
  const s = scratch;
  switch (task.kind) {
    case "first": return runFirst(s, task);
    case "snapshot": return runSnapshot(s, task);
    case "snapNext": return runSnapNext(s, task);
    case "next": return runNext(s, task);
  }
}

function patternOf(m: Matcher): PatternMatcher {
  const p = (m as { pattern: CompiledPattern }).pattern;
  let pm = matchers.get(p);
  if (!pm) matchers.set(p, (pm = patternMatcher(p)));
  return pm;
}

function runFirst(s: Scratch, task: Extract<Task, { kind: "first" }>): TaskResult {
  const { pid, matcher, width: w, align, pieces } = task;
  // Pattern scans return addresses only: keeping each match's bytes would cost width bytes per match.
  const out = new Out(task.addressesOnly ? 0 : w);
  let bytes = 0;
  let skipped = 0;
  const spec = matcher.kind === "numeric" ? matcher.spec : null;
  const needle = spec ? exactNeedle(spec) : null;
  const needleBuf = needle ? Buffer.from(needle) : null;
  const fast = spec !== null && align === w && spec.big !== true;
  const aligned = spec && fast ? alignedRoutine(spec) : null;
  const unaligned = spec && !fast ? unalignedRoutine(spec) : null;
  const arr = spec ? s.array(spec.type) : null;
  const pm = matcher.kind === "bytes" ? patternOf(matcher) : null;
  const offs = s.out;
  s.begin(task.holes);
  for (let q = 0; q < pieces.length; q += PIECE) {
    const start = pieces[q]!;
    const end = start + pieces[q + 1]!;
    const limit = pieces[q + 2]!;
    for (let a = start; a < end; ) {
      const want = Math.min(end - a, CHUNK);
      const readLen = Math.min(want + w - 1, limit - a);
      const lo = a % 8;
      const n = s.fill(pid, lo, a, readLen);
      if (n < 0) {
        if (fatal(-n)) return { ...out.result(bytes, skipped, s), errno: -n, errAddress: a };
        skipped += want;
        bytes += want;
        a += want;
        continue;
      }
      const base = a - lo;
      const avail = lo + n;
      const to = Math.min(lo + want, avail - w + 1);
      let from = lo + ((align - (a % align)) % align);
      if (n < readLen && n < want) skipped += want - n;
      bytes += want;
      if (to > from) {
        if (pm) {
          let c = 0;
          pm.find(s.buf, from, to, avail, (p) => {
            if ((base + p) % align === 0) offs[c++] = p;
          });
          out.addMany(base, offs, c, 1, s.u8);
        } else {
          let dense = needleBuf === null;
          if (needleBuf) {
            // Native byte search for the value, then an alignment check; the loop once matches turn out dense.
            const view = avail < s.buf.length ? s.buf.subarray(0, avail) : s.buf;
            let c = 0;
            let p = view.indexOf(needleBuf, from);
            while (p >= 0 && p < to) {
              if ((base + p) % align === 0) offs[c++] = p;
              if (c >= 64 && p - from < c * 64) {
                dense = true;
                from = p + 1;
                from += (align - ((base + from) % align)) % align;
                break;
              }
              p = view.indexOf(needleBuf, p + 1);
            }
            out.addMany(base, offs, c, 1, s.u8);
          }
          if (dense && from < to) {
            if (aligned) {
              const c = aligned(arr!, Math.ceil(from / w), Math.ceil(to / w), offs);
              out.addMany(base, offs, c, w, s.u8);
            } else if (unaligned) {
              const c = unaligned(s.dv, from, to, align, offs);
              out.addMany(base, offs, c, 1, s.u8);
            }
          }
        }
      }
      a += want;
    }
  }
  return out.result(bytes, skipped, s);
}

function runSnapshot(s: Scratch, task: Extract<Task, { kind: "snapshot" }>): TaskResult {
  const { pid, pieces, snap } = task;
  s.begin(null);
  const chunkAddress = snap.map((b) => addressOf(b as unknown as ArrayBuffer));
  const read = new Float64Array(pieces.length / PIECE);
  let bytes = 0;
  let skipped = 0;
  const result = (): TaskResult =>
    ({ addresses: new Float64Array(0), values: new Uint8Array(0), count: 0, bytes, skipped, read, resident: s.transferred, zeroed: 0 });
  for (let q = 0, k = 0; q < pieces.length; q += PIECE, k++) {
    const start = pieces[q]!;
    const len = pieces[q + 1]!;
    const off = pieces[q + 3]!;
    const chunk = Math.floor(off / SNAP_CHUNK);
    const local = chunkAddress[chunk]! + (off - chunk * SNAP_CHUNK);
    let got = 0;
    while (got < len) {
      const step = Math.min(len - got, CHUNK);
      const n = s.read(pid, local + got, start + got, step);
      if (n < 0 && fatal(-n)) return { ...result(), errno: -n, errAddress: start + got };
      if (n > 0) got += n;
      if (n < step) break;
    }
    read[k] = got;
    bytes += len;
    skipped += len - got;
  }
  return result();
}

function runSnapNext(s: Scratch, task: Extract<Task, { kind: "snapNext" }>): TaskResult {
  const { pid, matcher, width: w, align, pieces, parent, snap } = task;
  const out = new Out(w);
  s.begin(task.holes);
  const offs = s.out;
  let bytes = 0;
  let skipped = 0;
  const old = s.old();
  /** Views of the old values: the scratch copy, or a chunk of the snapshot's data. */
  type Source = { arr: ArrayLike<number | bigint> | null; dv: DataView<ArrayBufferLike>; u8: Uint8Array<ArrayBufferLike> };
  const numericType = matcher.kind === "numeric" ? matcher.spec.type : null;
  const local: Source = { arr: numericType ? old.array(numericType) : null, dv: old.dv, u8: old.u8 };
  const chunks: (Source | undefined)[] = [];
  const chunkSource = (k: number): Source => {
    let src = chunks[k];
    if (!src) {
      const b = snap![k]!;
      src = { arr: numericType ? new ARRAY[numericType](b, 0, Math.floor(b.byteLength / w)) : null, dv: new DataView(b), u8: new Uint8Array(b) };
      chunks[k] = src;
    }
    return src;
  };
  // Old values: straight from the snapshot's data when one data piece holds them all, else copied into `old`.
  let routine: (from: number, to: number, base: number, delta: number, src: Source) => number;
  if (matcher.kind === "numeric") {
    const spec = matcher.spec;
    if (align === w && spec.big !== true) {
      const f = snapshotAlignedRoutine(spec);
      const cur = s.array(spec.type);
      routine = (from, to, _base, delta, src) => {
        const c = f(cur, src.arr!, delta / w, Math.ceil(from / w), Math.ceil(to / w), offs);
        for (let k = 0; k < c; k++) offs[k]! *= w;
        return c;
      };
    } else {
      const f = snapshotUnalignedRoutine(spec);
      routine = (from, to, _base, delta, src) => f(s.dv, src.dv, delta, from, to, align, offs);
    }
  } else {
    const op = matcher.op;
    routine = (from, to, base, delta, src) => {
      let c = 0;
      const u8 = s.u8;
      const o8 = src.u8;
      for (let p = from; p < to; p++) {
        if ((base + p) % align !== 0) continue;
        let same = true;
        for (let b = 0; b < w; b++) if (u8[p + b] !== o8[p + delta + b]) { same = false; break; }
        if (op === "changed" ? !same : same) offs[c++] = p;
      }
      return c;
    };
  }
  let pc = 0; // cursor into the parent's pieces
  for (let q = 0; q < pieces.length; q += PIECE) {
    const start = pieces[q]!;
    const end = start + pieces[q + 1]!;
    const limit = pieces[q + 2]!;
    for (let a = start; a < end; ) {
      const want = Math.min(end - a, CHUNK);
      const readLen = Math.min(want + w - 1, limit - a);
      const lo = a % 8;
      const n = s.fill(pid, lo, a, readLen);
      bytes += want;
      if (n < 0) {
        if (fatal(-n)) return { ...out.result(bytes, skipped, s), errno: -n, errAddress: a };
        skipped += want;
        a += want;
        continue;
      }
      if (n < want) skipped += want - n;
      const base = a - lo;
      const to = Math.min(lo + want, lo + n - w + 1);
      const from = lo + ((align - (a % align)) % align);
      if (to > from) {
        // The old bytes of [a, a + n): the parent's pieces there.
        while (pc < parent.length && parent[pc]! + parent[pc + 1]! <= a) pc += SNAP_PIECE;
        const ps = parent[pc]!;
        const po = parent[pc + 2]!;
        let c: number;
        if (pc < parent.length && po !== ZERO && ps <= a && ps + parent[pc + 1]! >= a + n) {
          const chunk = Math.floor(po / SNAP_CHUNK);
          c = routine(from, to, base, po - chunk * SNAP_CHUNK + (a - ps) - lo, chunkSource(chunk));
        } else {
          old.u8.fill(0, lo, lo + n);
          for (let k = pc; k < parent.length && parent[k]! < a + n; k += SNAP_PIECE) {
            const off = parent[k + 2]!;
            if (off === ZERO) continue;
            const s0 = Math.max(a, parent[k]!);
            const e0 = Math.min(a + n, parent[k]! + parent[k + 1]!);
            const chunk = Math.floor(off / SNAP_CHUNK);
            const at = off - chunk * SNAP_CHUNK - parent[k]!;
            if (e0 > s0) old.u8.set(chunkSource(chunk).u8.subarray(at + s0, at + e0), lo + (s0 - a));
          }
          c = routine(from, to, base, 0, local);
        }
        out.addMany(base, offs, c, 1, s.u8);
      }
      a += want;
    }
  }
  return out.result(bytes, skipped, s);
}

function runNext(s: Scratch, task: Extract<Task, { kind: "next" }>): TaskResult {
  const { pid, matcher, width: w, addresses, values, from, to } = task;
  s.begin(task.holes);
  // A next scan keeps at most `to - from` matches: the output is allocated once, at that size.
  const cap = Math.max(1, to - from);
  const A = new Float64Array(cap);
  const V = new Uint8Array(cap * w);
  let oc = 0;
  let skipped = 0;
  const result = (bytes: number): TaskResult =>
    ({ addresses: A.subarray(0, oc), values: V.subarray(0, oc * w), count: oc, bytes, skipped, resident: s.transferred, zeroed: s.zeroed });
  const numeric = matcher.kind === "numeric" ? matcher.spec : null;
  const span = numeric ? nextSpanRoutine(numeric) : null;
  const old = numeric?.big ? new DataView(values.buffer, values.byteOffset, values.byteLength)
    : numeric ? new ARRAY[numeric.type](values.buffer, values.byteOffset, values.byteLength / w) : values;
  const pattern = matcher.kind === "bytes" ? matcher.pattern : null;
  const op = matcher.kind === "bytes" ? matcher.op : "any";
  // Bytes: the same contract as the numeric routine, one match at a time.
  const bytesSpan = (u8: Uint8Array, m0: number, m1: number, st: number, lp: number, c: number): number => {
    for (let m = m0; m < m1; m++) {
      const a = addresses[m]!;
      const p = ((a - st) | 0) + lp;
      let ok: boolean;
      if (op === "eq" || op === "ne") {
        let hit = pattern !== null;
        if (pattern) for (let b = 0; b < w && hit; b++) if ((u8[p + b]! & pattern.mask[b]!) !== pattern.bytes[b]) hit = false;
        ok = op === "eq" ? hit : !hit;
      } else if (op === "any") {
        ok = true;
      } else {
        const vo = m * w;
        let same = true;
        for (let b = 0; b < w; b++) if (u8[p + b] !== values[vo + b]) { same = false; break; }
        ok = op === "changed" ? !same : same;
      }
      if (ok) {
        A[c] = a;
        const d = c * w;
        for (let b = 0; b < w; b++) V[d + b] = u8[p + b]!;
        c++;
      }
    }
    return c;
  };
  const compare = (m0: number, m1: number, st: number, lp: number, c: number): number =>
    span ? span(dv, u8, addresses, m0, m1, st, lp, old, A, V, c) : bytesSpan(u8, m0, m1, st, lp, c);
  const { spanLocal, spanStart, spanFirst, dv, u8 } = s;
  let j = from;
  while (j < to) {
    // A batch: up to IOV_MAX spans filling the chunk buffer, each within one run of existing bytes.
    let spans = 0;
    let pos = 0;
    const j0 = j;
    while (j < to && spans < IOV_MAX) {
      const st = addresses[j]!;
      let e = st + w;
      let k = j + 1;
      while (k < to) {
        const ak = addresses[k]!;
        if (ak - e > SPAN_GAP || ak + w - st > CHUNK) break;
        if (ak + w > e) e = ak + w;
        k++;
      }
      const len = e - st;
      const lpos = pos + ((st % 8 - pos) & 7); // keep local offset ≡ address mod 8
      if (!s.clear(st, e)) {
        if (spans > 0) break; // ends this batch; taken alone next
        // Partly or wholly outside the existing bytes: zeros there, never read.
        const got = s.fill(pid, st % 8, st, len);
        if (got < 0 && fatal(-got)) return { ...result((j - from) * w), errno: -got, errAddress: st };
        for (let m = j; m < k; m++) {
          const a = addresses[m]!;
          const off = st % 8 + ((a - st) | 0);
          if (a + w - st <= got) {
            oc = compare(m, m + 1, a, off, oc);
            continue;
          }
          const n = s.fill(pid, off, a, w);
          if (n === w) oc = compare(m, m + 1, a, off, oc);
          else {
            if (n < 0 && fatal(-n)) return { ...result((m - from) * w), errno: -n, errAddress: a };
            skipped += w;
          }
        }
        j = k;
        break;
      }
      if (lpos + len > CHUNK + 64 - 8 && spans > 0) break;
      s.local.set(spans, s.address + lpos, len);
      s.remote.set(spans, st, len);
      spanLocal[spans] = lpos;
      spanStart[spans] = st;
      spanFirst[spans] = j;
      spans++;
      pos = lpos + len;
      j = k;
    }
    if (spans === 0) continue;
    spanFirst[spans] = j;
    const r = rawTransfer(s.fn, pid, s.local.address, spans, s.remote.address, spans, 0);
    if (r > 0) s.transferred += r;
    if (r < 0 && fatal(-r)) return { ...result((j0 - from) * w), errno: -r, errAddress: addresses[j0]! };
    // Spans wholly read are compared as they lie; the first one that is not, match by match; the batch ends there.
    let left = r > 0 ? r : 0;
    for (let t = 0; t < spans; t++) {
      const lp = spanLocal[t]!;
      const st = spanStart[t]!;
      const m0 = spanFirst[t]!;
      const m1 = spanFirst[t + 1]!;
      const len = s.local.length(t);
      if (left >= len) {
        left -= len;
        oc = compare(m0, m1, st, lp, oc);
        continue;
      }
      for (let m = m0; m < m1; m++) {
        const a = addresses[m]!;
        const off = lp + ((a - st) | 0);
        const got = s.read(pid, s.address + off, a, w);
        if (got === w) {
          oc = compare(m, m + 1, a, off, oc);
        } else {
          if (got < 0 && fatal(-got)) return { ...result((m - from) * w), errno: -got, errAddress: a };
          skipped += w;
        }
      }
      j = m1;
      break;
    }
  }
  return result((to - from) * w);
}

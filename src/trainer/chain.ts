/**
 * Pointer chains in Cheat Engine's sense: a base (an absolute address or a
 * module plus an offset), then offsets; every step but the last dereferences a
 * pointer of the target's size (`process.pointerSize`: 8 bytes, or 4 for a
 * 32-bit target). One chain at a time ({@link PointerChain}) or many at once,
 * level by level, one batched read per level ({@link PointerChainList}).
 *
 * @module
 */
import { ProcessVmError } from "../errors.ts";
import { IovecTable } from "../ffi/iovec.ts";
import { addressOf, lastErrno } from "../ffi/libc.ts";
import { findModule } from "../maps.ts";
import type { Process } from "../process.ts";
import { nativeTransfer } from "../syscall.ts";
import { transferBatch } from "./batch.ts";
import { PointerChainError, type PointerChainFailure } from "./errors.ts";
import { trainerStats } from "./stats.ts";
import { checkProcess, describe } from "../validate.ts";

const TWO_32 = 4294967296;
const EFAULT = 14;
const READ = nativeTransfer("process_vm_readv");

/** The base of a chain: an absolute address, or a module (by base name or path) plus an offset. */
export type ChainBase = number | bigint | { readonly module: string; readonly offset: number };

/**
 * A pointer chain. The address is `base`; then for each offset, the pointer at
 * the address is read and the offset added to it. So `offsets.length` pointers
 * are read, and the last offset is added without a read.
 */
export interface PointerChainSpec {
  readonly base: ChainBase;
  readonly offsets: readonly number[];
}

/**
 * A chain as an object, or as a string:
 * - `"libgame.so+0x1a2b0 -> 0x10 -> 0x8"` (numbers: `0x` hex or decimal; offsets may be negative);
 * - Cheat Engine's bracket form `"[[libgame.so+1a2b0]+10]+8"` (numbers are hex, as in Cheat Engine);
 * - a {@link PointerChain} (only its description is used: the list or call resolves it in its own process).
 */
export type ChainLike = PointerChainSpec | string | PointerChain;

/**
 * Where to read or write: an address, or a pointer chain followed at every
 * call (reads and writes of `Process`), or at every tick (freeze, watch).
 *
 * @example
 * ```ts
 * const at: AddressLike = "libgame.so+0x1a2b0 -> 0x10 -> 0x8";
 * proc.writeI32(at, 999);
 * ```
 */
export type AddressLike = number | bigint | ChainLike;

/**
 * Whether `value` is a pointer chain (a string, a {@link PointerChain} or an
 * object `{ base, offsets }`) rather than a plain address.
 *
 * @example
 * ```ts
 * isChainLike("libgame.so+0x10 -> 0x8"); // true
 * isChainLike(0x7f00_0000_1000);         // false
 * ```
 */
export function isChainLike(value: unknown): value is ChainLike {
  return (
    typeof value === "string" ||
    value instanceof PointerChain ||
    (typeof value === "object" && value !== null && "base" in value && "offsets" in value)
  );
}

interface Parsed {
  module: string | null;
  /** Absolute base, or the offset into the module. */
  base: number;
  offsets: number[];
  text: string;
}

function parseNumber(text: string, hex: boolean, what: string, chain: string): number {
  const t = text.trim();
  const m = /^([+-]?)\s*(0x[0-9a-f]+|[0-9a-f]+)$/i.exec(t);
  let value = NaN;
  if (m) {
    const digits = m[2]!;
    if (/^0x/i.test(digits)) value = parseInt(digits.slice(2), 16);
    else if (hex) value = parseInt(digits, 16);
    else if (/^\d+$/.test(digits)) value = parseInt(digits, 10);
    if (m[1] === "-") value = -value;
  }
  if (!Number.isSafeInteger(value)) {
    throw new SyntaxError(`invalid ${what} "${t}" in pointer chain "${chain}"${hex ? "" : " (write hex numbers with 0x)"}`);
  }
  return value;
}

function parseBase(text: string, hex: boolean, chain: string): { module: string | null; base: number } {
  let t = text.trim();
  if (t === "") throw new SyntaxError(`missing base in pointer chain "${chain}"`);
  const numeric = /^(0x[0-9a-f]+|\d+)$/i;
  if (numeric.test(t) || (hex && /^[0-9a-f]+$/i.test(t))) return { module: null, base: parseNumber(t, hex, "base", chain) };
  let offset = 0;
  const m = /^(.*?)\s*([+-])\s*(0x[0-9a-f]+|[0-9a-f]+)$/i.exec(t);
  if (m && m[1] !== "" && !hex && m[2] === "+" && !/^(0x[0-9a-f]+|\d+)$/i.test(m[3]!)) {
    throw new SyntaxError(`invalid offset "${m[3]}" in pointer chain "${chain}" (write hex numbers with 0x)`);
  }
  if (m && m[1] !== "" && (hex || /^(0x[0-9a-f]+|\d+)$/i.test(m[3]!))) {
    offset = parseNumber(`${m[2]}${m[3]}`, hex, "offset", chain);
    t = m[1]!;
    if (numeric.test(t)) return { module: null, base: parseNumber(t, hex, "base", chain) + offset };
  }
  t = t.replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
  if (t === "") throw new SyntaxError(`missing module name in pointer chain "${chain}"`);
  return { module: t, base: offset };
}

function parseString(chain: string): Parsed {
  const text = chain.trim();
  if (text.startsWith("[")) {
    // [[base]+o1]+o2: one dereference per bracket pair, each followed by an optional offset.
    let depth = 0;
    while (text[depth] === "[") depth++;
    const close = text.indexOf("]");
    if (close < 0) throw new SyntaxError(`unbalanced brackets in pointer chain "${chain}"`);
    const { module, base } = parseBase(text.slice(depth, close), true, chain);
    const rest = text.slice(close);
    const parts = rest.split("]").slice(1);
    if (parts.length !== depth || text.slice(depth, close).includes("[")) {
      throw new SyntaxError(`unbalanced brackets in pointer chain "${chain}"`);
    }
    const offsets = parts.map((p) => (p.trim() === "" ? 0 : parseNumber(p.replace(/\s+/g, ""), true, "offset", chain)));
    return { module, base, offsets, text };
  }
  const parts = text.split("->");
  const { module, base } = parseBase(parts[0]!, false, chain);
  const offsets = parts.slice(1).map((p) => parseNumber(p, false, "offset", chain));
  return { module, base, offsets, text };
}

/**
 * Parses a chain string into the object form.
 *
 * @throws {SyntaxError} naming the part that could not be read.
 * @example
 * ```ts
 * parseChain("libgame.so+0x1a2b0 -> 0x10 -> 0x8");
 * // { base: { module: "libgame.so", offset: 0x1a2b0 }, offsets: [0x10, 0x8] }
 * parseChain("[[libgame.so+1a2b0]+10]+8"); // the same
 * ```
 */
export function parseChain(chain: string): PointerChainSpec {
  if (typeof chain !== "string") throw new TypeError(`chain must be a string (got ${describe(chain)})`);
  const p = parseString(chain);
  return { base: p.module === null ? p.base : { module: p.module, offset: p.base }, offsets: p.offsets };
}

function hex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

/**
 * Formats a chain in the arrow form that {@link parseChain} reads.
 *
 * @example
 * ```ts
 * formatChain({ base: { module: "libgame.so", offset: 0x1a2b0 }, offsets: [0x10, 8] });
 * // "libgame.so+0x1a2b0 -> 0x10 -> 0x8"
 * ```
 */
export function formatChain(chain: ChainLike): string {
  return formatParsed(normalize(chain));
}

/** The parsed form of each PointerChain, so that lists built from them need not parse again. */
const PARSED = new WeakMap<PointerChain, Parsed>();

function normalize(chain: ChainLike): Parsed {
  if (typeof chain === "string") return parseString(chain);
  if (chain instanceof PointerChain) return PARSED.get(chain)!;
  if (typeof chain !== "object" || chain === null || !Array.isArray(chain.offsets)) {
    throw new TypeError("a pointer chain must be a string or an object { base, offsets }");
  }
  const offsets = chain.offsets.map((o, i) => {
    if (!Number.isSafeInteger(o)) throw new TypeError(`offsets[${i}] must be a safe integer (got ${describe(o)})`);
    return o;
  });
  const b = chain.base;
  let module: string | null = null;
  let base: number;
  if (typeof b === "bigint") {
    if (b < 0n || b > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`base ${b} is not a user-space address`);
    base = Number(b);
  } else if (typeof b === "number") {
    if (!Number.isSafeInteger(b) || b < 0) throw new RangeError(`base must be a non-negative safe integer (got ${b})`);
    base = b;
  } else if (typeof b === "object" && b !== null && typeof b.module === "string" && Number.isSafeInteger(b.offset)) {
    module = b.module;
    base = b.offset;
  } else {
    throw new TypeError("base must be an address or { module, offset }");
  }
  const p: Parsed = { module, base, offsets, text: "" };
  p.text = formatParsed(p);
  return p;
}

function formatParsed(p: Parsed): string {
  const base = p.module === null ? hex(p.base) : p.base === 0 ? p.module : `${p.module}${p.base < 0 ? "-" : "+"}${hex(Math.abs(p.base))}`;
  return [base, ...p.offsets.map(hex)].join(" -> ");
}

const USABLE = (a: number) => a > 0 && a <= Number.MAX_SAFE_INTEGER;

/**
 * One chain, resolved again and again without allocating: the module base is
 * looked up once (from `/proc/PID/maps`) and kept, and each resolution makes
 * `offsets.length` one-pointer reads into a buffer the object owns.
 *
 * @example
 * ```ts
 * const hp = new PointerChain(proc, "libgame.so+0x1a2b0 -> 0x10 -> 0x8");
 * setInterval(() => {
 *   const address = hp.tryResolve(); // null while the player is not spawned
 *   if (address !== null) proc.writeI32(address, 100);
 * }, 100);
 * ```
 */
export class PointerChain {
  /** The target process. */
  readonly process: Process;
  /** The chain in arrow form. */
  readonly text: string;
  /** Module name of the base, or `null` for an absolute base. */
  readonly module: string | null;
  readonly #base: number;
  readonly #offsets: Float64Array;
  /** The target's pointer size, 4 or 8. */
  readonly #size: number;
  #moduleBase = NaN;
  readonly #buffer = new ArrayBuffer(8);
  readonly #words = new Uint32Array(this.#buffer);
  readonly #local = new IovecTable(1);
  readonly #remote = new IovecTable(1);
  /** The address of the last successful resolution, `NaN` before. */
  address = NaN;
  #failure: PointerChainFailure | null = null;
  #failStep = -1;
  #failAddress = NaN;

  /**
   * @param process The target.
   * @param chain The chain, as an object or a string (see {@link ChainLike}).
   * @throws {SyntaxError | TypeError} for a chain that cannot be read.
   */
  constructor(process: Process, chain: ChainLike) {
    checkProcess(process);
    const p = normalize(chain);
    PARSED.set(this, p);
    this.process = process;
    this.text = p.text;
    this.module = p.module;
    this.#base = p.base;
    this.#offsets = new Float64Array(p.offsets);
    this.#size = process.pointerSize;
    this.#local.set(0, addressOf(this.#buffer), this.#size);
  }

  /** Number of dereferences. */
  get depth(): number {
    return this.#offsets.length;
  }

  /** Forgets the module base, so that the next resolution looks it up again (after the target reloaded it). */
  refresh(): void {
    this.#moduleBase = NaN;
  }

  #fail(reason: PointerChainFailure, step: number, address: number): null {
    this.#failure = reason;
    this.#failStep = step;
    this.#failAddress = address;
    return null;
  }

  /**
   * Follows the chain; returns the final address, or `null` when a link
   * failed ({@link error} tells which and why). Allocates nothing once the
   * module base is known.
   *
   * @throws {ProcessVmError} when the target cannot be read at all (`ESRCH`: gone, `EPERM`).
   * @example
   * ```ts
   * const address = chain.tryResolve();
   * if (address === null) console.log(chain.error()?.message);
   * ```
   */
  tryResolve(): number | null {
    this.#failure = null;
    let address = this.#base;
    if (this.module !== null) {
      if (Number.isNaN(this.#moduleBase)) {
        const m = findModule(this.process.maps(), this.module);
        if (!m) return this.#fail("module", 0, 0);
        this.#moduleBase = m.base;
      }
      address += this.#moduleBase;
    }
    const offsets = this.#offsets;
    const words = this.#words;
    const pid = this.process.pid;
    const size = this.#size;
    for (let step = 0; step < offsets.length; step++) {
      if (!USABLE(address)) return this.#fail("unmapped", step, address);
      this.#remote.set(0, address, size);
      trainerStats.readCalls++;
      const r = READ(pid, this.#local.address, 1, this.#remote.address, 1, 0);
      if (r !== size) {
        const errno = r === -1 ? lastErrno() : EFAULT;
        if (errno !== EFAULT) throw new ProcessVmError({ errno, syscall: "process_vm_readv", pid, address, length: size });
        return this.#fail("unmapped", step, address);
      }
      const value = size === 8 ? words[1]! * TWO_32 + words[0]! : words[0]!;
      if (value === 0) return this.#fail("null", step, address);
      if (value > Number.MAX_SAFE_INTEGER) return this.#fail("invalid", step, address);
      address = value + offsets[step]!;
    }
    this.address = address;
    return address;
  }

  /**
   * Follows the chain and returns the final address.
   *
   * @throws {PointerChainError} naming the step that failed, the address it tried to dereference and why.
   * @throws {ProcessVmError} when the target cannot be read at all.
   * @example
   * ```ts
   * const address = new PointerChain(proc, "libgame.so+0x1a2b0 -> 0x10 -> 0x8").resolve();
   * ```
   */
  resolve(): number {
    const address = this.tryResolve();
    if (address === null) throw this.error()!;
    return address;
  }

  /**
   * The failure of the last resolution, or `null` when it succeeded.
   *
   * @example
   * ```ts
   * if (chain.tryResolve() === null) throw chain.error();
   * ```
   */
  error(): PointerChainError | null {
    if (this.#failure === null) return null;
    return new PointerChainError(this.#failure, this.#failStep, this.#failAddress, this.text, this.process.pid, this.module ?? undefined);
  }
}

/**
 * Follows one pointer chain and returns the final address.
 *
 * @throws {PointerChainError} when a link is null or unmapped, or the module is not mapped.
 * @throws {ProcessVmError} when the target cannot be read at all (`ESRCH`, `EPERM`).
 * @example
 * ```ts
 * const hpAddress = resolve(proc, "libgame.so+0x1a2b0 -> 0x10 -> 0x8");
 * const same = resolve(proc, { base: { module: "libgame.so", offset: 0x1a2b0 }, offsets: [0x10, 0x8] });
 * ```
 */
export function resolve(process: Process, chain: ChainLike): number {
  return new PointerChain(process, chain).resolve();
}

const REASONS: readonly PointerChainFailure[] = ["null", "unmapped", "module", "invalid"];

/**
 * Many chains resolved together, level by level: the pointers of one level of
 * every chain are read in one batched `process_vm_readv` (split in calls of
 * 1024, the kernel's limit), so N chains of depth d cost d batched reads, not
 * N × d calls. A dangling link costs one more call in its level. Re-resolving
 * allocates nothing: `addresses` is rewritten in place.
 *
 * @example
 * ```ts
 * const enemies = new PointerChainList(proc, Array.from({ length: 64 }, (_, i) => `libgame.so+0x2c000 -> ${i * 8} -> 0x40`));
 * const addresses = enemies.resolve(); // Float64Array, NaN where a chain failed
 * for (let i = 0; i < addresses.length; i++) if (!Number.isNaN(addresses[i]!)) console.log(i, addresses[i]);
 * ```
 */
export class PointerChainList {
  /** The target process. */
  readonly process: Process;
  /** Number of chains. */
  readonly length: number;
  /** Final address of each chain after {@link resolve}; `NaN` where it failed. */
  readonly addresses: Float64Array;
  readonly #parsed: Parsed[];
  readonly #base: Float64Array;
  readonly #moduleBase: Float64Array;
  readonly #offStart: Int32Array;
  readonly #offsets: Float64Array;
  readonly #depth: number;
  /** The target's pointer size, 4 or 8. */
  readonly #size: number;
  readonly #active: Int32Array;
  readonly #buffer: ArrayBuffer;
  readonly #words: Uint32Array;
  readonly #local: IovecTable;
  readonly #remote: IovecTable;
  readonly #ok: Uint8Array;
  readonly #failReason: Int8Array;
  readonly #failStep: Int32Array;
  readonly #failAddress: Float64Array;

  /**
   * @param process The target.
   * @param chains The chains (see {@link ChainLike}).
   */
  constructor(process: Process, chains: readonly ChainLike[]) {
    checkProcess(process);
    if (!Array.isArray(chains)) throw new TypeError(`chains must be an array (got ${describe(chains)})`);
    const n = chains.length;
    this.process = process;
    this.length = n;
    this.#parsed = chains.map(normalize);
    this.addresses = new Float64Array(n);
    this.#base = new Float64Array(n);
    this.#moduleBase = new Float64Array(n).fill(NaN);
    this.#offStart = new Int32Array(n + 1);
    let total = 0;
    let depth = 0;
    for (let i = 0; i < n; i++) {
      const p = this.#parsed[i]!;
      this.#base[i] = p.base;
      this.#offStart[i] = total;
      total += p.offsets.length;
      depth = Math.max(depth, p.offsets.length);
    }
    this.#offStart[n] = total;
    this.#offsets = new Float64Array(total);
    for (let i = 0; i < n; i++) this.#offsets.set(this.#parsed[i]!.offsets, this.#offStart[i]!);
    this.#depth = depth;
    this.#active = new Int32Array(n);
    this.#buffer = new ArrayBuffer(Math.max(8, 8 * n));
    this.#words = new Uint32Array(this.#buffer);
    this.#local = new IovecTable(n);
    this.#remote = new IovecTable(n);
    const at = addressOf(this.#buffer);
    this.#size = process.pointerSize;
    for (let j = 0; j < n; j++) this.#local.set(j, at + 8 * j, this.#size);
    this.#ok = new Uint8Array(Math.max(1, n));
    this.#failReason = new Int8Array(n);
    this.#failStep = new Int32Array(n);
    this.#failAddress = new Float64Array(n);
  }

  /** Forgets the module bases, so that the next resolution looks them up again. */
  refresh(): void {
    this.#moduleBase.fill(NaN);
  }

  #lookUpModules(): void {
    let maps: ReturnType<Process["maps"]> | null = null;
    const cache = new Map<string, number>();
    for (let i = 0; i < this.length; i++) {
      const name = this.#parsed[i]!.module;
      if (name === null || !Number.isNaN(this.#moduleBase[i]!)) continue;
      let base = cache.get(name);
      if (base === undefined) {
        maps ??= this.process.maps();
        base = findModule(maps, name)?.base ?? NaN;
        cache.set(name, base);
      }
      this.#moduleBase[i] = base;
    }
  }

  #fail(i: number, reason: number, step: number, address: number): void {
    this.addresses[i] = NaN;
    this.#failReason[i] = reason;
    this.#failStep[i] = step;
    this.#failAddress[i] = address;
  }

  /**
   * Resolves every chain. Returns {@link addresses} (the same array each time):
   * the final address of each chain, `NaN` where a link failed ({@link error}
   * tells why).
   *
   * @throws {ProcessVmError} when the target cannot be read at all (`ESRCH`: gone, `EPERM`).
   * @example
   * ```ts
   * const addresses = list.resolve();
   * ```
   */
  resolve(): Float64Array {
    const n = this.length;
    const addresses = this.addresses;
    const active = this.#active;
    const offStart = this.#offStart;
    const offsets = this.#offsets;
    const words = this.#words;
    const remote = this.#remote;
    const ok = this.#ok;
    const size = this.#size;
    let needModules = false;
    for (let i = 0; i < n; i++) if (this.#parsed[i]!.module !== null && Number.isNaN(this.#moduleBase[i]!)) needModules = true;
    if (needModules) this.#lookUpModules();
    let m = 0;
    for (let i = 0; i < n; i++) {
      this.#failReason[i] = -1;
      let a = this.#base[i]!;
      if (this.#parsed[i]!.module !== null) {
        const mb = this.#moduleBase[i]!;
        if (Number.isNaN(mb)) {
          this.#fail(i, 2, 0, 0);
          continue;
        }
        a += mb;
      }
      addresses[i] = a;
      if (offStart[i + 1]! > offStart[i]!) active[m++] = i;
    }
    for (let level = 0; level < this.#depth && m > 0; level++) {
      let c = 0;
      for (let j = 0; j < m; j++) {
        const i = active[j]!;
        const a = addresses[i]!;
        if (!USABLE(a)) {
          this.#fail(i, 1, level, a);
          continue;
        }
        active[c] = i;
        remote.set(c, a, size);
        c++;
      }
      transferBatch("process_vm_readv", this.process.pid, this.#local, remote, c, ok);
      m = 0;
      for (let j = 0; j < c; j++) {
        const i = active[j]!;
        if (ok[j] === 0) {
          this.#fail(i, 1, level, addresses[i]!);
          continue;
        }
        const value = size === 8 ? words[2 * j + 1]! * TWO_32 + words[2 * j]! : words[2 * j]!;
        if (value === 0) {
          this.#fail(i, 0, level, addresses[i]!);
          continue;
        }
        if (value > Number.MAX_SAFE_INTEGER) {
          this.#fail(i, 3, level, addresses[i]!);
          continue;
        }
        const o = offStart[i]! + level;
        addresses[i] = value + offsets[o]!;
        if (o + 1 < offStart[i + 1]!) active[m++] = i;
      }
    }
    return addresses;
  }

  /**
   * Why chain `i` failed in the last {@link resolve}, or `null` when it resolved.
   *
   * @example
   * ```ts
   * list.resolve();
   * console.log(list.error(3)?.message);
   * ```
   */
  error(i: number): PointerChainError | null {
    if (typeof i !== "number") throw new TypeError(`index must be a number (got ${describe(i)})`);
    const reason = this.#failReason[i];
    if (reason === undefined || reason < 0) return null;
    const p = this.#parsed[i]!;
    return new PointerChainError(REASONS[reason]!, this.#failStep[i]!, this.#failAddress[i]!, p.text, this.process.pid, p.module ?? undefined);
  }
}

/** The result of {@link resolveAll}. */
export interface ResolvedChains {
  /** The final address of each chain, `null` where a link failed. */
  addresses: (number | null)[];
  /** Why each chain failed, `null` where it resolved. */
  errors: (PointerChainError | null)[];
}

/**
 * Resolves many chains level by level, one batched read per level (see
 * {@link PointerChainList}, which re-resolves without allocating).
 *
 * @throws {ProcessVmError} when the target cannot be read at all (`ESRCH`, `EPERM`).
 * @example
 * ```ts
 * const { addresses, errors } = resolveAll(proc, [
 *   "libgame.so+0x2c000 -> 0x0 -> 0x40",
 *   "libgame.so+0x2c000 -> 0x8 -> 0x40",
 * ]);
 * addresses.forEach((a, i) => console.log(a ?? errors[i]!.message));
 * ```
 */
export function resolveAll(process: Process, chains: readonly ChainLike[]): ResolvedChains {
  const list = new PointerChainList(process, chains);
  const out = list.resolve();
  const addresses: (number | null)[] = new Array(list.length);
  const errors: (PointerChainError | null)[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const a = out[i]!;
    addresses[i] = Number.isNaN(a) ? null : a;
    errors[i] = Number.isNaN(a) ? list.error(i) : null;
  }
  return { addresses, errors };
}

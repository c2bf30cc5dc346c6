/**
 * What the browser UI works on: the attached process, its scan, the address
 * list, the memory view and the pointer scan, behind one `request(cmd, body)`
 * entry that checks every field before anything reaches the library.
 *
 * The commands (a JSON object `{ cmd, …fields }`, over the WebSocket with a
 * `rid` that the reply carries back, or `POST /api`):
 *
 * | cmd | fields | result |
 * |---|---|---|
 * | `ps` | `filter?`, `limit?` | processes: pid, name, user, rss, command |
 * | `attach` | `pid` | `{ pid, name }` |
 * | `maps` | | regions |
 * | `scan.first` | `type`, `query`, `memory?` `{ kinds, permissions, module, within }`, `align?` | `{ count, steps, ms }` |
 * | `scan.next` | `query` | `{ count, steps, ms }` |
 * | `scan.undo`, `scan.reset`, `scan.abort` | | |
 * | `scan.window` | `start`, `size` (≤ 500) | `{ start, count, rows }`; the rows' values then come live |
 * | `list.get`, `list.save` | | entries; the saved form |
 * | `list.add` / `list.update` / `list.remove` | `description`, `address` (address or chain), `type`; `id` | |
 * | `list.write` | `id`, `value` | |
 * | `list.freeze` | `id`, `frozen`, `value?`, `allowIncrease?`, `allowDecrease?` | |
 * | `list.load` | `list` | `{ entries }` |
 * | `write` | `address`, `type` (or `"bytes"`), `value` | |
 * | `mem.view` | `address` (address or chain), `rows?` (≤ 64) | `{ address, start, rows, region }`; the rows come live |
 * | `mem.close` | | |
 * | `ptr.scan` | `id` or `address`, `maxDepth?`, `maxOffset?`, `module?` | ranked paths |
 * | `ptr.rescan` | `address` | the paths that still lead there |
 * | `ptr.paths` | | the last paths |
 *
 * Pushed to every page: `hello` (on connecting), `live` (`values`: key → text, or
 * null when unreadable; keys `s<i>` scan rows, `l<id>` list entries, `m<row>` memory rows),
 * `list`, `scan`, `process`, `progress` and `status`.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import {
  Process,
  PointerChainList,
  VALUE_SIZE,
  formatChain,
  isValueType,
  parseChain,
  type FreezeHandle,
  type MemoryOptions,
  type PointerPaths,
  type RegionKind,
  type Scan,
  type ScanValueType,
  type Value,
  type ValueType,
} from "../index.ts";
import { AddressList, isPlainAddress, type ListEntry } from "./list.ts";
import { LiveValues, type LiveMessage, type LiveSlot } from "./live.ts";
import { field, formatValue, hex, parseAddress, parseTypedValue, RequestError } from "./values.ts";

/** A message pushed to every page: live values, list changes, progress, status lines. */
export type Push = LiveMessage | { t: string; [key: string]: unknown };

const SCAN_TYPES = new Set(["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64", "int8", "int16", "int32", "int64", "int", "string", "bytes"]);
const KINDS = new Set<string>(["heap", "stack", "thread-stack", "anonymous", "file", "named", "other", "vdso"]);
/** Most scan matches a page asks for at once. */
export const MAX_WINDOW = 500;
/** Windows that start further than this into the matches skip the values at the last steps (read live instead). */
const FAST_WINDOW = 20_000;
/** Most memory-view rows (16 bytes each). */
export const MAX_ROWS = 64;
/** Milliseconds between re-resolutions of the list's pointer chains. */
const CHAIN_REFRESH_MS = 500;

interface Row {
  i: number;
  address: string;
  type: string;
  value: string;
  previous: string | null;
}

/** A process as the picker lists it. */
export interface ProcessInfo {
  pid: number;
  name: string;
  user: string;
  /** Resident memory, bytes. */
  rss: number;
  command: string;
}

let users: Map<number, string> | null = null;
function userName(uid: number): string {
  if (!users) {
    users = new Map();
    try {
      for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
        const [name, , id] = line.split(":");
        if (name && id) users.set(Number(id), name);
      }
    } catch {
      // no passwd: numbers it is
    }
  }
  return users.get(uid) ?? String(uid);
}

/**
 * Processes whose name or command line contains `filter` (all when empty), largest RSS first.
 *
 * @example
 * ```ts
 * listProcesses("game").slice(0, 10);
 * ```
 */
export function listProcesses(filter = ""): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  const f = filter.toLowerCase();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      const name = /^Name:\s*(.*)$/m.exec(status)?.[1] ?? "";
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      if (f && !name.toLowerCase().includes(f) && !command.toLowerCase().includes(f) && entry !== f) continue;
      const uid = Number(/^Uid:\s*(\d+)/m.exec(status)?.[1] ?? -1);
      const rss = Number(/^VmRSS:\s*(\d+)/m.exec(status)?.[1] ?? 0) * 1024;
      out.push({ pid: Number(entry), name, user: userName(uid), rss, command: command.slice(0, 300) });
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => b.rss - a.rss || a.pid - b.pid);
}

function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/**
 * The state of one UI server and the commands the page sends.
 *
 * @example
 * ```ts
 * const state = new UiState((msg) => console.log(msg));
 * await state.request("attach", { pid: 1234 });
 * await state.request("scan.first", { type: "i32", query: "100" });
 * ```
 */
export class UiState {
  /** The live-value loop (its `stats` count the reads). */
  readonly live: LiveValues;
  readonly list = new AddressList();
  readonly #push: (message: Push) => void;
  #proc: Process | null = null;
  #scan: Scan | null = null;
  #scanType: ScanValueType = "i32";
  #step: AbortController | null = null;
  #pointerStep: AbortController | null = null;
  #paths: PointerPaths | null = null;
  #window = { start: 0, size: 0 };
  /** Resolved address of each list entry (NaN where a chain does not resolve). */
  readonly #resolved = new Map<number, number>();
  readonly #freezes = new Map<number, { handle: FreezeHandle; address: number }>();
  #chains: { ids: number[]; list: PointerChainList } | null = null;
  #chainTimer: ReturnType<typeof setInterval> | null = null;

  /**
   * @param push Sends a message to every connected page.
   * @param options `intervalMs` of the live values (default 50).
   */
  constructor(push: (message: Push) => void, options: { intervalMs?: number } = {}) {
    this.#push = push;
    this.live = new LiveValues(
      push,
      {
        intervalMs: options.intervalMs ?? 50,
        onError: (error) => this.#push({ t: "status", level: "error", text: `live values stopped: ${error.message}` }),
      },
    );
  }

  /** The attached process, or null. */
  get process(): Process | null {
    return this.#proc;
  }

  /** Stops the live values, every freeze and any running step. */
  close(): void {
    this.live.stop();
    if (this.#chainTimer) clearInterval(this.#chainTimer);
    this.#chainTimer = null;
    for (const f of this.#freezes.values()) f.handle.stop();
    this.#freezes.clear();
    this.#step?.abort(new Error("server stopped"));
    this.#pointerStep?.abort(new Error("server stopped"));
  }

  /** What a newly connected page needs to draw itself. */
  snapshot(): Record<string, unknown> {
    return {
      t: "hello",
      process: this.#proc ? { pid: this.#proc.pid, name: processName(this.#proc.pid) } : null,
      scan: this.#scanInfo(),
      list: this.#listView(),
    };
  }

  /**
   * Runs one command. Bad fields are answered with a RequestError; library
   * errors (ESRCH, EFAULT…) pass through with their own message.
   */
  async request(cmd: unknown, body: Record<string, unknown>): Promise<unknown> {
    if (typeof cmd !== "string") throw new RequestError('"cmd" must be a string');
    switch (cmd) {
      case "ps":
        return listProcesses(field.optStr(body, "filter", 100) ?? "").slice(0, field.optInt(body, "limit", 1, 5000, 500));
      case "attach":
        return this.#attach(field.int(body, "pid", 1, 2 ** 31 - 1));
      case "maps":
        return this.#requireProc().maps().map((r) => ({
          start: hex(r.start), end: hex(r.end), size: r.size, permissions: r.permissions, kind: r.kind, path: r.path || (r.name ? `[${r.name}]` : ""),
        }));
      case "scan.first":
        return this.#first(body);
      case "scan.next":
        return this.#next(field.str(body, "query", 200));
      case "scan.undo":
        this.#idle();
        if (!this.#scan?.undo()) throw new RequestError("nothing to undo");
        return this.#scanChanged();
      case "scan.reset":
        this.#idle();
        this.#scan = null;
        return this.#scanChanged();
      case "scan.abort":
        this.#step?.abort(new Error("aborted"));
        this.#pointerStep?.abort(new Error("aborted"));
        return { aborted: this.#step !== null || this.#pointerStep !== null };
      case "scan.window":
        return this.#setWindow(field.int(body, "start", 0, Number.MAX_SAFE_INTEGER), field.int(body, "size", 0, MAX_WINDOW));
      case "list.get":
        return this.#listView();
      case "list.add": {
        const entry = this.list.add({ description: body.description, address: body.address, type: body.type });
        this.#listChanged();
        return { id: entry.id };
      }
      case "list.update": {
        const id = field.int(body, "id", 1, Number.MAX_SAFE_INTEGER);
        this.list.update(id, { description: body.description, address: body.address, type: body.type });
        if (body.address !== undefined || body.type !== undefined) this.#unfreeze(id);
        this.#listChanged();
        return { id };
      }
      case "list.remove": {
        const id = field.int(body, "id", 1, Number.MAX_SAFE_INTEGER);
        this.list.remove(id);
        this.#unfreeze(id);
        this.#listChanged();
        return { id };
      }
      case "list.write":
        return this.#writeEntry(field.int(body, "id", 1, Number.MAX_SAFE_INTEGER), field.str(body, "value", 100));
      case "list.freeze":
        return this.#freeze(body);
      case "list.save":
        // A freeze that allows increase or decrease follows the target: save the value it holds now.
        for (const e of this.list.entries) {
          const f = this.#freezes.get(e.id);
          e.frozen = f !== undefined;
          if (f) e.value = formatValue(e.type, f.handle.value);
        }
        return this.list.toTable();
      case "list.load": {
        const list = body.list;
        const text = typeof list === "string" ? field.str(body, "list", 4 << 20) : undefined;
        const own = typeof list === "object" && list !== null && (list as { format?: unknown }).format === "process-vm-list";
        const loaded = own ? (this.list.load(list), { loaded: this.list.entries.length, skipped: 0 }) : this.list.loadTable(text ?? field.obj(body, "list"));
        for (const id of [...this.#freezes.keys()]) this.#unfreeze(id);
        this.#listChanged();
        return { entries: loaded.loaded, skipped: loaded.skipped };
      }
      case "write":
        return this.#write(body);
      case "mem.view":
        return this.#memView(body);
      case "mem.close":
        this.live.set("mem", []);
        return null;
      case "ptr.scan":
        return this.#pointerScan(body);
      case "ptr.rescan":
        return this.#rescan(parseAddress(body.address));
      case "ptr.paths":
        return this.#pathsView();
      default:
        throw new RequestError(`unknown command "${cmd.slice(0, 40)}"`);
    }
  }

  #requireProc(): Process {
    if (!this.#proc) throw new RequestError("no process attached");
    return this.#proc;
  }

  #requireScan(): Scan {
    if (!this.#scan) throw new RequestError("no scan yet: run a first scan");
    return this.#scan;
  }

  #idle(): void {
    if (this.#step) throw new RequestError("a scan step is running (abort it first)");
  }

  #attach(pid: number): unknown {
    const proc = new Process(pid);
    proc.maps(); // fails now (ESRCH, EACCES) rather than at the first scan
    this.#idle();
    for (const id of [...this.#freezes.keys()]) this.#unfreeze(id);
    this.#proc = proc;
    this.#scan = null;
    this.#chains = null;
    this.live.set("scan", []);
    this.live.set("mem", []);
    this.live.setProcess(pid);
    this.live.start();
    if (!this.#chainTimer) {
      this.#chainTimer = setInterval(() => this.#refreshChains(), CHAIN_REFRESH_MS);
      (this.#chainTimer as { unref?: () => void }).unref?.();
    }
    this.#listChanged();
    const info = { pid, name: processName(pid) };
    this.#push({ t: "process", process: info });
    this.#push({ t: "scan", scan: this.#scanInfo() });
    return info;
  }

  #memoryOptions(body: Record<string, unknown>): MemoryOptions {
    const m = body.memory === undefined ? {} : field.obj(body, "memory");
    const out: { -readonly [K in keyof MemoryOptions]: MemoryOptions[K] } = {};
    if (m.kinds !== undefined) {
      if (!Array.isArray(m.kinds) || m.kinds.length > 16 || !m.kinds.every((k) => typeof k === "string" && KINDS.has(k))) {
        throw new RequestError(`"memory.kinds" must be a list of ${[...KINDS].join(", ")}`);
      }
      if (m.kinds.length > 0) out.kinds = m.kinds as RegionKind[];
    }
    const permissions = field.optStr(m, "permissions", 8);
    if (permissions !== undefined) {
      if (!/^([r?-][w?-][x?-][ps?]|[rwxsp]{1,4})$/.test(permissions)) throw new RequestError(`"memory.permissions" must look like rw?p, r-x? or rw (got "${permissions}")`);
      out.permissions = permissions;
    }
    const module = field.optStr(m, "module", 256);
    if (module !== undefined) out.module = module;
    if (m.within !== undefined && m.within !== null) {
      if (!Array.isArray(m.within) || m.within.length !== 2) throw new RequestError('"memory.within" must be [start, end]');
      const start = parseAddress(m.within[0], "within start");
      const end = parseAddress(m.within[1], "within end");
      if (end <= start) throw new RequestError('"memory.within" must have end > start');
      out.within = [start, end];
    }
    return out;
  }

  async #first(body: Record<string, unknown>): Promise<unknown> {
    const proc = this.#requireProc();
    this.#idle();
    const type = body.type;
    if (typeof type !== "string" || !SCAN_TYPES.has(type)) throw new RequestError(`"type" must be one of ${[...SCAN_TYPES].join(" ")}`);
    const query = field.str(body, "query", 1000);
    if (query.trim() === "") throw new RequestError("the query is empty");
    const memory = this.#memoryOptions(body);
    const align = body.align === undefined || body.align === null ? undefined : field.int(body, "align", 1, 8);
    return this.#run(async (signal, onProgress) => {
      const scan = await proc.scan(type as ScanValueType, query, { ...memory, ...(align ? { align } : {}), signal, onProgress });
      this.#scan = scan;
      this.#scanType = type as ScanValueType;
    });
  }

  async #next(query: string): Promise<unknown> {
    const scan = this.#requireScan();
    this.#idle();
    if (query.trim() === "") throw new RequestError("the query is empty");
    return this.#run(async (signal, onProgress) => {
      await scan.next(query, { signal, onProgress });
    });
  }

  async #run(step: (signal: AbortSignal, onProgress: (done: number, total: number) => void) => Promise<void>): Promise<unknown> {
    const controller = new AbortController();
    this.#step = controller;
    const started = performance.now();
    let last = 0;
    const onProgress = (done: number, total: number) => {
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      this.#push({ t: "progress", what: "scan", done, total });
    };
    this.#push({ t: "progress", what: "scan", done: 0, total: 1 });
    try {
      await step(controller.signal, onProgress);
    } finally {
      this.#step = null;
      this.#push({ t: "progress", what: "scan", done: 1, total: 1, finished: true });
    }
    const info = this.#scanChanged();
    return { ...info, ms: Math.round(performance.now() - started) };
  }

  #scanInfo(): { count: number; steps: number; type: string; skipped: number } | null {
    const s = this.#scan;
    return s ? { count: s.count, steps: s.steps, type: this.#scanType, skipped: s.skipped } : null;
  }

  #scanChanged(): { count: number; steps: number } {
    const info = this.#scanInfo();
    this.#push({ t: "scan", scan: info });
    if (!info) this.live.set("scan", []);
    else if (this.#window.size > 0) this.#setWindow(this.#window.start, this.#window.size);
    return info ?? { count: 0, steps: 0 };
  }

  #setWindow(start: number, size: number): { start: number; count: number; rows: Row[] } {
    this.#window = { start, size };
    const s = this.#scan;
    const rows: Row[] = [];
    const slots: LiveSlot[] = [];
    if (s && size > 0) {
      const end = Math.min(s.count, start + size);
      const type = this.#scanType;
      if (start >= FAST_WINDOW && isValueType(type)) {
        // Deep in millions of matches: the addresses by index, the values from the live reader.
        const addresses = s.addresses(start, end);
        for (let k = 0; k < addresses.length; k++) {
          const address = addresses[k]!;
          rows.push({ i: start + k, address: hex(address), type, value: "", previous: null });
          slots.push({ key: `s${start + k}`, address, length: VALUE_SIZE[type], format: type });
        }
      } else {
        let i = 0;
        for (const m of s) {
          if (i >= end) break;
          if (i >= start) {
            rows.push({
              i,
              address: hex(m.address),
              type: m.type,
              value: formatValue(m.type, m.value),
              previous: m.previous === undefined ? null : formatValue(m.type, m.previous),
            });
            if (isValueType(m.type)) slots.push({ key: `s${i}`, address: m.address, length: VALUE_SIZE[m.type], format: m.type });
          }
          i++;
        }
      }
    }
    this.live.set("scan", slots);
    this.live.resend();
    return { start, count: s?.count ?? 0, rows };
  }

  #listView(): (ListEntry & { resolved: string | null })[] {
    return this.list.entries.map((e) => {
      const r = this.#resolved.get(e.id);
      return { ...e, frozen: this.#freezes.has(e.id), resolved: r === undefined || Number.isNaN(r) ? null : hex(r) };
    });
  }

  /** Re-resolves every entry, rebuilds the list's live slots and tells the pages. */
  #listChanged(): void {
    this.#resolved.clear();
    const chains: { ids: number[]; specs: string[] } = { ids: [], specs: [] };
    for (const e of this.list.entries) {
      if (isPlainAddress(e.address)) this.#resolved.set(e.id, parseAddress(e.address));
      else {
        chains.ids.push(e.id);
        chains.specs.push(e.address);
      }
    }
    this.#chains = null;
    if (this.#proc && chains.ids.length > 0) {
      try {
        this.#chains = { ids: chains.ids, list: new PointerChainList(this.#proc, chains.specs.map((s) => parseChain(s))) };
        const out = this.#chains.list.resolve();
        chains.ids.forEach((id, k) => this.#resolved.set(id, out[k]!));
      } catch (error) {
        this.#push({ t: "status", level: "error", text: `pointer chains: ${(error as Error).message}` });
      }
    }
    this.#listSlots();
    this.#push({ t: "list", entries: this.#listView() });
  }

  #listSlots(): void {
    const slots: LiveSlot[] = [];
    for (const e of this.list.entries) {
      const a = this.#resolved.get(e.id);
      if (a !== undefined && !Number.isNaN(a)) slots.push({ key: `l${e.id}`, address: a, length: VALUE_SIZE[e.type], format: e.type });
    }
    this.live.set("list", slots);
    this.live.resend();
  }

  /** Chains move when the target rebuilds its objects: re-resolve them now and then, and follow them with the reader. */
  #refreshChains(): void {
    const c = this.#chains;
    if (!c) return;
    let out: Float64Array;
    try {
      out = c.list.resolve();
    } catch {
      return;
    }
    let moved = false;
    c.ids.forEach((id, k) => {
      const before = this.#resolved.get(id);
      const now = out[k]!;
      if (before === now || (Number.isNaN(before) && Number.isNaN(now))) return;
      this.#resolved.set(id, now);
      moved = true; // a frozen chain is followed by the freezer itself, every tick
    });
    if (moved) {
      this.#listSlots();
      this.#push({ t: "list", entries: this.#listView() });
    }
  }

  #address(entry: ListEntry): number {
    const a = this.#resolved.get(entry.id);
    if (a === undefined || Number.isNaN(a)) throw new RequestError(`"${entry.address}" does not resolve now`);
    return a;
  }

  #writeValue(address: number, type: ValueType, value: Value): void {
    const bytes = new Uint8Array(new ArrayBuffer(VALUE_SIZE[type]));
    const dv = new DataView(bytes.buffer);
    switch (type) {
      case "i8": dv.setInt8(0, value as number); break;
      case "u8": dv.setUint8(0, value as number); break;
      case "i16": dv.setInt16(0, value as number, true); break;
      case "u16": dv.setUint16(0, value as number, true); break;
      case "i32": dv.setInt32(0, value as number, true); break;
      case "u32": dv.setUint32(0, value as number, true); break;
      case "i64": dv.setBigInt64(0, value as bigint, true); break;
      case "u64": dv.setBigUint64(0, value as bigint, true); break;
      case "f32": dv.setFloat32(0, value as number, true); break;
      case "f64": dv.setFloat64(0, value as number, true); break;
    }
    this.#requireProc().write(address, bytes);
  }

  #writeEntry(id: number, text: string): unknown {
    const entry = this.list.get(id);
    const value = parseTypedValue(entry.type, text);
    const address = this.#address(entry);
    this.#writeValue(address, entry.type, value);
    const f = this.#freezes.get(id);
    if (f) {
      f.handle.set(value);
      entry.value = formatValue(entry.type, value);
    }
    return { id, address: hex(address), value: formatValue(entry.type, value) };
  }

  #startFreeze(entry: ListEntry, address: number, value: Value): void {
    // A chain is handed to the freezer as a chain: it follows it every tick, so the freeze holds the new object at once.
    const target = isPlainAddress(entry.address) ? address : parseChain(entry.address);
    const handle = this.#requireProc().freeze(target, entry.type, value, {
      intervalMs: 50,
      keepAlive: false,
      allowIncrease: entry.allowIncrease,
      allowDecrease: entry.allowDecrease,
      onError: (error) => {
        if (this.#freezes.get(entry.id)?.handle === handle) this.#freezes.delete(entry.id);
        this.#push({ t: "status", level: "error", text: `freeze of ${entry.description || entry.address} stopped: ${error.message}` });
        this.#push({ t: "list", entries: this.#listView() });
      },
    });
    this.#freezes.set(entry.id, { handle, address });
    entry.value = formatValue(entry.type, value);
  }

  #unfreeze(id: number): void {
    this.#freezes.get(id)?.handle.stop();
    this.#freezes.delete(id);
  }

  #freeze(body: Record<string, unknown>): unknown {
    const id = field.int(body, "id", 1, Number.MAX_SAFE_INTEGER);
    const entry = this.list.get(id);
    const frozen = field.bool(body, "frozen");
    if (body.allowIncrease !== undefined) entry.allowIncrease = field.bool(body, "allowIncrease");
    if (body.allowDecrease !== undefined) entry.allowDecrease = field.bool(body, "allowDecrease");
    const current = this.#freezes.get(id);
    this.#unfreeze(id);
    if (frozen) {
      const address = this.#address(entry);
      let value: Value;
      const text = field.optStr(body, "value", 100);
      if (text !== undefined) value = parseTypedValue(entry.type, text);
      else if (current) value = current.handle.value;
      else {
        const bytes = this.#requireProc().read(address, VALUE_SIZE[entry.type]);
        value = readValue(new DataView(bytes.buffer, bytes.byteOffset), entry.type);
      }
      this.#startFreeze(entry, address, value);
    }
    this.#push({ t: "list", entries: this.#listView() });
    return { id, frozen, value: entry.value ?? null };
  }

  #write(body: Record<string, unknown>): unknown {
    const proc = this.#requireProc();
    const address = parseAddress(body.address);
    if (body.type === "bytes") {
      const text = field.str(body, "value", 8192).replace(/\s+/g, "");
      if (!/^([0-9a-f]{2})+$/i.test(text)) throw new RequestError("bytes must be pairs of hex digits");
      proc.write(address, Buffer.from(text, "hex"));
      return { address: hex(address), bytes: text.length / 2 };
    }
    const type = field.type(body);
    const value = parseTypedValue(type, field.str(body, "value", 100));
    this.#writeValue(address, type, value);
    return { address: hex(address), value: formatValue(type, value) };
  }

  #memView(body: Record<string, unknown>): unknown {
    const proc = this.#requireProc();
    const text = field.str(body, "address", 1000).trim();
    const rows = field.optInt(body, "rows", 1, MAX_ROWS, 16);
    let address: number;
    if (isPlainAddress(text)) address = parseAddress(text);
    else {
      try {
        address = proc.resolve(parseChain(text));
      } catch (error) {
        throw new RequestError((error as Error).message);
      }
    }
    const start = address - (address % 16);
    if (start + 16 * rows > Number.MAX_SAFE_INTEGER) throw new RequestError(`${hex(address)} + ${16 * rows} bytes is past the last address a view can show`);
    const slots: LiveSlot[] = [];
    for (let r = 0; r < rows; r++) slots.push({ key: `m${r}`, address: start + 16 * r, length: 16, format: "hex" });
    this.live.set("mem", slots);
    this.live.resend();
    const region = proc.maps().find((m) => m.start <= address && address < m.end);
    return {
      address: hex(address),
      start: hex(start),
      rows,
      region: region ? `${hex(region.start)}-${hex(region.end)} ${region.permissions} ${region.path || region.kind}` : "not mapped",
    };
  }

  async #pointerScan(body: Record<string, unknown>): Promise<unknown> {
    const proc = this.#requireProc();
    if (this.#pointerStep) throw new RequestError("a pointer scan is running");
    let address: number;
    if (body.id !== undefined) address = this.#address(this.list.get(field.int(body, "id", 1, Number.MAX_SAFE_INTEGER)));
    else address = parseAddress(body.address);
    const maxDepth = field.optInt(body, "maxDepth", 1, 7, 3);
    const maxOffset = field.optInt(body, "maxOffset", 0, 0x10000, 0x1000);
    const module = field.optStr(body, "module", 256);
    const controller = new AbortController();
    this.#pointerStep = controller;
    let last = 0;
    try {
      this.#paths = await proc.findPointerPaths(address, {
        maxDepth,
        maxOffset,
        maxResults: 2000,
        ...(module ? { modules: [module] } : {}),
        signal: controller.signal,
        onProgress: (p) => {
          const now = performance.now();
          if (now - last < 100) return;
          last = now;
          this.#push({ t: "progress", what: "pointers", phase: p.phase, done: p.done, total: p.total });
        },
      });
    } finally {
      this.#pointerStep = null;
      this.#push({ t: "progress", what: "pointers", done: 1, total: 1, finished: true });
    }
    return this.#pathsView();
  }

  #rescan(address: number): unknown {
    if (!this.#paths) throw new RequestError("no pointer scan yet");
    this.#paths = this.#paths.rescan(this.#requireProc(), address);
    return this.#pathsView();
  }

  #pathsView(): unknown {
    const p = this.#paths;
    if (!p) return { address: null, count: 0, paths: [] };
    const ranked = [...p.paths].sort((a, b) => a.offsets.length - b.offsets.length || Math.max(0, ...a.offsets.map(Math.abs)) - Math.max(0, ...b.offsets.map(Math.abs)));
    return {
      address: hex(p.address),
      count: p.paths.length,
      truncated: p.truncated,
      ms: Math.round(p.stats.ms),
      paths: ranked.slice(0, 200).map((x) => formatChain(x)),
    };
  }
}

function readValue(dv: DataView, type: ValueType): Value {
  switch (type) {
    case "i8": return dv.getInt8(0);
    case "u8": return dv.getUint8(0);
    case "i16": return dv.getInt16(0, true);
    case "u16": return dv.getUint16(0, true);
    case "i32": return dv.getInt32(0, true);
    case "u32": return dv.getUint32(0, true);
    case "i64": return dv.getBigInt64(0, true);
    case "u64": return dv.getBigUint64(0, true);
    case "f32": return dv.getFloat32(0, true);
    case "f64": return dv.getFloat64(0, true);
  }
}

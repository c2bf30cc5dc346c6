// The tool tabs: memory view, pointer scan, process picker, maps.
import { useEffect, useState } from "preact/hooks";
import { act, nav, useStore } from "./conn.js";
import { Editable, Progress, TYPES, fmt, html, size } from "./util.js";

function bytesOf(hexes) {
  const out = [];
  for (const h of hexes) {
    for (let k = 0; k < 16; k++) out.push(h === null || h === undefined ? null : parseInt(h.slice(2 * k, 2 * k + 2), 16));
  }
  return out;
}

function typed(bytes, at, type) {
  const n = { i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, u64: 8, f32: 4, f64: 8, pointer: 8 }[type];
  if (at + n > bytes.length) return null;
  const dv = new DataView(new ArrayBuffer(8));
  for (let k = 0; k < n; k++) {
    if (bytes[at + k] === null) return null;
    dv.setUint8(k, bytes[at + k]);
  }
  switch (type) {
    case "i8": return String(dv.getInt8(0));
    case "u8": return String(dv.getUint8(0));
    case "i16": return String(dv.getInt16(0, true));
    case "u16": return String(dv.getUint16(0, true));
    case "i32": return String(dv.getInt32(0, true));
    case "u32": return String(dv.getUint32(0, true));
    case "i64": return String(dv.getBigInt64(0, true));
    case "u64": return String(dv.getBigUint64(0, true));
    case "f32": return String(Number(dv.getFloat32(0, true).toPrecision(7)));
    case "f64": return String(dv.getFloat64(0, true));
    case "pointer": return `0x${dv.getBigUint64(0, true).toString(16)}`;
  }
}

export function MemoryPanel({ address }) {
  const s = useStore();
  const [text, setText] = useState(address || "");
  const [view, setView] = useState(null);
  const [cursor, setCursor] = useState(0);
  const go = async (target) => {
    const a = (target ?? text).trim();
    if (!a) return;
    setText(a);
    const r = await act("mem.view", { address: a, rows: 16 });
    if (!r) return;
    setView(r);
    setCursor(parseInt(r.address, 16) - parseInt(r.start, 16));
  };
  useEffect(() => {
    if (address && s.process) void go(address);
  }, [address, s.process?.pid]);
  useEffect(() => () => void act("mem.close"), []);
  const rows = view ? Array.from({ length: view.rows }, (_, r) => s.live[`m${r}`]) : [];
  const bytes = bytesOf(rows);
  const start = view ? parseInt(view.start, 16) : 0;
  const at = (off) => `0x${(start + off).toString(16)}`;
  const ptr = typed(bytes, cursor, "pointer");
  return html`<div class="memview" data-testid="memory-view">
    <div class="row">
      <input class="mono grow" data-testid="mem-address" placeholder="address or chain: 0x7f… or game+0x1a2b0 -> 0x10" value=${text} onInput=${(e) => setText(e.target.value)} onKeyDown=${(e) => e.key === "Enter" && go()} />
      <button class="small" onClick=${() => go()}>Go</button>
      <button class="small" disabled=${!view} onClick=${() => go(at(-256))} title="256 bytes back">▲</button>
      <button class="small" disabled=${!view} onClick=${() => go(at(256))} title="256 bytes on">▼</button>
      ${view ? html`<span class="dim region">${view.region}</span>` : null}
    </div>
    ${view ? html`<div class="mem-split">
      <table class="hex mono" data-testid="hex">
        <tbody>${rows.map((h, r) => html`<tr key=${r}>
          <td class="addr dim">${(start + 16 * r).toString(16).padStart(12, "0")}</td>
          ${Array.from({ length: 16 }, (_, k) => {
            const off = 16 * r + k;
            const b = bytes[off];
            return html`<td class=${`b ${off === cursor ? "cur" : ""} ${k === 8 ? "gap" : ""} ${b === 0 ? "zero" : ""}`} onClick=${() => setCursor(off)}>
              <${Editable} value=${b === null ? "??" : b.toString(16).padStart(2, "0")} onCommit=${(v) => act("write", { address: at(off), type: "u8", value: `0x${v.trim()}` })} /></td>`;
          })}
          <td class="ascii">${Array.from({ length: 16 }, (_, k) => { const b = bytes[16 * r + k]; return b === null ? "?" : b >= 32 && b < 127 ? String.fromCharCode(b) : "."; }).join("")}</td>
        </tr>`)}</tbody>
      </table>
      <table class="typed" data-testid="typed">
        <thead><tr><th colspan="2">at <span class="mono">${at(cursor)}</span></th></tr></thead>
        <tbody>
          ${TYPES.map((t) => html`<tr key=${t}><td class="dim">${t}</td><td class="mono"><${Editable} testid=${`typed-${t}`} value=${typed(bytes, cursor, t) ?? "??"} onCommit=${(v) => act("write", { address: at(cursor), type: t, value: v })} /></td></tr>`)}
          <tr><td class="dim">pointer</td><td class="mono"><a href="#" data-testid="follow" title="follow the pointer" onClick=${(e) => { e.preventDefault(); if (ptr) void go(ptr); }}>${ptr ?? "??"} →</a></td></tr>
        </tbody>
      </table>
    </div>` : html`<p class="empty">Open the memory view from the address list (hex), or type an address.</p>`}
  </div>`;
}

export function PointerPanel({ target }) {
  const s = useStore();
  const [address, setAddress] = useState(target?.resolved ?? "");
  const [depth, setDepth] = useState(3);
  const [maxOffset, setMaxOffset] = useState("0x1000");
  const [module, setModule] = useState("");
  const [result, setResult] = useState(null);
  const [rescanAt, setRescanAt] = useState("");
  useEffect(() => {
    if (target?.resolved) setAddress(target.resolved);
    void act("ptr.paths").then((r) => r && r.address && setResult(r));
  }, [target?.id]);
  const scan = async () => {
    const r = await act("ptr.scan", { address, maxDepth: Number(depth), maxOffset: parseInt(maxOffset, 16) || 0, module: module || undefined });
    if (r) setResult(r);
  };
  const rescan = async () => {
    const r = await act("ptr.rescan", { address: rescanAt || address });
    if (r) setResult(r);
  };
  const add = (path) => act("list.add", { description: `${target?.description || "value"} (pointer)`, address: path, type: target?.type ?? "i32" });
  return html`<div class="pointers" data-testid="pointer-panel">
    <div class="row wrap">
      <label>to</label><input class="mono" data-testid="ptr-address" value=${address} placeholder="0x address" onInput=${(e) => setAddress(e.target.value)} />
      <label>depth</label><input type="number" min="1" max="7" class="num3" value=${depth} onInput=${(e) => setDepth(e.target.value)} />
      <label>max offset</label><input class="mono num6" value=${maxOffset} onInput=${(e) => setMaxOffset(e.target.value)} />
      <label>module</label><input class="mono" value=${module} placeholder="any" onInput=${(e) => setModule(e.target.value)} />
      <button class="small primary" data-testid="ptr-scan" disabled=${!s.process || !address} onClick=${scan}>Find paths</button>
    </div>
    <${Progress} p=${s.progress.pointers} onAbort=${() => act("scan.abort")} />
    ${result ? html`<div class="row">
      <span><b data-testid="ptr-count">${fmt(result.count)}</b> paths to <span class="mono">${result.address}</span>${result.truncated ? " (cut short)" : ""}${result.ms !== undefined ? html` <span class="dim">${result.ms} ms</span>` : null}</span>
      <span class="grow"></span>
      <label>after a restart, value now at</label><input class="mono" value=${rescanAt} placeholder=${result.address} onInput=${(e) => setRescanAt(e.target.value)} />
      <button class="small" onClick=${rescan}>Rescan</button>
    </div>
    <div class="table-wrap"><table class="paths"><thead><tr><th class="num">#</th><th>Path</th><th></th></tr></thead><tbody>
      ${result.paths.map((p, i) => html`<tr key=${p}><td class="num dim">${i + 1}</td><td class="mono">${p}</td><td><button class="small" data-testid="ptr-add" onClick=${() => add(p)}>Add to list</button></td></tr>`)}
    </tbody></table></div>` : html`<p class="empty">Paths from module images (stable across restarts) to a value: pick ptr on a list entry, or type an address.</p>`}
  </div>`;
}

export function ProcessPanel({ onAttached }) {
  const s = useStore();
  const [filter, setFilter] = useState("");
  const [procs, setProcs] = useState([]);
  const refresh = async (f = filter) => {
    const r = await act("ps", { filter: f, limit: 300 });
    if (r) setProcs(r);
  };
  useEffect(() => {
    const t = setTimeout(() => refresh(filter), 150);
    return () => clearTimeout(t);
  }, [filter]);
  const attach = async (pid) => {
    if (await act("attach", { pid })) onAttached();
  };
  return html`<div class="procs" data-testid="process-panel">
    <div class="row"><input class="grow" data-testid="ps-filter" placeholder="filter by name, command line or pid" value=${filter} onInput=${(e) => setFilter(e.target.value)} /><button class="small" onClick=${() => refresh()}>Refresh</button></div>
    <div class="table-wrap"><table class="ps"><thead><tr><th class="num">PID</th><th>Name</th><th>User</th><th class="num">RSS</th><th>Command</th><th></th></tr></thead><tbody>
      ${procs.map((p) => html`<tr key=${p.pid} class=${s.process?.pid === p.pid ? "sel" : ""} onDblClick=${() => attach(p.pid)}>
        <td class="num mono">${p.pid}</td><td><b>${p.name}</b></td><td class="dim">${p.user}</td><td class="num mono">${size(p.rss)}</td>
        <td class="mono dim cmd" title=${p.command}>${p.command}</td>
        <td><button class="small" data-testid=${`attach-${p.pid}`} onClick=${() => attach(p.pid)}>Attach</button></td></tr>`)}
    </tbody></table></div>
  </div>`;
}

export function MapsPanel() {
  const s = useStore();
  const [maps, setMaps] = useState([]);
  const [writable, setWritable] = useState(true);
  useEffect(() => {
    if (s.process) void act("maps").then((m) => m && setMaps(m));
    else setMaps([]);
  }, [s.process?.pid]);
  const shown = maps.filter((m) => !writable || m.permissions[1] === "w");
  return html`<div class="maps" data-testid="maps-panel">
    <div class="row"><label class="check"><input type="checkbox" checked=${writable} onChange=${(e) => setWritable(e.target.checked)} />writable only</label>
      <span class="dim">${shown.length} regions, ${size(shown.reduce((a, m) => a + m.size, 0))}</span></div>
    <div class="table-wrap"><table><thead><tr><th>Start</th><th>End</th><th class="num">Size</th><th>Perm</th><th>Kind</th><th>Path</th></tr></thead><tbody>
      ${shown.map((m) => html`<tr key=${m.start}><td class="mono"><a href="#" onClick=${(e) => { e.preventDefault(); nav.set({ tab: "memory", memAddress: m.start }); }}>${m.start}</a></td>
        <td class="mono dim">${m.end}</td><td class="num mono">${size(m.size)}</td><td class="mono">${m.permissions}</td><td>${m.kind}</td><td class="mono dim">${m.path}</td></tr>`)}
    </tbody></table></div>
  </div>`;
}

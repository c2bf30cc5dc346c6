// The page: a scanner on the left, the address list and the tool tabs on the right.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { act, connect, nav, request, status, store, useStore } from "./conn.js";
import { Editable, Progress, TYPES, fmt, html } from "./util.js";
import { MapsPanel, MemoryPanel, PointerPanel, ProcessPanel } from "./panels.js";

const PAGE = 100;
const KINDS = ["heap", "stack", "anonymous", "file", "named"];

function Header() {
  const s = useStore();
  const p = s.process;
  return html`<header>
    <span class="logo">pvm<b>ui</b></span>
    <span class="target" data-testid="attached">${p ? html`<b>${p.name || "?"}</b> <span class="dim">pid</span> ${p.pid}` : html`<i class="dim">no process — pick one below</i>`}</span>
    <span class="status ${s.status?.level ?? ""}" data-testid="status">${s.status?.text ?? ""}</span>
    <span class="conn ${s.connected ? "on" : "off"}" title="live updates per second">${s.connected ? `live ${s.liveRate}/s` : "disconnected"}</span>
  </header>`;
}

function ScanPanel() {
  const s = useStore();
  const [type, setType] = useState("i32");
  const [query, setQuery] = useState("");
  const [kinds, setKinds] = useState([]);
  const [permissions, setPermissions] = useState("rw?p");
  const [module, setModule] = useState("");
  const [within, setWithin] = useState(["", ""]);
  const [everyOffset, setEveryOffset] = useState(false);
  const [page, setPage] = useState({ start: 0, rows: [], count: 0 });
  const [selected, setSelected] = useState(new Set());
  const [busy, setBusy] = useState(false);
  const scan = s.scan;

  const load = async (start) => {
    const w = await act("scan.window", { start, size: PAGE });
    if (w) setPage(w);
  };
  useEffect(() => {
    setSelected(new Set());
    if (scan) void load(0);
    else setPage({ start: 0, rows: [], count: 0 });
  }, [scan?.count, scan?.steps, s.process?.pid]);

  const run = async (first) => {
    if (query.trim() === "") return status("type a value or a query first", "error");
    setBusy(true);
    const memory = { permissions: permissions || undefined, module: module || undefined, kinds: kinds.length ? kinds : undefined, within: within[0] && within[1] ? within : undefined };
    const r = first ? await act("scan.first", { type, query, memory, align: everyOffset ? 1 : undefined }) : await act("scan.next", { query });
    setBusy(false);
    if (r) status(`${fmt(r.count)} ${r.count === 1 ? "match" : "matches"} (${r.ms} ms)`);
  };
  const toggleKind = (k) => setKinds(kinds.includes(k) ? kinds.filter((x) => x !== k) : [...kinds, k]);
  const addRows = async (rows) => {
    if (rows.some((r) => !TYPES.includes(r.type))) return status("string and byte matches cannot go to the list; use the memory view", "error");
    for (const r of rows) await act("list.add", { description: "", address: r.address, type: r.type });
    if (rows.length) status(`added ${rows.length} to the list`);
  };
  const chosen = page.rows.filter((r) => selected.has(r.i));
  const pick = (r, e) => {
    const next = new Set(e.ctrlKey || e.metaKey ? selected : []);
    if (next.has(r.i)) next.delete(r.i);
    else next.add(r.i);
    setSelected(next);
  };
  const count = scan?.count ?? 0;
  const last = Math.max(0, Math.floor((count - 1) / PAGE) * PAGE);

  return html`<section class="panel scan" data-testid="scan-panel">
    <h2>Scan</h2>
    <div class="row">
      <select data-testid="scan-type" value=${type} title="value type (of the next first scan)" onChange=${(e) => setType(e.target.value)}>
        ${[...TYPES, "int8", "int16", "int32", "int64", "int", "string", "bytes"].map((t) => html`<option value=${t}>${t}</option>`)}
      </select>
      <input data-testid="scan-query" class="grow mono" placeholder=${scan ? "changed, decreased, > 5, 100, + 1 …" : "value, 1..10, > 5, unknown"} value=${query}
        onInput=${(e) => setQuery(e.target.value)} onKeyDown=${(e) => e.key === "Enter" && !busy && run(!scan)} />
    </div>
    <div class="row buttons">
      <button data-testid="scan-first" class="primary" disabled=${busy || !s.process} onClick=${() => run(true)}>${scan ? "New scan" : "First scan"}</button>
      <button data-testid="scan-next" disabled=${busy || !scan} onClick=${() => run(false)}>Next scan</button>
      <button data-testid="scan-undo" disabled=${busy || !scan || scan.steps < 2} onClick=${() => act("scan.undo")}>Undo</button>
      <button data-testid="scan-reset" disabled=${busy || !scan} onClick=${() => act("scan.reset")}>Reset</button>
    </div>
    <details class="memory">
      <summary>Memory: ${kinds.length ? kinds.join(", ") : "all kinds"}, ${permissions || "rw?p"}${module ? `, ${module}` : ""}${within[0] && within[1] ? `, ${within[0]}–${within[1]}` : ""}${everyOffset ? ", every offset" : ""}</summary>
      <div class="row wrap">${KINDS.map((k) => html`<label class="check"><input type="checkbox" data-testid=${`kind-${k}`} checked=${kinds.includes(k)} onChange=${() => toggleKind(k)} />${k}</label>`)}</div>
      <div class="grid2">
        <label>permissions</label><input class="mono" value=${permissions} onInput=${(e) => setPermissions(e.target.value)} placeholder="rw?p" />
        <label>module</label><input data-testid="scan-module" class="mono" value=${module} onInput=${(e) => setModule(e.target.value)} placeholder="any (e.g. libgame.so)" />
        <label>within</label><span class="row"><input class="mono grow" value=${within[0]} placeholder="0x start" onInput=${(e) => setWithin([e.target.value, within[1]])} /><input class="mono grow" value=${within[1]} placeholder="0x end" onInput=${(e) => setWithin([within[0], e.target.value])} /></span>
        <label>alignment</label><label class="check"><input type="checkbox" checked=${everyOffset} onChange=${(e) => setEveryOffset(e.target.checked)} />every offset (slower)</label>
      </div>
    </details>
    <${Progress} p=${s.progress.scan} onAbort=${() => act("scan.abort")} />
    <div class="row count">
      <span data-testid="scan-count"><b>${fmt(count)}</b> ${count === 1 ? "match" : "matches"}</span>
      ${scan ? html`<span class="dim">${scan.type} · step ${scan.steps}${scan.skipped ? ` · ${fmt(scan.skipped)} bytes unreadable` : ""}</span>` : null}
      <span class="grow"></span>
      <button class="small" data-testid="scan-add" disabled=${chosen.length === 0} onClick=${() => addRows(chosen)}>Add ${chosen.length || ""} to list</button>
    </div>
    <div class="table-wrap">
      <table class="results" data-testid="scan-results">
        <thead><tr><th class="num">#</th><th>Address</th><th>Value</th><th>Previous</th></tr></thead>
        <tbody>
          ${page.rows.map((r) => {
            const live = s.live[`s${r.i}`];
            const value = live === undefined ? r.value : live === null ? "??" : live;
            return html`<tr key=${r.i} class=${selected.has(r.i) ? "sel" : ""} onClick=${(e) => pick(r, e)} onDblClick=${() => addRows([r])} title="click to select, double-click to add to the list">
              <td class="num dim">${r.i}</td><td class="mono addr">${r.address}</td>
              <td class="mono ${value !== r.value ? "changed" : ""}" data-testid="scan-value">${value}</td><td class="mono dim">${r.previous ?? ""}</td></tr>`;
          })}
        </tbody>
      </table>
      ${count === 0 ? html`<p class="empty">${scan ? "no matches: undo, or reset and scan again" : "Attach to a process, type a value, press First scan."}</p>` : null}
    </div>
    ${count > PAGE ? html`<div class="row pager">
      <button class="small" disabled=${page.start === 0} onClick=${() => load(0)}>«</button>
      <button class="small" disabled=${page.start === 0} onClick=${() => load(Math.max(0, page.start - PAGE))}>‹</button>
      <span class="dim">${fmt(page.start + 1)}–${fmt(Math.min(count, page.start + PAGE))} of ${fmt(count)}</span>
      <button class="small" disabled=${page.start + PAGE >= count} onClick=${() => load(page.start + PAGE)}>›</button>
      <button class="small" disabled=${page.start >= last} onClick=${() => load(last)}>»</button>
    </div>` : null}
  </section>`;
}

function AddressList() {
  const s = useStore();
  const [adding, setAdding] = useState(false);
  const [draft, setDraft] = useState({ description: "", address: "", type: "i32" });
  const save = async () => {
    const list = await act("list.save");
    if (!list) return;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([JSON.stringify(list, null, 2)], { type: "application/json" }));
    a.download = "pvm-table.json";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  const load = async (file) => {
    if (!file) return;
    try {
      const r = await request("list.load", { list: await file.text() }); // our table JSON, or a Cheat Engine .CT
      status(`loaded ${r.entries} entries${r.skipped ? ` (${r.skipped} left out: scripts, strings, relative addresses…)` : ""}`);
    } catch (error) {
      status(`could not load ${file.name}: ${error.message}`, "error");
    }
  };
  const add = async () => {
    if (await act("list.add", draft)) {
      setAdding(false);
      setDraft({ description: "", address: "", type: draft.type });
    }
  };
  const freeze = (e, change) => act("list.freeze", { id: e.id, frozen: e.frozen, allowIncrease: e.allowIncrease, allowDecrease: e.allowDecrease, ...change });
  return html`<section class="panel list" data-testid="address-list">
    <div class="row head">
      <h2>Address list</h2><span class="dim">${s.list.length} ${s.list.length === 1 ? "entry" : "entries"}</span><span class="grow"></span>
      <button class="small" data-testid="list-new" onClick=${() => setAdding(!adding)}>Add address</button>
      <label class="button small">Load<input type="file" data-testid="list-load" accept=".json,.ct,.CT,application/json" hidden onChange=${(e) => load(e.target.files[0])} /></label>
      <button class="small" onClick=${save} disabled=${s.list.length === 0}>Save</button>
    </div>
    ${adding ? html`<div class="row adding">
      <input placeholder="description" value=${draft.description} onInput=${(e) => setDraft({ ...draft, description: e.target.value })} />
      <input class="mono grow" placeholder="0x7f… or game+0x1a2b0 -> 0x10 -> 0x8" value=${draft.address} onInput=${(e) => setDraft({ ...draft, address: e.target.value })} onKeyDown=${(e) => e.key === "Enter" && add()} />
      <select value=${draft.type} onChange=${(e) => setDraft({ ...draft, type: e.target.value })}>${TYPES.map((t) => html`<option>${t}</option>`)}</select>
      <button class="small primary" onClick=${add}>Add</button>
    </div>` : null}
    <div class="table-wrap">
      <table class="entries">
        <thead><tr><th title="freeze">❄</th><th>Description</th><th>Address</th><th>Type</th><th>Value</th><th title="while frozen, let the target raise / lower it">allow</th><th></th></tr></thead>
        <tbody>
          ${s.list.map((e) => {
            const live = s.live[`l${e.id}`];
            const value = e.resolved === null ? "??" : live === undefined ? "…" : live === null ? "??" : live;
            return html`<tr key=${e.id} data-testid="list-row" class=${e.frozen ? "frozen" : ""}>
              <td><input type="checkbox" data-testid="list-freeze" title="freeze" checked=${e.frozen} onChange=${(ev) => freeze(e, { frozen: ev.target.checked })} /></td>
              <td><${Editable} value=${e.description} placeholder="no description" onCommit=${(v) => act("list.update", { id: e.id, description: v })} /></td>
              <td class="mono"><${Editable} value=${e.address} onCommit=${(v) => act("list.update", { id: e.id, address: v })} />
                ${e.resolved && e.resolved !== e.address ? html`<span class="dim"> = ${e.resolved}</span>` : null}</td>
              <td><select class="bare" value=${e.type} onChange=${(ev) => act("list.update", { id: e.id, type: ev.target.value })}>${TYPES.map((t) => html`<option>${t}</option>`)}</select></td>
              <td class="mono value"><${Editable} testid="list-value" value=${value} onCommit=${(v) => act("list.write", { id: e.id, value: v })} /></td>
              <td class="allow">
                <label title="allow increase"><input type="checkbox" checked=${e.allowIncrease} onChange=${(ev) => freeze(e, { allowIncrease: ev.target.checked })} />↑</label>
                <label title="allow decrease"><input type="checkbox" checked=${e.allowDecrease} onChange=${(ev) => freeze(e, { allowDecrease: ev.target.checked })} />↓</label>
              </td>
              <td class="actions">
                <button class="icon" data-testid="list-memory" title="memory view" disabled=${!e.resolved} onClick=${() => nav.set({ tab: "memory", memAddress: e.address })}>hex</button>
                <button class="icon" data-testid="list-pointers" title="find pointer paths to it" disabled=${!e.resolved} onClick=${() => nav.set({ tab: "pointers", ptrTarget: e })}>ptr</button>
                <button class="icon danger" title="remove" onClick=${() => act("list.remove", { id: e.id })}>✕</button>
              </td>
            </tr>`;
          })}
        </tbody>
      </table>
      ${s.list.length === 0 ? html`<p class="empty">Double-click a scan result, or Add address, to watch a value here.</p>` : null}
    </div>
  </section>`;
}

function Tabs() {
  useStore();
  const tabs = [["memory", "Memory"], ["pointers", "Pointer scan"], ["processes", "Processes"], ["maps", "Maps"]];
  return html`<section class="panel tools">
    <nav class="tabs">${tabs.map(([k, label]) => html`<button data-testid=${`tab-${k}`} class=${nav.tab === k ? "active" : ""} onClick=${() => nav.set({ tab: k })}>${label}</button>`)}</nav>
    <div class="tab-body">
      ${nav.tab === "memory" ? html`<${MemoryPanel} address=${nav.memAddress} />` : null}
      ${nav.tab === "pointers" ? html`<${PointerPanel} target=${nav.ptrTarget} />` : null}
      ${nav.tab === "processes" ? html`<${ProcessPanel} onAttached=${() => nav.set({ tab: "maps" })} />` : null}
      ${nav.tab === "maps" ? html`<${MapsPanel} />` : null}
    </div>
  </section>`;
}

function App() {
  const s = useStore();
  useEffect(() => {
    if (s.process && nav.tab === "processes") nav.set({ tab: "memory" });
  }, [s.process?.pid]);
  return html`<${Header} /><main><${ScanPanel} /><div class="right"><${AddressList} /><${Tabs} /></div></main>`;
}

connect();
const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);

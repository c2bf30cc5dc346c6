// Small helpers shared by the panels.
import { h } from "preact";
import { useState } from "preact/hooks";
import htm from "htm";

export const html = htm.bind(h);

export const TYPES = ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64"];

export function size(bytes) {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} G`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} M`;
  return `${Math.round(bytes / 1024)} K`;
}

export function fmt(n) {
  return n.toLocaleString("en-US");
}

/** Text that turns into an input on double-click; Enter commits, Escape cancels. */
export function Editable({ value, onCommit, testid, className = "", placeholder = "" }) {
  const [editing, setEditing] = useState(false);
  if (!editing) {
    return html`<span class="editable ${className}" data-testid=${testid} title="double-click to edit" onDblClick=${() => setEditing(true)}>${value === null || value === undefined || value === "" ? html`<i class="dim">${placeholder}</i>` : value}</span>`;
  }
  const done = (e, commit) => {
    setEditing(false);
    if (commit && e.target.value !== value) onCommit(e.target.value);
  };
  // Uncontrolled: live re-renders must not overwrite what is being typed.
  return html`<input class="inline ${className}" data-testid=${testid && `${testid}-input`}
    ref=${(el) => { if (el && !el.dataset.ready) { el.dataset.ready = "1"; el.value = value ?? ""; el.focus(); el.select(); } }}
    onKeyDown=${(e) => { if (e.key === "Enter") done(e, true); else if (e.key === "Escape") done(e, false); }}
    onBlur=${(e) => done(e, false)} />`;
}

export function Progress({ p, onAbort }) {
  if (!p) return null;
  const pct = p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : 0;
  return html`<div class="progress" data-testid="progress">
    <div class="bar"><div class="fill" style=${{ width: `${pct.toFixed(1)}%` }}></div></div>
    <span class="pct">${p.phase ? `${p.phase} ` : ""}${pct.toFixed(0)}%</span>
    <button class="small danger" onClick=${onAbort}>Abort</button>
  </div>`;
}

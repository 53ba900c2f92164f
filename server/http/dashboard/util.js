// util.js: small helpers shared by the views: building DOM nodes, formatting numbers and times,
// the colours of trial states.

// h('div', {class: 'x', onclick: f}, child, ...): an element; children are nodes, strings,
// numbers, arrays of those, or null/undefined/false (skipped).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// Replaces the children of el.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function fmtNum(v) {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(4).replace(/\.?0+e/, 'e');
  return String(+v.toPrecision(6));
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// Local time "YYYY-MM-DD HH:MM:SS" (also what Plotly's date axes read as local time).
export function fmtTime(ms, withMs = false) {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
            `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? s + '.' + pad(d.getMilliseconds(), 3) : s;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '';
  if (ms < 1000) return Math.round(ms) + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.round((s % 3600) / 60) + ' min';
}

export const STATES = ['complete', 'pruned', 'fail', 'running', 'paused', 'waiting'];
export const STATE_COLORS = {
  complete: '#1f77b4', pruned: '#d62728', fail: '#7f7f7f',
  running: '#2ca02c', paused: '#ff7f0e', waiting: '#bcbd22',
};

export const stateBadge = (s) => h('span', {class: 'state ' + s}, s);

export const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, {once: true});
});

// Calls fn at most once every `ms` (the last call wins; the first runs at once).
export function throttle(fn, ms) {
  let last = 0, timer = null;
  return () => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => { timer = null; last = Date.now(); fn(); }, wait);
  };
}

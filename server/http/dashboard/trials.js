// trials.js: the trials table of a study: one row per trial, its values (in a constrained study
// its constraints and whether it is feasible) and params as columns;
// sorted by any column (click its head), filtered by state and per column (a range such as
// "0.1..0.5", ">3", "<=1e-3", "=adam", or text to look for), paginated. It works on the
// trials data.js keeps (100,000 are fine: filtering and sorting run in memory and only the
// page's rows are drawn) and follows the study live.
import {enc} from './api.js';
import {feasible, studyData, paramNames, value} from './data.js';
import {h, fill, fmtNum, fmtTime, fmtDuration, stateBadge, STATES} from './util.js';

const PAGE = 50;

// The columns for the study as it is now: {key, label, get(t), num}.
function columns(data) {
  const cols = [
    {key: 'number', label: '#', get: (t) => t.number, num: true},
    {key: 'state', label: 'state', get: (t) => t.state},
  ];
  data.directions.forEach((d, k) => cols.push({
    key: 'v' + k, label: data.directions.length > 1 ? `value ${k} (${d})` : `value (${d})`,
    get: (t) => value(t, k), num: true}));
  if (data.constrained) cols.push(
    {key: 'constraints', label: 'constraints',
     get: (t) => (t.constraints ? t.constraints.map(fmtNum).join(', ') : null)},
    // complete and pruned trials, judged as the server's best judges them
    {key: 'feasibility', label: 'feasibility',
     get: (t) => (t.state === 'complete' || t.state === 'pruned'
       ? (feasible(data, t) ? 'feasible' : 'infeasible') : null)});
  for (const p of paramNames(data)) {
    const cat = data.dists[p]?.type === 'categorical';
    cols.push({key: 'p:' + p, label: p, get: (t) => t.params[p] ?? null, num: !cat});
  }
  cols.push(
    {key: 'duration', label: 'duration', num: true,
     get: (t) => (t.start && t.end ? t.end - t.start : null), fmt: fmtDuration},
    {key: 'start', label: 'started', num: true, get: (t) => t.start ?? null, fmt: fmtTime},
    {key: 'worker', label: 'worker', get: (t) => t.worker ?? null});
  return cols;
}

// A column filter's text as a test of a cell's value (null when the text is empty).
export function parseFilter(text, num) {
  const s = text.trim();
  if (!s) return null;
  const n = (x) => (x.trim() === '' ? NaN : Number(x));
  let m = s.match(/^(.*)\.\.(.*)$/);
  if (m && num) {
    const lo = n(m[1]), hi = n(m[2]);
    return (v) => typeof v === 'number' && (isNaN(lo) || v >= lo) && (isNaN(hi) || v <= hi);
  }
  m = s.match(/^(<=|>=|<|>|=)(.*)$/);
  if (m) {
    const x = n(m[2]);
    if (m[1] === '=') return (v) => v !== null && (String(v) === m[2].trim() || v === x);
    if (!isNaN(x)) return {'<': (v) => v < x, '<=': (v) => v <= x, '>': (v) => v > x,
                           '>=': (v) => v >= x}[m[1]];
  }
  const low = s.toLowerCase();
  return (v) => v !== null && String(v).toLowerCase().includes(low);
}

export function mount(el, {study}) {
  const data = studyData(study);
  const ui = {sort: 'number', desc: false, page: 0, states: new Set(STATES), filters: {}};
  let cols = [], colsKey = '';

  const stateBoxes = STATES.map((s) => h('label', {},
    h('input', {type: 'checkbox', checked: true, onchange: (e) => {
      e.target.checked ? ui.states.add(s) : ui.states.delete(s);
      ui.page = 0;
      render();
    }}), ' ', stateBadge(s)));
  const info = h('span', {class: 'muted'});
  const pager = h('div', {class: 'pager'});
  const thead = h('thead'), tbody = h('tbody');
  fill(el, h('h2', {}, h('a', {href: `#/studies/${enc(study)}`}, study), ' — trials'),
       h('div', {class: 'toolbar'}, stateBoxes, info),
       pager, h('div', {class: 'tablewrap'}, h('table', {class: 'data', id: 'trials'}, thead, tbody)));

  function renderHead() {
    const arrow = (c) => (ui.sort === c.key ? (ui.desc ? ' ▼' : ' ▲') : '');
    fill(thead,
      h('tr', {}, cols.map((c) => h('th', {class: 'sortable', onclick: () => {
        ui.desc = ui.sort === c.key ? !ui.desc : false;
        ui.sort = c.key;
        renderHead();
        render();
      }}, c.label + arrow(c)))),
      h('tr', {class: 'filters'}, cols.map((c) => h('th', {},
        c.key === 'state' ? null :
        h('input', {value: ui.filters[c.key] || '', placeholder: c.num ? 'lo..hi' : 'text',
                    oninput: (e) => { ui.filters[c.key] = e.target.value; ui.page = 0; render(); }})))));
  }

  function rows() {
    const tests = cols.map((c) => [c, parseFilter(ui.filters[c.key] || '', c.num)])
      .filter(([, f]) => f);
    let ts = data.trials().filter((t) => ui.states.has(t.state) &&
                                        tests.every(([c, f]) => f(c.get(t))));
    const c = cols.find((x) => x.key === ui.sort) || cols[0];
    const dir = ui.desc ? -1 : 1;
    ts = ts.map((t) => [c.get(t), t]);
    ts.sort((a, b) => {   // empty cells last, whatever the direction
      if (a[0] === null || b[0] === null) return (a[0] === null) - (b[0] === null);
      return dir * (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) || a[1].number - b[1].number;
    });
    return ts.map((x) => x[1]);
  }

  function cell(c, t) {
    const v = c.get(t);
    if (c.key === 'number')
      return h('td', {class: 'num'}, h('a', {href: `#/studies/${enc(study)}/trials/${v}`}, v));
    if (c.key === 'state') return h('td', {}, stateBadge(v));
    if (c.key === 'feasibility') return h('td', {}, v && h('span', {class: 'feas ' + v}, v));
    return h('td', {class: c.num ? 'num' : ''}, c.fmt ? c.fmt(v) : fmtNum(v));
  }

  function render() {
    const key = JSON.stringify([data.directions, data.constrained, paramNames(data)]);
    if (key !== colsKey) { colsKey = key; cols = columns(data); renderHead(); }
    const all = rows();
    const pages = Math.max(1, Math.ceil(all.length / PAGE));
    ui.page = Math.min(ui.page, pages - 1);
    const page = all.slice(ui.page * PAGE, (ui.page + 1) * PAGE);
    fill(tbody, page.map((t) => h('tr', {}, cols.map((c) => cell(c, t)))));
    info.textContent = `${all.length} of ${data.trials().length} trials` +
                       (data.error ? ` — live: ${data.error.message}` : '');
    const go = (p) => () => { ui.page = p; render(); };
    fill(pager,
      h('button', {disabled: ui.page === 0, onclick: go(0)}, '«'),
      h('button', {disabled: ui.page === 0, onclick: go(ui.page - 1)}, '‹ prev'),
      h('span', {}, `page ${ui.page + 1} of ${pages}`),
      h('button', {disabled: ui.page >= pages - 1, onclick: go(ui.page + 1)}, 'next ›'),
      h('button', {disabled: ui.page >= pages - 1, onclick: go(pages - 1)}, '»'));
  }

  // live: redraw at most every second (a filter over 100,000 trials takes a moment)
  let timer = null, last = 0;
  const stop = data.listen(() => {
    if (timer) return;
    timer = setTimeout(() => { timer = null; last = Date.now(); render(); },
                       Math.max(0, last + 1000 - Date.now()));
  });
  if (data.loaded) render();
  return () => { stop(); clearTimeout(timer); };
}

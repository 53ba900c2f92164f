// study.js: the study page: its settings and counts, and every plot of its trials (plots.js),
// redrawn with Plotly.react whenever the live poll of data.js brings a change (only the plots on
// screen; the others when scrolled to). Importances and ASHA rungs come from the server
// (GET .../importance, .../asha), asked again at most every 5 seconds while trials change.
import {enc, getJSON} from './api.js';
import {feasible, studyData, paramNames, value} from './data.js';
import * as P from './plots.js';
import {h, fill, fmtNum, fmtTime, stateBadge, STATES} from './util.js';

const CONFIG = {displaylogo: false, responsive: true};
const SERVER_EVERY_MS = 5000;

export function mount(el, {study}) {
  const data = studyData(study);
  const ui = {k: 0, log: false, px: '', py: '', evaluator: 'fanova'};
  const plots = {};   // plot id -> its div
  let info = null;    // GET /api/v1/studies/{study}
  let dead = false;
  const timers = new Set();

  const summary = h('div', {class: 'card wide'}, 'Loading…');
  const objective = h('select', {onchange: () => { ui.k = +objective.value; importanceNow(); redrawNow(Object.keys(builders)); }});
  const toolbar = h('div', {class: 'toolbar'},
    h('a', {href: `#/studies/${enc(study)}/trials`}, 'Trials table'),
    h('label', {hidden: true}, 'Objective ', objective));
  const grid = h('div', {class: 'grid'});
  fill(el, h('h2', {}, study), toolbar, grid);
  grid.append(summary);

  // Only the plots on screen (or near it) are drawn; the others are drawn once scrolled to.
  const visible = new Set(), dirty = new Set();
  const watch = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const id = e.target.dataset.id;
      if (!e.isIntersecting) visible.delete(id);
      else if (!visible.has(id)) { visible.add(id); if (dirty.has(id)) redraw([]); }
    }
  }, {rootMargin: '400px 0px'});

  // A card: its title, controls, the plot's div and a note line under it.
  function card(id, title, controls = [], wide = false) {
    const div = h('div', {class: 'plot', id: 'plot-' + id, 'data-id': id});
    const note = h('div', {class: 'muted'});
    plots[id] = div;
    div.note = note;
    dirty.add(id);
    watch.observe(div);
    grid.append(h('section', {class: 'card' + (wide ? ' wide' : ''), 'data-plot': id},
                  h('h3', {}, title, h('span', {class: 'ctl'}, controls)), div, note));
  }

  // Draws what build() makes of the data in card id (an error shows there, and on the console).
  function plot(id, build) {
    const t0 = performance.now();
    let fig;
    try {
      fig = build();
    } catch (e) {
      console.error(`plot ${id}:`, e);
      fig = {message: `Could not draw this plot: ${e.message}`};
    }
    draw(id, fig);
    if (plots[id]) plots[id].dataset.ms = Math.round(performance.now() - t0); // build + draw
  }

  function draw(id, fig) {
    const div = plots[id];
    if (!div || dead) return;
    div.note.textContent = fig.note || '';
    if (fig.message) {
      Plotly.purge(div);
      fill(div, h('div', {class: 'msg'}, fig.message));
      div.dataset.state = 'empty';
      return;
    }
    if (div.dataset.state !== 'drawn') div.replaceChildren();
    Plotly.react(div, fig.traces, fig.layout, CONFIG);
    div.dataset.state = 'drawn';
  }

  const logBox = h('input', {type: 'checkbox', onchange: () => { ui.log = logBox.checked; redrawNow(['history']); }});
  const pxSel = h('select', {onchange: () => { ui.px = pxSel.value; redrawNow(['contour']); }});
  const pySel = h('select', {onchange: () => { ui.py = pySel.value; redrawNow(['contour']); }});
  const evalSel = h('select', {onchange: () => { ui.evaluator = evalSel.value; importanceNow(); }},
    h('option', {value: 'fanova'}, 'fANOVA'), h('option', {value: 'ped_anova'}, 'PED-ANOVA'));

  card('history', 'Optimization history', [h('label', {}, logBox, ' log scale')]);
  card('intermediate', 'Intermediate values');
  card('parallel', 'Parallel coordinate', [], true);
  card('contour', 'Contour', [pxSel, ' × ', pySel]);
  card('importance', 'Parameter importances', [evalSel]);
  card('slice', 'Slice', [], true);
  card('edf', 'Empirical distribution (EDF)');
  card('rank', 'Rank');
  card('timeline', 'Timeline', [], true);

  // the study's settings, once (its counts and best follow the trials)
  getJSON(`/api/v1/studies/${enc(study)}`).then((s) => {
    info = s;
    if (dead) return;
    if (s.pruner && s.pruner.type === 'asha') {
      card('asha', 'ASHA rungs', [], false);
      card('promotions', 'ASHA promotions over time', [], false);
    }
    if ((s.directions || []).length === 2) card('pareto', 'Pareto front', [], false);
    if ((s.directions || []).length >= 2) card('hypervolume', 'Hypervolume history', [], false);
    ashaNow();
    hypervolumeNow();
    redraw([]);
  }).catch((e) => fill(summary, h('span', {class: 'error'}, e.message)));

  function renderSummary() {
    const dirs = data.directions.length ? data.directions : (info?.directions || []);
    const counts = data.loaded ? data.counts : (info?.counts || {});
    const n = data.loaded ? data.trials().length : info?.n_trials;
    const best = dirs.length === 1 ? bestValue(data, dirs[0]) : null;
    const cfg = (o) => (o ? o.type + (o.seed !== undefined && o.seed !== null ? ` (seed ${o.seed})` : '') : '');
    fill(summary, h('dl', {class: 'kv'},
      h('dt', {}, 'direction'), h('dd', {}, dirs.join(', ')),
      h('dt', {}, 'trials'), h('dd', {}, String(n ?? ''),
        // max_trials counts configurations: retries of failed trials are left out
        info?.n_retries ? ` (${n - info.n_retries} configurations)` : '',
        info?.max_trials ? ` of ${info.max_trials}` : '', '  ',
        STATES.filter((s) => counts[s]).map((s) => [stateBadge(s), ` ${counts[s]}  `])),
      best !== null && [h('dt', {}, 'best value'), h('dd', {}, fmtNum(best.v), ' ',
        h('a', {href: `#/studies/${enc(study)}/trials/${best.n}`}, `(trial ${best.n})`))],
      info && [h('dt', {}, 'sampler'), h('dd', {}, cfg(info.sampler)),
               h('dt', {}, 'pruner'), h('dd', {}, cfg(info.pruner)),
               h('dt', {}, 'created'), h('dd', {}, fmtTime(Date.parse(info.datetime_created)))],
      data.error && [h('dt', {}, 'live'), h('dd', {class: 'error'}, data.error.message)]));
  }

  function syncControls() {
    const dirs = data.directions;
    if (objective.options.length !== dirs.length) {
      fill(objective, dirs.map((d, i) => h('option', {value: i}, `${i}: ${d}`)));
      objective.value = String(ui.k);
      objective.parentElement.hidden = dirs.length < 2;
    }
    const names = paramNames(data);
    if (pxSel.options.length !== names.length) {
      ui.px = ui.px || names[0] || '';
      ui.py = ui.py || names[1] || '';
      for (const [sel, v] of [[pxSel, ui.px], [pySel, ui.py]]) {
        fill(sel, names.map((p) => h('option', {value: p}, p)));
        sel.value = v;
      }
    }
  }

  // the plots drawn from the trials here (importances and ASHA rungs come from the server)
  const builders = {
    history: () => P.history(data, ui.k, ui.log),
    intermediate: () => P.intermediate(data, ashaInfo),
    parallel: () => P.parallel(data, ui.k),
    contour: () => P.contour(data, ui.k, ui.px, ui.py),
    slice: () => P.slice(data, ui.k),
    edf: () => P.edf(data, ui.k),
    rank: () => P.rank(data, ui.k),
    timeline: () => P.timeline(data),
    pareto: () => P.pareto(data),
  };

  // Redraws soon (the plots `ids`, all by default). One plot per task, so the first shows
  // before the others are built and the page answers input in between; each plot on its own
  // pace: after a draw that took d ms it waits max(100, d) ms before the next (a busy study
  // takes at most half of the page's time, and a quick plot never waits for a slow one).
  const due = {}; // plot id -> the earliest time (performance.now()) of its next draw
  let timer = null, summaryDirty = true;
  function redraw(ids = Object.keys(builders)) {
    for (const id of ids) dirty.add(id);
    summaryDirty = true;
    clearTimeout(timer);
    timer = setTimeout(drawNext, 0);
  }
  // After the user's own change (a control): at once, whatever the pace.
  function redrawNow(ids) {
    for (const id of ids) due[id] = 0;
    redraw(ids);
  }
  function drawNext() {
    timer = null;
    if (dead || !data.loaded) return;
    if (summaryDirty) {
      summaryDirty = false;
      syncControls();
      renderSummary();
    }
    const now = performance.now();
    let id = null, soonest = Infinity;
    for (const p of Object.keys(builders)) {
      if (!plots[p] || !dirty.has(p) || !visible.has(p)) continue;
      if ((due[p] || 0) <= now) { id = p; break; }
      soonest = Math.min(soonest, due[p]);
    }
    if (id !== null) {
      dirty.delete(id);
      plot(id, builders[id]);
      const end = performance.now();
      due[id] = end + Math.max(100, end - now);
      document.body.dataset.drawMs = Math.round(end - now); // the last plot's, for the browser test
      timer = setTimeout(drawNext, 0);
    } else if (soonest < Infinity) {
      timer = setTimeout(drawNext, soonest - now);
    }
  }

  // Importances, ASHA rungs (and the hypervolume, below) from the server: while trials change, at most every
  // SERVER_EVERY_MS, or ten times as long as the last answer took (fANOVA over 100,000 trials
  // takes seconds); at once when the evaluator or the objective changes.
  let impAsked = null, ashaAsked = null, impTook = 0;
  let ashaInfo = null; // the last answer of GET .../asha (the learning curves mark promotions)
  async function importanceNow() {
    const nComplete = data.trials().filter((t) => t.state === 'complete').length;
    if (data.loaded && nComplete < 2) {
      draw('importance', {message: 'Needs two complete trials.'});
      return;
    }
    impAsked = Date.now();
    const q = `evaluator=${ui.evaluator}&objective=${ui.k}`;
    try {
      const r = await getJSON(`/api/v1/studies/${enc(study)}/importance?${q}`);
      impTook = Date.now() - impAsked;
      if (q === `evaluator=${ui.evaluator}&objective=${ui.k}`) plot('importance', () => P.importance(r));
    } catch (e) {
      draw('importance', {message: 'Importances: ' + e.message});
    }
  }
  async function ashaNow() {
    if (!plots.asha) return;
    ashaAsked = Date.now();
    try {
      const r = await getJSON(`/api/v1/studies/${enc(study)}/asha`);
      ashaInfo = r;
      redraw(['intermediate']);
      plot('asha', () => P.asha(r));
      plot('promotions', () => P.promotions(r));
    } catch (e) {
      draw('asha', {message: 'ASHA: ' + e.message});
      draw('promotions', {message: 'ASHA: ' + e.message});
    }
  }
  function later(fn, asked, took = 0) {
    const t = setTimeout(() => { timers.delete(t); fn(); },
                         Math.max(0, (asked || 0) + Math.max(SERVER_EVERY_MS, 10 * took) - Date.now()));
    timers.add(t);
  }
  // The hypervolume history of several objectives, from the server (its default reference point).
  let hvAsked = null;
  async function hypervolumeNow() {
    if (!plots.hypervolume) return;
    hvAsked = Date.now();
    try {
      const r = await getJSON(`/api/v1/studies/${enc(study)}/hypervolume`);
      plot('hypervolume', () => P.hypervolume(r));
    } catch (e) {
      draw('hypervolume', {message: 'Hypervolume: ' + e.message});
    }
  }
  let impDue = false, ashaDue = false, hvDue = false;
  function serverPlotsDue() {
    if (!impDue) { impDue = true; later(() => { impDue = false; importanceNow(); }, impAsked, impTook); }
    if (plots.asha && !ashaDue) { ashaDue = true; later(() => { ashaDue = false; ashaNow(); }, ashaAsked); }
    if (plots.hypervolume && !hvDue) {
      hvDue = true;
      later(() => { hvDue = false; hypervolumeNow(); }, hvAsked);
    }
  }

  const live = document.getElementById('live');
  const stop = data.listen(() => {
    live.hidden = false;
    live.classList.toggle('stale', !!data.error);
    live.title = data.error ? data.error.message : 'following the study (long poll)';
    if (data.error && !data.loaded) fill(summary, h('span', {class: 'error'}, data.error.message));
    redraw();
    serverPlotsDue();
  });
  if (data.loaded) { redraw(); serverPlotsDue(); }

  return () => {
    dead = true;
    stop();
    live.hidden = true;
    clearTimeout(timer);
    for (const t of timers) clearTimeout(t);
    watch.disconnect();
    for (const div of Object.values(plots)) Plotly.purge(div);
  };
}

// The best complete value and its trial (a feasible one in a constrained study), or null.
function bestValue(data, dir) {
  let best = null;
  for (const t of data.trials()) {
    const v = value(t, 0);
    if (t.state !== 'complete' || !Number.isFinite(v) || !feasible(data, t)) continue;
    if (!best || (dir === 'maximize' ? v > best.v : v < best.v)) best = {v, n: t.number};
  }
  return best;
}

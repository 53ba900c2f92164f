// plots.js: the study page's figures as Plotly traces and layouts, built from the trials of
// data.js (and, for importances and ASHA rungs, from the server's answers). Each builder returns
// {traces, layout, note?}, or {message} when there is nothing to draw yet. Pure: no DOM, no I/O.
import {STATE_COLORS, fmtNum, fmtTime, fmtDuration} from './util.js';
import {CURVES, feasible, value, paramNames} from './data.js';

// Infeasible trials of a constrained study, as Optuna's plot_optimization_history and
// plot_pareto_front draw them: grey.
export const INFEASIBLE_COLOR = '#cccccc';

function layout(extra) {
  return {margin: {l: 60, r: 20, t: 10, b: 50}, height: 340, hovermode: 'closest',
          font: {size: 11}, legend: {orientation: 'h', y: 1.12}, ...extra};
}

const isLog = (d) => !!d && d.type !== 'categorical' && !!d.log;
const isCat = (d) => !!d && d.type === 'categorical';

// min and max of numbers without spreading (fine for 100,000 values)
function extent(vs) {
  let lo = Infinity, hi = -Infinity;
  for (const v of vs) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return [lo, hi];
}

// The complete trials having a finite value k (kept until the trials change: data.js drops
// data._complete with its other caches).
function complete(data, k) {
  const cache = (data._complete ||= new Map());
  if (!cache.has(k))
    cache.set(k, data.trials().filter((t) => t.state === 'complete' && Number.isFinite(value(t, k))));
  return cache.get(k);
}

// Scatter plots draw one SVG node per point: past MAX_POINTS trials, the best fifth of the
// budget and an even spread of the others (in number order), and a note saying so. The best
// are found with a native sort of the values (a comparator sort of 100,000 trials takes
// a tenth of a second): those below the cut, then ties at the cut in number order.
const MAX_POINTS = 2500;
function sample(c, k, dir, cap = MAX_POINTS) {
  if (c.length <= cap) return {ts: c, note: ''};
  const sign = dir === 'maximize' ? -1 : 1;
  const vs = Float64Array.from(c, (t) => sign * value(t, k));
  const nBest = Math.floor(cap / 5);
  const keep = new Uint8Array(c.length);
  if (nBest > 0) {
    const cut = vs.slice().sort()[nBest - 1];
    let kept = 0;
    for (let i = 0; i < c.length; i++) if (vs[i] < cut) { keep[i] = 1; kept++; }
    for (let i = 0; i < c.length && kept < nBest; i++) if (vs[i] === cut) { keep[i] = 1; kept++; }
  }
  const stride = (c.length - nBest) / (cap - nBest);
  for (let x = 0; x < c.length; x += stride) keep[Math.floor(x)] = 1;
  return {ts: c.filter((_, i) => keep[i]),
          note: `${cap.toLocaleString()} of ${c.length.toLocaleString()} trials: the best and an even spread`};
}

export const objectiveName = (data, k) =>
  data.directions.length > 1 ? `objective ${k} (${data.directions[k]})` : 'objective value';

// A param's distribution; for one the server did not describe, a guess from its values.
function dist(data, trials, p) {
  if (data.dists[p]) return data.dists[p];
  const vs = trials.map((t) => t.params[p]).filter((v) => v !== undefined);
  if (vs.some((v) => typeof v !== 'number')) return {type: 'categorical', choices: [...new Set(vs)]};
  return {type: 'float'};
}

// What a plot axis shows of param p: category names, or the number (log axes for log params).
const axisValue = (d, v) => (v === undefined ? null : isCat(d) ? String(v) : v);
function axisFor(d, title) {
  const a = {title: {text: title}};
  if (isCat(d)) Object.assign(a, {type: 'category', categoryorder: 'array',
                                  categoryarray: d.choices.map(String)});
  else if (isLog(d)) a.type = 'log';
  return a;
}

// A blue scale from dark (0) to light (1); darker is better for the objective's direction.
const BLUES = [[0, '#08306b'], [0.25, '#2171b5'], [0.5, '#6baed6'], [0.75, '#a9cce6'], [1, '#d6e6f4']];
// Ranks: blue the best (0) through yellow to red the worst (1).
const RANKS = [[0, '#313695'], [0.25, '#74add1'], [0.5, '#ffffbf'], [0.75, '#f46d43'], [1, '#a50026']];
const valueScale = (dir) => ({colorscale: BLUES, reversescale: dir === 'maximize'});
const blue = (f) => { // the colour at f in [0, 1] of BLUES
  const i = Math.min(BLUES.length - 2, Math.floor(f * (BLUES.length - 1)));
  const [a, b] = [BLUES[i], BLUES[i + 1]];
  const t = (f - a[0]) / (b[0] - a[0]);
  const c = (h, j) => parseInt(h.slice(1 + 2 * j, 3 + 2 * j), 16);
  return `rgb(${[0, 1, 2].map((j) => Math.round(c(a[1], j) + t * (c(b[1], j) - c(a[1], j)))).join(',')})`;
};

export function history(data, k, log) {
  const all = complete(data, k);
  if (!all.length) return {message: 'No complete trial yet.'};
  const dir = data.directions[k];
  const better = dir === 'maximize' ? (a, b) => a > b : (a, b) => a < b;
  // the best so far over the feasible trials (as the server's best; all of them in a study
  // without constraints): a step line through each improvement, to the last trial
  const bx = [], by = [];
  for (const t of all)
    if (feasible(data, t) && (!by.length || better(value(t, k), by[by.length - 1]))) {
      bx.push(t.number); by.push(value(t, k));
    }
  if (by.length) { bx.push(all[all.length - 1].number); by.push(by[by.length - 1]); }
  const {ts: c, note} = sample(all, k, dir);
  const type = 'scatter'; // SVG: no WebGL anywhere (it needs eval, which the CSP forbids)
  const points = (ts, name, color, what = '') => ({
    type, mode: 'markers', name, x: ts.map((t) => t.number), y: ts.map((t) => value(t, k)),
    marker: {color, size: 6}, hovertemplate: `trial %{x}${what}<br>%{y}<extra></extra>`});
  const traces = data.constrained
    ? [points(c.filter((t) => feasible(data, t)), 'feasible', STATE_COLORS.complete),
       points(c.filter((t) => !feasible(data, t)), 'infeasible', INFEASIBLE_COLOR, ' (infeasible)')]
    : [points(c, 'value', STATE_COLORS.complete)];
  if (by.length) traces.push({type, mode: 'lines', name: 'best so far', x: bx, y: by,
                              line: {color: STATE_COLORS.pruned, shape: 'hv'}, hoverinfo: 'skip'});
  return {
    traces,
    layout: layout({xaxis: {title: {text: 'trial'}},
                    yaxis: {title: {text: objectiveName(data, k)}, type: log ? 'log' : 'linear'}}),
    note: [note, log && c.some((t) => value(t, k) <= 0) ? 'values ≤ 0 are left out on a log scale' : '',
           by.length ? '' : 'no feasible trial yet: no best']
      .filter(Boolean).join('; '),
  };
}

// Learning curves, one trace per state (trials apart by gaps); pruned trials marked where
// they were cut, paused (ASHA) ones at their last step, promoted ones at each rung they were
// promoted past (from GET .../asha, when the study has it).
export function intermediate(data, asha = null, cap = CURVES) {
  let ts = data.trials().filter((t) => t.steps && t.steps.length);
  if (!ts.length) return {message: 'No intermediate values reported yet.'};
  const capped = ts.length > cap;
  if (capped) ts = ts.slice(-cap);
  const lines = {}, ends = {pruned: null, paused: null};
  const resource = new Map(((asha && asha.rungs) || []).map((g) => [g.rung, g.resource]));
  const promotedAt = new Map(); // trial number -> the rung steps it was promoted past
  for (const p of (asha && asha.promotions) || [])
    if (resource.has(p.rung))
      promotedAt.set(p.number, [...(promotedAt.get(p.number) || []), resource.get(p.rung)]);
  const promoted = {x: [], y: [], text: []};
  for (const t of ts) {
    const g = (lines[t.state] ||= {x: [], y: [], text: []});
    const label = `trial ${t.number}`;
    for (let i = 0; i < t.steps.length; i++) {
      g.x.push(t.steps[i]); g.y.push(t.ivalues[i]); g.text.push(label);
    }
    g.x.push(null); g.y.push(null); g.text.push('');
    if (t.state in ends) {
      const e = (ends[t.state] ||= {x: [], y: [], text: []});
      const i = t.steps.length - 1;
      e.x.push(t.steps[i]); e.y.push(t.ivalues[i]); e.text.push(label);
    }
    for (const step of promotedAt.get(t.number) || []) {
      const i = t.steps.indexOf(step);
      if (i >= 0) { promoted.x.push(step); promoted.y.push(t.ivalues[i]); promoted.text.push(label); }
    }
  }
  const nPoints = Object.values(lines).reduce((n, g) => n + g.x.length, 0);
  const traces = Object.entries(lines).map(([state, g]) => ({
    type: 'scatter', mode: nPoints > MAX_POINTS ? 'lines' : 'lines+markers', name: state, ...g,
    opacity: 0.7,
    line: {color: STATE_COLORS[state], width: 1}, marker: {size: 3, color: STATE_COLORS[state]},
    hovertemplate: '%{text}<br>step %{x}: %{y}<extra></extra>'}));
  if (ends.pruned) traces.push({type: 'scatter', mode: 'markers', name: 'pruned here', ...ends.pruned,
    marker: {symbol: 'x', size: 9, color: STATE_COLORS.pruned},
    hovertemplate: '%{text} pruned at step %{x}<extra></extra>'});
  if (promoted.x.length) traces.push({type: 'scatter', mode: 'markers', name: 'promoted here (ASHA)',
    ...promoted, marker: {symbol: 'triangle-up', size: 9, color: STATE_COLORS.running},
    hovertemplate: '%{text} promoted past step %{x}<extra></extra>'});
  if (ends.paused) traces.push({type: 'scatter', mode: 'markers', name: 'paused here (ASHA)',
    ...ends.paused, marker: {symbol: 'circle-open', size: 10, line: {width: 2},
                              color: STATE_COLORS.paused},
    hovertemplate: '%{text} paused at step %{x}<extra></extra>'});
  return {traces, layout: layout({xaxis: {title: {text: 'step'}},
                                  yaxis: {title: {text: 'intermediate value'}}}),
          note: capped ? `the last ${cap} trials with reports` : ''};
}

// Parallel coordinates drawn with SVG lines (Plotly's parcoords needs WebGL): one vertical axis
// per param and one for the value, each trial a line across them, darker when better (the
// last 2,000 complete trials having every param shown).
export function parallel(data, k, cap = 2000) {
  let c = complete(data, k);
  if (!c.length) return {message: 'No complete trial yet.'};
  const names = paramNames(data);
  const shown = names.filter((p) => c.every((t) => t.params[p] !== undefined));
  const capped = c.length > cap;
  if (capped) c = c.slice(-cap);
  const dims = [numericAxis(objectiveName(data, k), c.map((t) => value(t, k)), false)];
  for (const p of shown) {
    const d = dist(data, c, p);
    if (isCat(d)) {
      const idx = new Map(d.choices.map((ch, i) => [String(ch), i]));
      dims.push({label: p, vals: c.map((t) => idx.get(String(t.params[p]))),
                 lo: 0, hi: Math.max(1, d.choices.length - 1),
                 ticks: d.choices.map((ch, i) => [i, String(ch)]), show: (i) => String(d.choices[i])});
    } else {
      dims.push(numericAxis(p, c.map((t) => t.params[p]), isLog(d)));
    }
  }
  const y = (dim, v) => (v - dim.lo) / (dim.hi - dim.lo);
  // rank of each trial's value: 0 the best; 8 bins of lines, the best drawn last (on top)
  const sign = data.directions[k] === 'maximize' ? -1 : 1;
  const order = c.map((_, i) => i).sort((i, j) => sign * (value(c[j], k) - value(c[i], k)));
  const BINS = Math.min(8, c.length), traces = [];
  for (let b = 0; b < BINS; b++) {
    const line = {x: [], y: []};
    for (const i of order.slice(Math.floor((b * c.length) / BINS), Math.floor(((b + 1) * c.length) / BINS))) {
      dims.forEach((dim, j) => { line.x.push(j); line.y.push(y(dim, dim.vals[i])); });
      line.x.push(null); line.y.push(null);
    }
    const f = BINS > 1 ? 1 - b / (BINS - 1) : 0;
    traces.push({type: 'scatter', mode: 'lines', ...line, hoverinfo: 'skip', showlegend: false,
                 line: {width: 1.5, color: blue(f)}, opacity: 0.85});
  }
  // the vertices, for hovering (up to 500 trials); and the colour bar of the value
  if (c.length <= 500) traces.push({type: 'scatter', mode: 'markers', showlegend: false,
    x: c.flatMap(() => dims.map((_, j) => j)),
    y: c.flatMap((_, i) => dims.map((dim) => y(dim, dim.vals[i]))),
    text: c.flatMap((t, i) => dims.map((dim) => `trial ${t.number}<br>${dim.label}: ${dim.show(dim.vals[i])}`)),
    marker: {size: 4, color: 'rgba(0,0,0,0.25)'}, hovertemplate: '%{text}<extra></extra>'});
  traces.push({type: 'scatter', mode: 'markers', x: [0, 0], y: [-9, -9], hoverinfo: 'skip',
    showlegend: false, marker: {color: [dims[0].lo, dims[0].hi], ...valueScale(data.directions[k]),
                                showscale: true, colorbar: {title: {text: 'value'}}}});
  const annotations = [], shapes = [];
  dims.forEach((dim, j) => {
    shapes.push({type: 'line', x0: j, x1: j, y0: 0, y1: 1, line: {color: '#555', width: 1}});
    for (const [v, text] of dim.ticks)
      annotations.push({x: j, y: y(dim, v), text, showarrow: false, xanchor: 'right', xshift: -3,
                        font: {size: 10, color: '#444'}});
  });
  return {
    traces,
    layout: layout({xaxis: {tickvals: dims.map((_, j) => j), ticktext: dims.map((d) => d.label),
                            side: 'top', range: [-0.45, dims.length - 0.7], showgrid: false,
                            zeroline: false, fixedrange: true},
                    yaxis: {visible: false, range: [-0.04, 1.04], fixedrange: true},
                    margin: {l: 30, r: 20, t: 50, b: 20}, shapes, annotations}),
    note: [capped ? `the last ${cap} complete trials` : '',
           names.length > shown.length ? `${names.length - shown.length} param(s) some trials lack left out` : '']
      .filter(Boolean).join('; '),
  };
}

// A numeric axis of the parallel coordinates: its values (log10 for a log axis), range, ticks.
function numericAxis(label, raw, log) {
  const vals = log ? raw.map(Math.log10) : raw;
  let [lo, hi] = extent(vals);
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  const ticks = [];
  if (log) {
    for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) ticks.push([e, '1e' + e]);
    if (ticks.length < 2) ticks.push([lo, fmtNum(10 ** lo)], [hi, fmtNum(10 ** hi)]);
  } else {
    for (let i = 0; i <= 4; i++) ticks.push([lo + ((hi - lo) * i) / 4, fmtNum(lo + ((hi - lo) * i) / 4)]);
  }
  return {label: label + (log ? ' (log)' : ''), vals, lo, hi, ticks,
          show: log ? (v) => fmtNum(10 ** v) : fmtNum};
}

// One axis of the contour: the param's values as numbers (category index, log10 for log
// params), a grid over them, and how grid values show on the plot axis.
function contourAxis(d, ts, p, n) {
  if (isCat(d)) {
    const idx = new Map(d.choices.map((ch, i) => [String(ch), i]));
    const grid = d.choices.map((_, i) => i);
    return {vals: ts.map((t) => idx.get(String(t.params[p]))), grid, show: (g) => g,
            axis: {title: {text: p}, tickvals: grid, ticktext: d.choices.map(String),
                   range: [-0.5, grid.length - 0.5]}};
  }
  const log = isLog(d);
  const vals = ts.map((t) => (log ? Math.log10(t.params[p]) : t.params[p]));
  let [lo, hi] = extent(vals);
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  const grid = Array.from({length: n}, (_, i) => lo + ((hi - lo) * i) / (n - 1));
  return {vals, grid, show: log ? (g) => 10 ** g : (g) => g,
          axis: {title: {text: p}, type: log ? 'log' : 'linear'}};
}

// Contour of the objective over two params: inverse-distance weighting of the complete trials
// (the last 2,000) on a grid, with the trials on top.
export function contour(data, k, px, py) {
  if (paramNames(data).length < 2) return {message: 'The contour needs two params.'};
  if (!px || !py || px === py) return {message: 'Pick two different params.'};
  const ts = complete(data, k)
    .filter((t) => t.params[px] !== undefined && t.params[py] !== undefined).slice(-2000);
  if (ts.length < 2) return {message: 'Needs two complete trials having both params.'};
  const ax = contourAxis(dist(data, ts, px), ts, px, 40);
  const ay = contourAxis(dist(data, ts, py), ts, py, 40);
  const zs = ts.map((t) => value(t, k));
  const [xlo, xhi] = extent(ax.grid), [ylo, yhi] = extent(ay.grid);
  const sx = 1 / (xhi - xlo || 1), sy = 1 / (yhi - ylo || 1);
  const z = ay.grid.map((gy) => ax.grid.map((gx) => {
    let num = 0, den = 0;
    for (let i = 0; i < ts.length; i++) {
      const dx = (ax.vals[i] - gx) * sx, dy = (ay.vals[i] - gy) * sy;
      const d2 = dx * dx + dy * dy;
      if (d2 < 1e-12) return zs[i];
      const w = 1 / (d2 * d2);
      num += w * zs[i];
      den += w;
    }
    return num / den;
  }));
  return {
    traces: [
      {type: 'contour', x: ax.grid.map(ax.show), y: ay.grid.map(ay.show), z,
       ...valueScale(data.directions[k]), contours: {coloring: 'heatmap'}, line: {width: 0.5},
       colorbar: {title: {text: 'value'}}, hovertemplate: '%{z}<extra></extra>'},
      {type: 'scatter', mode: 'markers', x: ax.vals.map(ax.show), y: ay.vals.map(ay.show),
       text: ts.map((t) => `trial ${t.number}: ${fmtNum(value(t, k))}`),
       marker: {color: '#222', size: 5, line: {color: '#fff', width: 1}}, showlegend: false,
       hovertemplate: '%{text}<extra></extra>'},
    ],
    layout: layout({xaxis: ax.axis, yaxis: ay.axis, height: 380}),
  };
}

// The objective against each param, one subplot per param, coloured by trial number.
export function slice(data, k) {
  const names = paramNames(data);
  const {ts: c, note} = sample(complete(data, k), k, data.directions[k],
                               Math.ceil(MAX_POINTS / Math.max(1, names.length)));
  if (!c.length || !names.length) return {message: 'No complete trial yet.'};
  const cols = Math.min(3, names.length), rows = Math.ceil(names.length / cols);
  const lay = layout({grid: {rows, columns: cols, pattern: 'independent', xgap: 0.12, ygap: 0.3},
                      height: 280 * rows + 40, showlegend: false});
  const traces = names.map((p, i) => {
    const d = dist(data, c, p);
    const ts = c.filter((t) => t.params[p] !== undefined);
    const n = i === 0 ? '' : String(i + 1);
    lay['xaxis' + n] = axisFor(d, p);
    lay['yaxis' + n] = {title: {text: i % cols === 0 ? objectiveName(data, k) : ''}};
    return {type: 'scatter', mode: 'markers', xaxis: 'x' + n, yaxis: 'y' + n,
            x: ts.map((t) => axisValue(d, t.params[p])), y: ts.map((t) => value(t, k)),
            text: ts.map((t) => `trial ${t.number}`),
            marker: {size: 5, color: ts.map((t) => t.number), colorscale: BLUES, reversescale: true,
                     showscale: i === 0, colorbar: {title: {text: 'trial'}}},
            hovertemplate: `%{text}<br>${p}: %{x}<br>value: %{y}<extra></extra>`};
  });
  return {traces, layout: lay, note};
}

// The answer of GET .../importance as horizontal bars, the most important on top.
export function importance(r) {
  const imp = (r.importances || []).slice().reverse();
  if (!imp.length) return {message: 'No importances (no param every trial has).'};
  return {
    traces: [{type: 'bar', orientation: 'h', x: imp.map((i) => i.importance),
              y: imp.map((i) => i.param), text: imp.map((i) => i.importance.toFixed(3)),
              textposition: 'auto', marker: {color: STATE_COLORS.complete},
              hovertemplate: '%{y}: %{x:.4f}<extra></extra>'}],
    layout: layout({xaxis: {title: {text: `importance (${r.evaluator}, ${r.n_trials} trials)`}},
                    yaxis: {automargin: true}, height: Math.max(240, 40 * imp.length + 80)}),
  };
}

// Empirical distribution function of the complete trials' values.
export function edf(data, k) {
  const vs = Float64Array.from(complete(data, k), (t) => value(t, k)).sort();
  if (!vs.length) return {message: 'No complete trial yet.'};
  const step = Math.max(1, Math.floor(vs.length / 2000)); // 2,000 points draw the same line
  const idx = [];
  for (let i = 0; i < vs.length; i++) if (i % step === 0 || i === vs.length - 1) idx.push(i);
  return {
    traces: [{type: 'scatter', mode: 'lines', x: idx.map((i) => vs[i]), y: idx.map((i) => (i + 1) / vs.length),
              line: {shape: 'hv', color: STATE_COLORS.complete}, name: 'EDF'}],
    layout: layout({xaxis: {title: {text: objectiveName(data, k)}},
                    yaxis: {title: {text: 'cumulative probability'}, range: [0, 1.02]}}),
  };
}

// Like Optuna's plot_rank: the params against each other (one param: against the value),
// each trial coloured by the rank of its value (0 the best, 1 the worst).
export function rank(data, k) {
  const {ts: c, note} = sample(complete(data, k), k, data.directions[k], 1500);
  const names = paramNames(data).filter((p) => c.some((t) => t.params[p] !== undefined));
  if (!c.length || !names.length) return {message: 'No complete trial yet.'};
  const sign = data.directions[k] === 'maximize' ? -1 : 1;
  const order = c.map((_, i) => i).sort((i, j) => sign * (value(c[i], k) - value(c[j], k)));
  const r = new Array(c.length);
  order.forEach((idx, pos) => { r[idx] = c.length > 1 ? pos / (c.length - 1) : 0; });
  const marker = {color: r, cmin: 0, cmax: 1, colorscale: RANKS, size: 6,
                  showscale: true,
                  colorbar: {title: {text: 'rank'}, tickvals: [0, 1], ticktext: ['best', 'worst']}};
  const text = c.map((t) => `trial ${t.number}: ${fmtNum(value(t, k))}`);
  const ds = names.map((p) => dist(data, c, p));
  if (names.length <= 2) {
    const [p, q] = names;
    return {
      traces: [{type: 'scatter', mode: 'markers', marker, text,
                x: c.map((t) => axisValue(ds[0], t.params[p])),
                y: q ? c.map((t) => axisValue(ds[1], t.params[q])) : c.map((t) => value(t, k)),
                hovertemplate: '%{text}<extra></extra>'}],
      layout: layout({xaxis: axisFor(ds[0], p),
                      yaxis: q ? axisFor(ds[1], q) : {title: {text: objectiveName(data, k)}}}),
      note,
    };
  }
  // more params: each pair in a lower-triangular grid of scatter plots (SVG, not splom's WebGL)
  const m = Math.min(names.length, 5) - 1;
  const lay = layout({height: 190 * m + 80, showlegend: false,
                      grid: {rows: m, columns: m, xgap: 0.06, ygap: 0.08, subplots: []}});
  const traces = [];
  for (let i = 0; i < m; i++) {
    const row = [];
    for (let col = 0; col < m; col++) {
      if (col > i) { row.push(''); continue; }
      const n = traces.length === 0 ? '' : String(traces.length + 1);
      const [px, py] = [names[col], names[i + 1]];
      const [dx, dy] = [ds[col], ds[i + 1]];
      row.push(`x${n}y${n}`);
      lay['xaxis' + n] = axisFor(dx, i === m - 1 ? px : '');
      lay['yaxis' + n] = axisFor(dy, col === 0 ? py : '');
      traces.push({type: 'scatter', mode: 'markers', xaxis: 'x' + n, yaxis: 'y' + n, text,
                   marker: {...marker, size: 5, showscale: traces.length === 0},
                   x: c.map((t) => axisValue(dx, t.params[px])),
                   y: c.map((t) => axisValue(dy, t.params[py])),
                   hovertemplate: `%{text}<br>${px}: %{x}<br>${py}: %{y}<extra></extra>`});
    }
    lay.grid.subplots.push(row);
  }
  return {traces, layout: lay,
          note: [note, names.length > 5 ? 'the first 5 params' : ''].filter(Boolean).join('; ')};
}

// Each trial a bar from its start to its finish (now while not finished) on its worker's row.
export function timeline(data, cap = 2000) {
  let ts = data.trials().filter((t) => t.start !== null && t.start !== undefined);
  if (!ts.length) return {message: 'No trial has started yet.'};
  const capped = ts.length > cap;
  if (capped) ts = ts.slice(-cap);
  const now = Date.now(), bars = {}, workers = new Set();
  for (const t of ts) {
    const b = (bars[t.state] ||= {y: [], x: [], base: [], customdata: []});
    const w = t.worker || '(no worker)';
    const ms = Math.max(1, (t.end ?? now) - t.start);
    workers.add(w);
    b.y.push(w); b.x.push(ms); b.base.push(fmtTime(t.start, true));
    b.customdata.push(`trial ${t.number} (${t.state})<br>${fmtTime(t.start)} + ${fmtDuration(ms)}`);
  }
  // paused and waiting trials (not finished, not running) faint and under the others
  const faint = (s) => s === 'paused' || s === 'waiting';
  const traces = Object.entries(bars).sort(([a], [b]) => faint(b) - faint(a)).map(([state, b]) => ({
    type: 'bar', orientation: 'h', name: state, ...b, opacity: faint(state) ? 0.35 : 1,
    marker: {color: STATE_COLORS[state]}, hovertemplate: '%{customdata}<extra></extra>'}));
  return {
    traces,
    layout: layout({barmode: 'overlay', xaxis: {type: 'date', title: {text: 'time'}},
                    yaxis: {type: 'category', automargin: true, title: {text: 'worker'}},
                    height: Math.max(260, 28 * workers.size + 120)}),
    note: capped ? `the last ${cap} trials` : '',
  };
}

// The answer of GET .../asha: per rung, the trials that reached it, wait there, went on.
export function asha(r) {
  const rungs = r.rungs || [];
  if (!rungs.length) return {message: 'No trial has reached a rung yet.'};
  const x = rungs.map((g) => `rung ${g.rung} (step ${g.resource})`);
  const traces = [['reached', STATE_COLORS.complete], ['paused', STATE_COLORS.paused],
                  ['promoted', STATE_COLORS.running]].map(([key, color]) => ({
    type: 'bar', name: key, x, y: rungs.map((g) => g[key]), marker: {color},
    text: rungs.map((g) => String(g[key])), textposition: 'auto'}));
  return {traces, layout: layout({barmode: 'group', yaxis: {title: {text: 'trials'}}}),
          note: `${(r.promotions || []).length} promotions`};
}

// The promotions of GET .../asha over time: per rung, how many trials were promoted past it by
// then (a step line); those made before the server recorded times are only counted in a note.
export function promotions(r) {
  const all = r.promotions || [];
  const timed = all.filter((p) => Number.isFinite(p.promoted_ms))
    .sort((a, b) => a.promoted_ms - b.promoted_ms);
  if (!timed.length) return {message: all.length ? `${all.length} promotions, made before their times were recorded.`
                                                   : 'No promotion yet.'};
  const byRung = new Map();
  for (const p of timed) {
    const g = byRung.get(p.rung) || {x: [], y: [], text: []};
    g.x.push(new Date(p.promoted_ms));
    g.y.push(g.y.length + 1);
    g.text.push(`trial ${p.number}`);
    byRung.set(p.rung, g);
  }
  const res = new Map((r.rungs || []).map((g) => [g.rung, g.resource]));
  const traces = [...byRung.entries()].sort(([a], [b]) => a - b).map(([rung, g]) => ({
    type: 'scatter', mode: 'lines+markers', line: {shape: 'hv'}, marker: {size: 5},
    name: `from rung ${rung}` + (res.has(rung) ? ` (step ${res.get(rung)})` : ''), ...g,
    hovertemplate: '%{text} promoted %{x}<br>%{y} from this rung by then<extra></extra>'}));
  const untimed = all.length - timed.length;
  return {traces, layout: layout({xaxis: {type: 'date', title: {text: 'time'}},
                                  yaxis: {title: {text: 'promotions (cumulative)'}, rangemode: 'tozero'}}),
          note: untimed ? `${untimed} earlier promotions without a recorded time are not shown` : ''};
}

// Several objectives: the hypervolume of the front after each complete trial (GET hypervolume),
// as Optuna's plot_hypervolume_history.
export function hypervolume(r) {
  if (!(r.number || []).length) return {message: 'No complete trial yet.'};
  const traces = [{type: 'scatter', mode: 'lines+markers', line: {shape: 'hv'}, marker: {size: 5},
    name: 'hypervolume', x: r.number, y: r.history,
    hovertemplate: 'trial %{x}<br>hypervolume %{y}<extra></extra>'}];
  return {traces, layout: layout({xaxis: {title: {text: 'trial'}}, yaxis: {title: {text: 'hypervolume'}}}),
          note: `reference point (${r.reference_point.map(fmtNum).join(', ')})`};
}

// Two objectives: every complete trial, the Pareto front (non-dominated) in red; in a
// constrained study the front of the feasible trials, the infeasible ones in grey (as Optuna's
// plot_pareto_front with a constraints_func).
export function pareto(data) {
  const dirs = data.directions;
  const c = data.trials().filter((t) => t.state === 'complete' && t.values &&
    Number.isFinite(t.values[0]) && Number.isFinite(t.values[1]));
  if (!c.length) return {message: 'No complete trial yet.'};
  const s0 = dirs[0] === 'maximize' ? -1 : 1, s1 = dirs[1] === 'maximize' ? -1 : 1;
  const sorted = c.filter((t) => feasible(data, t)).sort((a, b) =>
    s0 * (a.values[0] - b.values[0]) || s1 * (a.values[1] - b.values[1]));
  const front = new Set();
  let best = Infinity;
  for (const t of sorted) if (s1 * t.values[1] < best) { best = s1 * t.values[1]; front.add(t); }
  const pts = (ts, name, color, what = '') => ({
    type: 'scatter', mode: 'markers', name, x: ts.map((t) => t.values[0]),
    y: ts.map((t) => t.values[1]), text: ts.map((t) => `trial ${t.number}${what}`),
    marker: {color, size: 7}, hovertemplate: '%{text}<br>%{x}, %{y}<extra></extra>'});
  const thin = (ts) => (ts.length > MAX_POINTS ? ts.filter((_, i) => i % Math.ceil(ts.length / MAX_POINTS) === 0) : ts);
  const rest = sorted.filter((t) => !front.has(t)), shown = thin(rest);
  const infeasible = data.constrained ? c.filter((t) => !feasible(data, t)) : [];
  const shownOut = thin(infeasible);
  return {
    note: [shown.length < rest.length ? `the front and ${shown.length} of the other ${rest.length} trials` : '',
           shownOut.length < infeasible.length ? `${shownOut.length} of ${infeasible.length} infeasible trials` : '',
           data.constrained && !sorted.length ? 'no feasible trial yet: no front' : '']
      .filter(Boolean).join('; '),
    traces: [...(data.constrained ? [pts(shownOut, 'infeasible', INFEASIBLE_COLOR, ' (infeasible)')] : []),
             pts(shown, 'trials', '#9ab3d5'),
             pts(sorted.filter((t) => front.has(t)), 'Pareto front', STATE_COLORS.pruned)],
    layout: layout({xaxis: {title: {text: objectiveName(data, 0)}},
                    yaxis: {title: {text: objectiveName(data, 1)}}}),
  };
}

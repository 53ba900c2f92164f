// trial.js: one trial: its params with their distributions, values, constraints (and whether
// they are met), learning curve, worker, times and fail reason, its artifacts (downloaded with
// the token: fetch + blob) and the last lines of its log (the first artifact whose name ends in
// .log, else .txt). Asked again every 5 seconds while the trial is not finished.
import {download, enc, getJSON, request} from './api.js';
import {h, fill, fmtNum, fmtTime, fmtDuration, stateBadge, STATE_COLORS} from './util.js';

const TAIL_LINES = 200;
const TAIL_MAX_BYTES = 64 << 20; // a log larger than this is only offered for download

const distText = (d) => {
  if (!d) return '';
  if (d.type === 'categorical') return `categorical {${d.choices.map(String).join(', ')}}`;
  return `${d.type} [${fmtNum(d.low)}, ${fmtNum(d.high)}]` + (d.log ? ' log' : '') +
         (d.step !== undefined && d.step !== null && !(d.type === 'int' && d.step === 1) ? ` step ${d.step}` : '');
};

export function mount(el, {study, number}) {
  const base = `/api/v1/studies/${enc(study)}/trials/${number}`;
  let dead = false, timer = null, logShown = null;
  const curve = h('div', {class: 'plot', id: 'plot-curve'});
  const head = h('div', {class: 'card wide'}, 'Loading…');
  const params = h('div', {class: 'card'});
  const arts = h('div', {class: 'card'});
  const log = h('div', {class: 'card wide', hidden: true});
  fill(el, h('h2', {}, h('a', {href: `#/studies/${enc(study)}`}, study), ` — trial ${number}`),
       h('div', {class: 'grid'}, head, params,
         h('section', {class: 'card'}, h('h3', {}, 'Intermediate values'), curve), arts, log));

  async function load() {
    timer = null;
    try {
      const [t, a] = await Promise.all([getJSON(base), getJSON(base + '/artifacts')]);
      if (dead) return;
      show(t, a.artifacts || []);
      if (!['complete', 'pruned', 'fail'].includes(t.state)) timer = setTimeout(load, 5000);
    } catch (e) {
      if (!dead) fill(head, h('span', {class: 'error'}, e.message));
    }
  }

  function chainLink(label, n) {
    if (n === null || n === undefined) return null;
    return [h('dt', {}, label),
      h('dd', {}, h('a', {href: `#/studies/${enc(study)}/trials/${n}`, class: 'chain'}, `#${n}`))];
  }

  function show(t, artifacts) {
    const ms = (s) => (s ? Date.parse(s) : null);
    const [c, s, f] = [ms(t.datetime_created), ms(t.datetime_start), ms(t.datetime_complete)];
    const values = t.values ? t.values.map(fmtNum).join(', ') : '';
    const feas = t.constraints && t.constraints.every((x) => x <= 0) ? 'feasible' : 'infeasible';
    fill(head, h('dl', {class: 'kv'},
      h('dt', {}, 'state'), h('dd', {}, stateBadge(t.state)),
      h('dt', {}, t.values && t.values.length > 1 ? 'values' : 'value'), h('dd', {id: 'trial-value'}, values),
      t.constraints && [h('dt', {}, 'constraints'), h('dd', {id: 'trial-constraints'},
        t.constraints.map(fmtNum).join(', '), ' ',
        h('span', {class: 'feas ' + feas}, feas))],
      h('dt', {}, 'worker'), h('dd', {}, t.worker || ''),
      h('dt', {}, 'created'), h('dd', {}, fmtTime(c)),
      h('dt', {}, 'started'), h('dd', {}, fmtTime(s)),
      h('dt', {}, 'finished'), h('dd', {}, fmtTime(f)),
      h('dt', {}, 'duration'), h('dd', {}, s && f ? fmtDuration(f - s) : ''),
      t.fail_reason && [h('dt', {}, 'fail reason'), h('dd', {class: 'error'}, t.fail_reason)],
      t.preempted && [h('dt', {}, 'preempted'), h('dd', {class: 'error'}, 'worker stopped before the end')],
      // the retry chain (the study's retry policy): links to the trial it runs again and its retry
      chainLink('retry of', t.retry_of), chainLink('retried by', t.retried_by)));
    fill(params, h('h3', {}, 'Params'), h('table', {class: 'data'},
      h('tr', {}, h('th', {}, 'param'), h('th', {}, 'value'), h('th', {}, 'distribution')),
      Object.entries(t.params || {}).map(([p, v]) => h('tr', {},
        h('td', {}, p), h('td', {class: 'num'}, fmtNum(v)), h('td', {}, distText(t.distributions?.[p]))))));

    const iv = t.intermediate_values || [];
    if (iv.length) {
      if (curve.dataset.state !== 'drawn') curve.replaceChildren();
      Plotly.react(curve, [{type: 'scatter', mode: 'lines+markers', x: iv.map((r) => r.step),
        y: iv.map((r) => r.value), line: {color: STATE_COLORS[t.state] || STATE_COLORS.complete}}],
        {margin: {l: 60, r: 20, t: 10, b: 50}, height: 300, xaxis: {title: {text: 'step'}},
         yaxis: {title: {text: 'intermediate value'}}}, {displaylogo: false, responsive: true});
      curve.dataset.state = 'drawn';
    } else {
      fill(curve, h('div', {class: 'msg'}, 'No intermediate values.'));
      curve.dataset.state = 'empty';
    }

    fill(arts, h('h3', {}, 'Artifacts'), artifacts.length ? h('table', {class: 'data', id: 'artifacts'},
      h('tr', {}, h('th', {}, 'name'), h('th', {}, 'size'), h('th', {}, 'stored')),
      artifacts.map((a) => h('tr', {},
        h('td', {}, h('a', {href: '#', class: 'download', onclick: (e) => {
          e.preventDefault();
          download(`${base}/artifacts/${enc(a.name)}`, a.name)
            .catch((err) => alert(`Download of ${a.name} failed: ${err.message}`));
        }}, a.name)),
        h('td', {class: 'num'}, a.size.toLocaleString() + ' B'),
        h('td', {}, fmtTime(Date.parse(a.datetime_created)))))) : h('p', {class: 'muted'}, 'None.'));

    const logArt = artifacts.find((a) => a.name.endsWith('.log')) ||
                   artifacts.find((a) => a.name.endsWith('.txt'));
    if (logArt) tail(logArt);
  }

  // The last TAIL_LINES lines of a log artifact (asked again only when it changed).
  async function tail(a) {
    if (logShown === a.sha256) return;
    logShown = a.sha256;
    log.hidden = false;
    if (a.size > TAIL_MAX_BYTES) {
      fill(log, h('h3', {}, a.name), h('p', {class: 'muted'}, 'Too large to show here: download it.'));
      return;
    }
    try {
      const text = await (await request(`${base}/artifacts/${enc(a.name)}`)).text();
      const lines = text.replace(/\n$/, '').split('\n');
      fill(log, h('h3', {}, `${a.name}: the last ${Math.min(TAIL_LINES, lines.length)} of ${lines.length} lines`),
           h('pre', {class: 'log', id: 'log-tail'}, lines.slice(-TAIL_LINES).join('\n')));
      const pre = log.querySelector('pre');
      pre.scrollTop = pre.scrollHeight;
    } catch (e) {
      fill(log, h('h3', {}, a.name), h('p', {class: 'error'}, e.message));
    }
  }

  load();
  return () => { dead = true; clearTimeout(timer); Plotly.purge(curve); };
}

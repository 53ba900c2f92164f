// studies.js: the list of studies (GET /api/v1/studies every 5 seconds): directions, trials per
// state, best value, progress against max_trials, running trials, creation time; a search box
// filters by name.
import {enc, getJSON} from './api.js';
import {h, fill, fmtNum, fmtTime, stateBadge, STATES} from './util.js';

const REFRESH_MS = 5000;
const SHOWN = 500;
const maxTrials = new Map(); // study -> max_trials (fixed at creation), when the list lacks it

export function mount(el) {
  let dead = false, timer = null, studies = [];
  const search = h('input', {type: 'search', placeholder: 'filter by name', id: 'study-search',
                             value: sessionStorage.getItem('hpo.search') || '',
                             oninput: () => { sessionStorage.setItem('hpo.search', search.value); render(); }});
  const status = h('span', {class: 'muted'});
  const tbody = h('tbody');
  fill(el, h('h2', {}, 'Studies'), h('div', {class: 'toolbar'}, search, status),
       h('div', {class: 'tablewrap'}, h('table', {class: 'data', id: 'studies'},
         h('thead', {}, h('tr', {}, ['name', 'direction', 'trials', 'progress', 'running',
                                     'best value', 'created'].map((c) => h('th', {}, c)))),
         tbody)));

  function progress(s) {
    const max = s.max_trials ?? maxTrials.get(s.name);
    if (!max) return s.max_trials === null || maxTrials.get(s.name) === null ? 'no limit' : '';
    const done = s.n_trials - (s.n_retries || 0); // max_trials counts configurations, not retries
    const pct = Math.min(100, (100 * done) / max);
    return [h('span', {class: 'bar'}, h('span', {style: `width:${pct}%`})), `${done} / ${max}`];
  }

  function render() {
    const q = search.value.trim().toLowerCase();
    const shown = studies.filter((s) => s.name.toLowerCase().includes(q));
    fill(tbody, shown.slice(0, SHOWN).map((s) => h('tr', {},
      h('td', {}, h('a', {href: `#/studies/${enc(s.name)}`}, s.name)),
      h('td', {}, s.directions.join(', ')),
      h('td', {}, STATES.filter((st) => s.counts[st]).map((st) => [stateBadge(st), ` ${s.counts[st]} `])),
      h('td', {}, progress(s)),
      h('td', {class: 'num'}, s.counts.running || 0),
      h('td', {class: 'num'}, fmtNum(s.best_value)),
      h('td', {}, fmtTime(Date.parse(s.datetime_created))))));
    status.textContent = `${shown.length} of ${studies.length} studies` +
                         (shown.length > SHOWN ? ` (the first ${SHOWN} shown)` : '');
    // max_trials, when the list does not give it: each shown study's once
    for (const s of shown.slice(0, SHOWN))
      if (s.max_trials === undefined && !maxTrials.has(s.name)) {
        maxTrials.set(s.name, undefined);
        getJSON(`/api/v1/studies/${enc(s.name)}`)
          .then((d) => { maxTrials.set(s.name, d.max_trials ?? null); if (!dead) render(); })
          .catch(() => maxTrials.delete(s.name));
      }
  }

  async function refresh() {
    try {
      studies = (await getJSON('/api/v1/studies')).studies || [];
      if (dead) return;
      render();
    } catch (e) {
      if (!dead) status.replaceChildren(h('span', {class: 'error'}, e.message));
    }
    if (!dead) timer = setTimeout(refresh, REFRESH_MS);
  }
  refresh();
  return () => { dead = true; clearTimeout(timer); };
}

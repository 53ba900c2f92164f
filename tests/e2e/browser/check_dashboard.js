// tests/e2e/browser/check_dashboard.js: drives the dashboard in headless Chromium (puppeteer-core)
// against a server that run_browser_test.py started and filled. Checks: the static files'
// headers; the token box; the studies list and its search; every plot of each study drew
// (Plotly's .js-plotly-plot with non-empty traces); a trial added through the API shows on the
// running study's page within 2 s; the trials table (sort, filters, pages); a trial page (its
// curve, artifacts, a download through fetch + blob, the log's tail); the retry chain on trial
// pages ("retry of" / "retried by" links, followed to the right trial); a constrained study
// (infeasible trials grey in the history and the Pareto front, the best line and the front over
// feasible trials only, constraints and feasibility in its table and on a trial page); a bad
// token brings the token box back. Throughout: no console error, no request to another origin, the token only on
// /api/v1 requests. Saves a screenshot of each view under HPO_SHOTS and prints the paths.
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const env = process.env;
const URL0 = env.HPO_URL;
const ORIGIN = new URL(URL0).origin;
const STUDIES = JSON.parse(env.HPO_STUDIES);
const SHOTS = env.HPO_SHOTS;
const T = 30000; // generous waits: a 2-core CI machine, a 4.8 MB script to parse

const START = Date.now();
let passed = 0, failed = 0;
function check(ok, what, detail = '') {
  if (ok) passed++;
  else failed++;
  const at = ((Date.now() - START) / 1000).toFixed(1);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ': ' + detail : ''} [${at} s]`);
  return ok;
}

async function api(method, p, body, tok = env.HPO_ADMIN_TOKEN) {
  const r = await fetch(URL0 + '/api/v1' + p, {
    method, headers: {Authorization: 'Bearer ' + tok, 'Content-Type': 'application/json'},
    body: body ? JSON.stringify(body) : undefined});
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function staticFiles() {
  let r = await fetch(URL0 + '/');
  const etag = r.headers.get('etag');
  const csp = r.headers.get('content-security-policy') || '';
  const html = await r.text();
  check(r.status === 200 && r.headers.get('content-type').startsWith('text/html'), 'GET / is the page');
  check(csp.includes("default-src 'self'") && csp.includes("connect-src 'self'"), 'GET / has a CSP', csp);
  check(r.headers.get('cache-control') === 'no-cache' && !!etag, 'GET / no-cache + ETag');
  r = await fetch(URL0 + '/', {headers: {'If-None-Match': etag}});
  check(r.status === 304, 'GET / with If-None-Match: 304', String(r.status));
  const plotly = html.match(/\/ui\/plotly-[^"]+\.min\.js/)[0];
  r = await fetch(URL0 + plotly);
  check(r.status === 200 && /immutable/.test(r.headers.get('cache-control')) &&
        r.headers.get('content-type').startsWith('text/javascript'), `GET ${plotly} cached for good`);
  await r.arrayBuffer();
  r = await fetch(URL0 + '/ui/app.js');
  check(r.status === 200 && r.headers.get('cache-control') === 'no-cache', 'GET /ui/app.js no-cache');
  await r.arrayBuffer();
  r = await fetch(URL0 + '/ui/nope.js');
  const body = await r.json().catch(() => null);
  check(r.status === 404 && body?.error?.code === 'not_found', 'GET /ui/nope.js: 404 not_found');
  r = await fetch(URL0 + '/api/v1/studies');
  check(r.status === 401, 'the API still needs a token', String(r.status));
  await r.arrayBuffer();
}

// The state of the plots of the page: per id, whether Plotly drew it and how many points.
const plotState = (page, ids) => page.evaluate((ids) => ids.map((id) => {
  const d = document.getElementById('plot-' + id);
  const traces = d?.data || [];
  const points = traces.reduce((n, t) => n + Math.max(t.x?.length || 0, t.y?.length || 0,
    t.z?.length || 0, t.dimensions?.[0]?.values?.length || 0), 0);
  return {id, state: d?.dataset.state, plotly: !!d?.classList.contains('js-plotly-plot'),
          traces: traces.length, points, svg: d ? d.querySelectorAll('svg').length : 0,
          msg: d?.querySelector('.msg')?.textContent || '', webgl: /WebGL/.test(d?.textContent || '')};
}), ids);

// Scrolls to each plot in turn (the page draws only those on screen) and waits for it.
async function waitPlots(page, ids) {
  for (const id of ids) {
    await page.waitForSelector('#plot-' + id, {timeout: T}).catch(() => {});
    await page.$eval('#plot-' + id, (d) => d.scrollIntoView()).catch(() => {});
    await page.waitForFunction((id) => document.getElementById('plot-' + id)?.dataset.state === 'drawn',
                               {timeout: T}, id).catch(() => {});
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  for (const s of await plotState(page, ids))
    check(s.state === 'drawn' && s.plotly && s.traces > 0 && s.points > 0 && s.svg > 0 && !s.webgl,
          `plot ${s.id} drew`, JSON.stringify(s));
}

// A full-page screenshot, each plot scrolled to first (the page draws plots as they show).
async function shot(page, name) {
  for (const id of await page.$$eval('.plot', (ds) => ds.map((d) => d.id))) {
    await page.$eval('#' + id, (d) => d.scrollIntoView());
    await new Promise((r) => setTimeout(r, 150));
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await new Promise((r) => setTimeout(r, 300));
  const file = path.join(SHOTS, name + '.png');
  await page.screenshot({path: file, fullPage: true});
  console.log('screenshot: ' + file);
}

// The constrained two-objective study: its plots mark infeasible trials grey and count only
// feasible ones for the best line and the front (as GET best); its table and a trial page show
// each trial's constraints and feasibility.
async function constrained(page) {
  const name = STUDIES.constrained;
  const trials = (await api('GET', `/studies/${name}/trials?limit=1000`)).trials;
  const out = trials.filter((t) => t.constraints.some((c) => c > 0)).map((t) => t.number);
  const ok = trials.filter((t) => !out.includes(t.number));
  const okBest = Math.min(...ok.map((t) => t.values[0]));
  const sorted = (xs) => JSON.stringify([...xs].sort((a, b) => a - b));
  await page.goto(`${URL0}/#/studies/${name}`);
  await waitPlots(page, ['history', 'pareto', 'hypervolume']);
  const hist = await page.$eval('#plot-history', (d) => d.data.map((t) =>
    ({name: t.name, x: [...t.x], y: [...t.y], color: t.marker?.color})));
  const grey = hist.find((t) => t.name === 'infeasible');
  check(out.length > 0 && ok.length > 0 && grey?.color === '#cccccc' && sorted(grey.x) === sorted(out),
        'history: the infeasible trials in grey', `${JSON.stringify(grey)} vs ${out}`);
  const line = hist.find((t) => t.name === 'best so far');
  check(!!line && Math.min(...line.y) === okBest && Math.min(...grey.y) < okBest,
        'history: the best line over the feasible trials only', `${line?.y} vs ${okBest}`);
  const par = await page.$eval('#plot-pareto', (d) => d.data.map((t) =>
    ({name: t.name, n: t.x.length, color: t.marker?.color, text: [...t.text]})));
  const pg = par.find((t) => t.name === 'infeasible');
  check(pg?.color === '#cccccc' && pg.n === out.length, 'Pareto front plot: the infeasible trials in grey',
        JSON.stringify(pg));
  const front = (par.find((t) => t.name === 'Pareto front')?.text || []).map((s) => +s.replace('trial ', ''));
  const best = (await api('GET', `/studies/${name}/best`)).trials.map((t) => t.number);
  check(front.length > 0 && sorted(front) === sorted(best), 'the front drawn is GET best\'s (feasible only)',
        `${front} vs ${best}`);
  await shot(page, 'study-constrained');

  await page.goto(`${URL0}/#/studies/${name}/trials`);
  await page.waitForFunction(() => document.querySelectorAll('#trials tbody tr').length > 0, {timeout: T});
  const heads = await page.$$eval('#trials thead tr:first-child th', (ths) => ths.map((th) => th.textContent));
  const col = heads.findIndex((h) => h.startsWith('feasibility'));
  check(heads.some((h) => h.startsWith('constraints')) && col >= 0, 'constraints and feasibility columns',
        heads.join(','));
  const feas = await page.$$eval(`#trials tbody tr td:nth-child(${col + 1})`, (tds) => tds.map((td) => td.textContent));
  const greyCells = await page.$$eval('#trials tbody .feas.infeasible', (s) => s.length);
  check(feas.filter((f) => f === 'infeasible').length === out.length && greyCells === out.length &&
        feas.filter((f) => f === 'feasible').length === ok.length, 'each trial marked feasible or infeasible',
        feas.join(','));
  await shot(page, 'trials-constrained');

  await page.goto(`${URL0}/#/studies/${name}/trials/${out[0]}`);
  await page.waitForSelector('#trial-constraints', {timeout: T}).catch(() => {});
  const text = await page.$eval('#trial-constraints', (d) => d.textContent).catch(() => '');
  check(/infeasible$/.test(text), 'a trial page shows its constraints, infeasible', text);
}

async function main() {
  await staticFiles();
  const browser = await puppeteer.launch({
    executablePath: env.HPO_CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--window-size=1400,1000'],
  });
  const downloads = fs.mkdtempSync(path.join(SHOTS, 'downloads-'));
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1400, height: 1000});
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', {behavior: 'allow', downloadPath: downloads});

    const errors = [], foreign = [], leaks = [];
    let expect401 = false;
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      if (expect401 && /401/.test(m.text())) return;
      const at = (m.stackTrace() || []).slice(0, 3)
        .map((f) => `${f.url.replace(ORIGIN, '')}:${f.lineNumber}:${f.columnNumber}`).join(' < ');
      errors.push(`${m.text()} (${at || m.location()?.url || ''})`);
    });
    page.on('pageerror', (e) => errors.push('page error: ' + e.message));
    page.on('request', (req) => {
      const u = new URL(req.url());
      if (u.protocol === 'data:' || u.protocol === 'blob:') return;
      if (u.origin !== ORIGIN) foreign.push(req.url());
      else if (req.headers().authorization && !u.pathname.startsWith('/api/v1/')) leaks.push(req.url());
      else if (!req.headers().authorization && u.pathname.startsWith('/api/v1/')) leaks.push('no token: ' + req.url());
    });
    page.on('requestfailed', (req) => {
      if (req.failure()?.errorText !== 'net::ERR_ABORTED') errors.push('request failed: ' + req.url());
    });

    // the token box first (nothing kept yet), then the read token
    await page.goto(URL0 + '/', {waitUntil: 'load'});
    await page.waitForSelector('#token-box:not([hidden])', {timeout: T});
    check(true, 'the token box shows without a token');
    await page.type('#token-input', env.HPO_READ_TOKEN);
    await page.click('#token-form button[type=submit]');
    check(await page.$eval('#token-box', (b) => b.hidden && getComputedStyle(b).display === 'none'),
          'the token box goes once a token is saved');

    // studies
    const nStudies = Object.keys(STUDIES).length;
    await page.waitForFunction((n) => document.querySelectorAll('#studies tbody tr').length >= n,
                               {timeout: T}, nStudies).catch(() => {});
    await page.waitForFunction(() => document.getElementById('studies').textContent.includes('30 / 30'),
                               {timeout: T}).catch(() => {});
    const rows = await page.$$eval('#studies tbody tr', (trs) => trs.map((tr) => tr.textContent));
    check(rows.length === nStudies, `the studies list shows ${nStudies} studies`, String(rows.length));
    check(rows.some((r) => r.includes('30 / 30')), 'progress against max_trials', rows.join(' | '));
    await page.type('#study-search', 'asha');
    const filtered = await page.$$eval('#studies tbody tr', (trs) => trs.length);
    check(filtered === 1, 'the search box filters by name', String(filtered));
    await page.$eval('#study-search', (e) => { e.value = ''; e.dispatchEvent(new Event('input')); });
    await shot(page, 'studies');

    // the finished study: every plot
    const base = ['history', 'intermediate', 'parallel', 'contour', 'slice', 'importance', 'edf',
                  'rank', 'timeline'];
    await page.goto(`${URL0}/#/studies/${STUDIES.finished}`);
    await waitPlots(page, base);
    const inter = await page.$eval('#plot-intermediate', (d) => d.data.map((t) => t.name));
    check(inter.includes('pruned here'), 'pruned trials marked where cut', inter.join(','));
    await page.click('[data-plot=history] input[type=checkbox]');
    await page.waitForFunction(() => document.getElementById('plot-history').layout?.yaxis?.type === 'log',
                               {timeout: T}).catch(() => {});
    check(await page.$eval('#plot-history', (d) => d.layout.yaxis.type === 'log'), 'log-scale toggle');
    await page.select('[data-plot=importance] select', 'ped_anova');
    await page.waitForFunction(() => /ped_anova/.test(
      document.getElementById('plot-importance').layout?.xaxis?.title?.text || ''), {timeout: T}).catch(() => {});
    check(await page.$eval('#plot-importance', (d) => /ped_anova/.test(d.layout?.xaxis?.title?.text || '')),
          'importances with ped_anova');
    await shot(page, 'study-finished');

    // the running two-objective study: objective selector, Pareto front, live updates
    await page.goto(`${URL0}/#/studies/${STUDIES.running}`);
    await waitPlots(page, [...base, 'pareto', 'hypervolume']);
    check(await page.$eval('.toolbar select', (s) => s.options.length === 2 && !s.parentElement.hidden),
          'objective selector for two objectives');
    const hv = await api('GET', `/studies/${STUDIES.running}/hypervolume`);
    const drawnHv = await page.$eval('#plot-hypervolume', (d) => d.data[0].y);
    check(hv.history.length > 0 && drawnHv.length === hv.history.length &&
          drawnHv[drawnHv.length - 1] === hv.hypervolume,
          'hypervolume history drawn as the server computes it', `${drawnHv.slice(-1)} vs ${hv.hypervolume}`);
    for (let i = 0; i < 3; i++) { // live: each trial added shows within 2 s of its commit
      const before = await page.$eval('#plot-history', (d) => d.data[0].x.length);
      const t = await api('POST', `/studies/${STUDIES.running}/trials`, {worker: 'browser-test'});
      await api('POST', `/studies/${STUDIES.running}/trials/${t.number}/finish`,
                {state: 'complete', values: [0.5 + i, -0.25 * i]});
      const t0 = Date.now();
      const seen = await page.waitForFunction((n, num) => {
        const d = document.getElementById('plot-history');
        return d?.data?.[0]?.x?.length === n + 1 && d.data[0].x.includes(num);
      }, {timeout: 2000, polling: 20}, before, t.number).then(() => true, () => false);
      const ms = await page.evaluate(() => document.body.dataset.drawMs);
      check(seen, `new trial ${t.number} shows on the running study within 2 s`,
            `${Date.now() - t0} ms (a redraw takes ${ms} ms)`);
      await new Promise((r) => setTimeout(r, 300 * i));
    }
    await page.select('.toolbar select', '1');
    await page.waitForFunction(() => /objective 1/.test(
      document.getElementById('plot-history').layout?.yaxis?.title?.text || ''), {timeout: T}).catch(() => {});
    check(await page.$eval('#plot-history', (d) => /objective 1/.test(d.layout.yaxis.title.text)),
          'the objective selector switches the plots');
    await shot(page, 'study-running');

    // ASHA
    await page.goto(`${URL0}/#/studies/${STUDIES.asha}`);
    await waitPlots(page, ['history', 'intermediate', 'timeline', 'asha', 'promotions']);
    const asha = await page.$eval('#plot-asha', (d) => d.data.map((t) => `${t.name}:${t.y.join('/')}`));
    check(asha.length === 3, 'ASHA rungs: reached, paused, promoted', asha.join(' '));
    const promoted = (await api('GET', `/studies/${STUDIES.asha}/asha`)).promotions.length;
    const drawn = await page.$eval('#plot-promotions', (d) => d.data.reduce((n, t) => n + t.x.length, 0));
    check(promoted > 0 && drawn === promoted, 'ASHA promotions over time: each promotion at its time',
          `${drawn} drawn of ${promoted}`);
    const paused = await page.$eval('#plot-intermediate', (d) => d.data.map((t) => t.name));
    check(paused.includes('paused here (ASHA)'), 'paused ASHA trials marked', paused.join(','));
    await page.waitForFunction(() => document.getElementById('plot-intermediate').data
      .some((t) => t.name === 'promoted here (ASHA)'), {timeout: T}).catch(() => {});
    const marks = await page.$eval('#plot-intermediate', (d) =>
      d.data.find((t) => t.name === 'promoted here (ASHA)')?.x?.length || 0);
    check(marks === promoted, 'promoted ASHA trials marked at their rungs', `${marks} of ${promoted}`);
    await shot(page, 'study-asha');

    await constrained(page);

    // the trials table
    await page.goto(`${URL0}/#/studies/${STUDIES.finished}/trials`);
    await page.waitForFunction(() => document.querySelectorAll('#trials tbody tr').length > 0, {timeout: T});
    const heads = await page.$$eval('#trials thead tr:first-child th', (ths) => ths.map((th) => th.textContent));
    check(['lr', 'optimizer', 'layers'].every((p) => heads.includes(p)) &&
          heads.some((h) => h.startsWith('value')), 'params and values as columns', heads.join(','));
    check(!heads.includes('constraints') && !heads.includes('feasibility'),
          'no constraint columns in a study without constraints', heads.join(','));
    const col = (name) => heads.findIndex((h) => h.startsWith(name));
    const cells = (i) => page.$$eval(`#trials tbody tr td:nth-child(${i + 1})`, (tds) => tds.map((td) => td.textContent));
    await page.click(`#trials thead tr:first-child th:nth-child(${col('value') + 1})`);
    const vals = (await cells(col('value'))).filter(Boolean).map(Number);
    check(vals.length > 1 && vals.every((v, i) => i === 0 || vals[i - 1] <= v), 'sorted by value', vals.slice(0, 5).join(','));
    await page.type(`#trials tr.filters th:nth-child(${col('lr') + 1}) input`, '..0.01');
    const lrs = (await cells(col('lr'))).map(Number);
    check(lrs.length > 0 && lrs.every((v) => v <= 0.01), 'filtered by a param range', lrs.join(','));
    await page.$eval(`#trials tr.filters th:nth-child(${col('lr') + 1}) input`,
                     (e) => { e.value = ''; e.dispatchEvent(new Event('input')); });
    for (const s of ['complete', 'fail', 'running', 'paused', 'waiting'])
      await page.$$eval('.toolbar label', (ls, s) => ls.find((l) => l.textContent.trim() === s)
        .querySelector('input').click(), s);
    const states = await cells(col('state'));
    check(states.length > 0 && states.every((s) => s === 'pruned'), 'filtered by state', states.join(','));
    await shot(page, 'trials');

    // a trial: curve, artifacts, download, log tail
    await page.goto(`${URL0}/#/studies/${STUDIES.finished}/trials/0`);
    await page.waitForSelector('#log-tail', {timeout: T}).catch(() => {});
    const tail = await page.$eval('#log-tail', (p) => p.textContent.split('\n')).catch(() => []);
    check(tail.length === 200 && tail[199] === 'line 299', 'the log tail: its last 200 lines',
          `${tail.length} lines, last ${tail[tail.length - 1]}`);
    await page.waitForFunction(() => document.getElementById('plot-curve')?.dataset.state === 'drawn',
                               {timeout: T}).catch(() => {});
    check(await page.$eval('#plot-curve', (d) => d.data?.[0]?.x?.length > 0), 'the trial\'s learning curve');
    const names = await page.$$eval('#artifacts a.download', (as) => as.map((a) => a.textContent));
    check(names.includes('model.bin') && names.includes('train.log'), 'artifacts listed', names.join(','));
    await page.$$eval('#artifacts a.download', (as) => as.find((a) => a.textContent === 'model.bin').click());
    const file = path.join(downloads, 'model.bin');
    for (let i = 0; i < 100 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    const got = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
    check(got.length === 1024 && got[255] === 255, 'artifact downloaded with the token (fetch + blob)',
          `${got.length} bytes`);
    await shot(page, 'trial');

    // the retry chain: 0 failed, retried by 1, which failed and was retried by 2 (complete)
    const retry = STUDIES.retry;
    const chainOf = () => page.$$eval('dl.kv dt', (dts) => Object.fromEntries(dts
      .filter((dt) => dt.nextElementSibling?.querySelector('a.chain'))
      .map((dt) => [dt.textContent, dt.nextElementSibling.querySelector('a.chain').getAttribute('href') +
                    ' ' + dt.nextElementSibling.textContent])));
    const trialPage = (n) => page.waitForFunction((n) => document.querySelector('h2')?.textContent
      .endsWith(`trial ${n}`) && document.querySelector('dl.kv'), {timeout: T}, n).then(() => true, () => false);
    const link = (n) => `#/studies/${retry}/trials/${n} #${n}`;
    const xOf = () => page.$$eval('.card table.data tr', (trs) =>
      trs.find((tr) => tr.firstChild?.textContent === 'x')?.children[1]?.textContent);
    await page.goto(`${URL0}/#/studies/${retry}/trials/0`);
    await trialPage(0);
    let chain = await chainOf();
    check(chain['retried by'] === link(1) && !('retry of' in chain),
          'a failed trial links to its retry', JSON.stringify(chain));
    const x0 = await xOf();
    await shot(page, 'trial-retried');
    await page.click('a.chain');
    let landed = await trialPage(1);
    chain = await chainOf();
    check(landed && page.url().endsWith(`#/studies/${retry}/trials/1`) && chain['retry of'] === link(0) &&
          chain['retried by'] === link(2), 'following it lands on the retry, which links back and on',
          `${page.url()} ${JSON.stringify(chain)}`);
    check(x0 !== undefined && await xOf() === x0, 'the retry runs the same params', `${x0}`);
    await page.$$eval('dl.kv dt', (dts) => dts.find((dt) => dt.textContent === 'retried by')
      .nextElementSibling.querySelector('a.chain').click());
    landed = await trialPage(2);
    chain = await chainOf();
    check(landed && page.url().endsWith(`#/studies/${retry}/trials/2`) && chain['retry of'] === link(1) &&
          !('retried by' in chain), 'the last retry links back only', `${page.url()} ${JSON.stringify(chain)}`);
    await shot(page, 'trial-retry');
    await page.click('a.chain');
    landed = await trialPage(1);
    check(landed && page.url().endsWith(`#/studies/${retry}/trials/1`), 'and back to the trial it retries',
          page.url());

    // checks of the whole session so far, then a bad token brings the token box back
    check(errors.length === 0, 'no console errors', errors.join(' | '));
    check(foreign.length === 0, 'no request to another origin', foreign.join(' '));
    check(leaks.length === 0, 'the token only on /api/v1 requests', leaks.join(' '));
    expect401 = true;
    await page.evaluate(() => localStorage.setItem('hpo.token', 'hpo_not-a-valid-token'));
    await page.goto(`${URL0}/#/`);
    await page.reload();
    const box = await page.waitForSelector('#token-box:not([hidden])', {timeout: T}).then(() => true, () => false);
    check(box && /refused/.test(await page.$eval('#token-message', (p) => p.textContent)),
          'a 401 brings the token box back');
  } finally {
    await browser.close();
    fs.rmSync(downloads, {recursive: true, force: true});
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error('check_dashboard.js: ' + (e.stack || e));
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});

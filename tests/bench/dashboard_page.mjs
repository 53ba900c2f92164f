// dashboard_page.mjs: the study page of a large study in headless Chromium, timed; run by
// dashboard_scale.sh (node, with puppeteer-core from tests/e2e/browser/node_modules and Debian's
// chromium). Environment: HPO_URL, HPO_STUDY, HPO_READ_TOKEN, HPO_ADMIN_TOKEN, HPO_CHROMIUM.
// A fresh browser profile opens the study page from its link (token in the fragment) and
// measures, from the navigation's start: the first plot drawn; every plot drawn (each scrolled
// into view in turn, as a user would); then, the page loaded and following the study, a trial
// added through the API (the best yet) until it shows in the history plot, and a click on the log-scale box
// until the plot has redrawn (the page stays usable); a reload with the browser's cache warm,
// to its first plot. Also the bytes of the /columns answer on
// the wire, the longest task on the main thread and the JavaScript heap. Prints one JSON line.
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'e2e', 'browser', 'package.json'));
const puppeteer = require('puppeteer-core');

const env = process.env;
const URL0 = env.HPO_URL, STUDY = env.HPO_STUDY;
const T = 120000;

async function api(method, p, body) {
  const r = await fetch(`${URL0}/api/v1/studies/${encodeURIComponent(STUDY)}${p}`, {
    method, headers: {Authorization: 'Bearer ' + env.HPO_ADMIN_TOKEN, 'Content-Type': 'application/json'},
    body: body ? JSON.stringify(body) : undefined});
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const historyPoints = (page) => page.$eval('#plot-history', (d) => d.data?.[0]?.x?.length || 0);
const inHistory = (n) => (document.getElementById('plot-history').data?.[0]?.x || []).includes(n);

async function main() {
  const browser = await puppeteer.launch({
    executablePath: env.HPO_CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--window-size=1400,1000'],
  });
  const out = {};
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1400, height: 1000});
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    const cdp = await page.createCDPSession();
    await cdp.send('Network.enable');
    const urls = new Map();
    let columnsBytes = 0;
    cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
    cdp.on('Network.loadingFinished', (e) => {
      const u = urls.get(e.requestId) || '';
      if (/\/columns($|\?)(?!.*since=)/.test(u)) columnsBytes = Math.max(columnsBytes, e.encodedDataLength);
    });
    await page.evaluateOnNewDocument(() => {
      window.__longest = 0;
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
      }).observe({type: 'longtask', buffered: true});
    });

    const t0 = Date.now();
    await page.goto(`${URL0}/#/studies/${encodeURIComponent(STUDY)}?token=${env.HPO_READ_TOKEN}`,
                    {waitUntil: 'load'});
    await page.waitForSelector('.plot[data-state=drawn]', {timeout: T});
    out.first_plot_s = (Date.now() - t0) / 1000;
    const ids = await page.$$eval('.plot', (ds) => ds.map((d) => d.id));
    for (const id of ids) {
      await page.$eval('#' + id, (d) => d.scrollIntoView());
      await page.waitForFunction((id) => document.getElementById(id).dataset.state === 'drawn',
                                 {timeout: T}, id);
    }
    out.all_plots_s = (Date.now() - t0) / 1000;
    out.plots = ids.length;
    out.columns_bytes = columnsBytes;
    await page.evaluate(() => window.scrollTo(0, 0));
    await new Promise((r) => setTimeout(r, 1500)); // the plots back on screen redrawn: a page one watches

    // live: a new complete trial, the best (so the history plot's sample keeps it), shows there
    const t1 = Date.now();
    const trial = await api('POST', '/trials', {worker: 'bench-page'});
    await api('POST', `/trials/${trial.number}/finish`, {state: 'complete', value: -1});
    await page.waitForFunction(inHistory, {timeout: T}, trial.number);
    out.live_s = (Date.now() - t1) / 1000;

    // usable: the log-scale box redraws the history plot
    const t2 = Date.now();
    await page.click('[data-plot=history] input[type=checkbox]');
    await page.waitForFunction(() => document.getElementById('plot-history').layout?.yaxis?.type === 'log',
                               {timeout: T});
    out.click_s = (Date.now() - t2) / 1000;
    out.longest_task_ms = await page.evaluate(() => window.__longest);
    out.heap_mb = (await page.metrics()).JSHeapUsedSize / 1048576;
    out.history_points = await historyPoints(page); // drawn of the study's points

    // again, the browser's cache warm (Plotly's script and its compiled code kept)
    const t3 = Date.now();
    await page.reload({waitUntil: 'load'});
    await page.waitForSelector('.plot[data-state=drawn]', {timeout: T});
    out.reload_first_plot_s = (Date.now() - t3) / 1000;
    out.errors = errors;
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error('dashboard_page.mjs: ' + (e.stack || e)); process.exit(1); });

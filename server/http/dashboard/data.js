// data.js: a study's trials in the browser, kept up to date from GET .../columns: the first
// call brings every trial, then a long poll (since=<version>&wait=25) brings the trials that
// changed, merged by number. Each answer carries the learning curves of its last CURVES trials
// having any (what the page draws; a fraction of the bytes of a large study); a trial sent
// without one keeps the curve it had. The study page and the trials table share one StudyData per study;
// it polls while someone listens and keeps what it has when they leave (a later visit asks only
// for what changed since).
import {enc, getJSON} from './api.js';
import {sleep} from './util.js';

export const CURVES = 500;

export class StudyData {
  constructor(name) {
    this.name = name;
    this.version = null;
    this.directions = [];
    this.dists = {};      // param name -> distribution (the study's search space + suggested)
    this.counts = {};
    this.byNumber = [];   // trial records by number (see merge)
    this.constrained = false; // some trial gave constraints: feasibility matters (see feasible)
    this.error = null;    // the last error of the poll, null once it answers again
    this.loaded = false;
    this.listeners = new Set();
    this.abort = null;
    this._list = this._names = this._complete = null;
  }

  // The trials in number order (cached until the next change).
  trials() {
    if (!this._list) this._list = this.byNumber.filter(Boolean);
    return this._list;
  }

  // Merges one /columns answer; true when something changed.
  merge(r) {
    if (r.full) { this.byNumber = []; this.constrained = false; }
    this.version = r.version;
    this.directions = r.directions || this.directions;
    // the distributions of the params of the trials sent: added to those known
    this.dists = r.full ? {...r.params} : {...this.dists, ...r.params};
    this.counts = r.counts || this.counts;
    const t = r.trials || {};
    const n = (t.number || []).length;
    const names = Object.keys(t.params || {});
    for (let i = 0; i < n; i++) {
      const params = {};
      for (const p of names) {
        const v = t.params[p][i];
        if (v !== null && v !== undefined) params[p] = v;
      }
      const iv = t.intermediate ? t.intermediate[i] : null;
      const old = this.byNumber[t.number[i]];
      this.byNumber[t.number[i]] = {
        number: t.number[i],
        state: t.state[i],
        values: t.values ? t.values[i] : null,
        constraints: t.constraints ? t.constraints[i] : null,
        params,
        start: t.started_ms ? t.started_ms[i] : null,
        end: t.finished_ms ? t.finished_ms[i] : null,
        worker: t.worker ? t.worker[i] : null,
        failReason: t.fail_reason ? t.fail_reason[i] : null,
        steps: iv ? iv.steps : old ? old.steps : [],
        ivalues: iv ? iv.values : old ? old.ivalues : [],
      };
    }
    // a trial's constraints never go away: once given, the study stays constrained
    if (t.constraints && t.constraints.some((c) => c !== null)) this.constrained = true;
    const changed = n > 0 || r.full || !this.loaded;
    if (changed) this._list = this._names = this._complete = null;
    this.loaded = true;
    return changed;
  }

  // fn(data) after every change (and on errors); returns the function that stops listening.
  listen(fn) {
    this.listeners.add(fn);
    if (!this.abort) this.follow();
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0 && this.abort) {
        this.abort.abort();
        this.abort = null;
      }
    };
  }

  emit() {
    for (const fn of this.listeners) fn(this);
  }

  async follow() {
    const ctl = new AbortController();
    this.abort = ctl;
    let backoff = 0;
    while (!ctl.signal.aborted) {
      const q = `?intermediate=${CURVES}` + (this.version === null ? '' : `&since=${enc(this.version)}&wait=25`);
      try {
        const r = await getJSON(`/api/v1/studies/${enc(this.name)}/columns${q}`,
                                {signal: ctl.signal});
        const hadError = this.error !== null;
        this.error = null;
        backoff = 0;
        if (this.merge(r) || hadError) this.emit();
      } catch (e) {
        if (ctl.signal.aborted) return;
        this.error = e;
        this.emit();
        if (e.status === 401) { // no use asking again before a new token (app.js remounts)
          if (this.abort === ctl) this.abort = null;
          return;
        }
        backoff = Math.min(15000, backoff ? backoff * 2 : 1000);
        await sleep(backoff, ctl.signal);
      }
    }
  }
}

const cache = new Map();
export function studyData(name) {
  if (!cache.has(name)) cache.set(name, new StudyData(name));
  return cache.get(name);
}

// The objective value k of a trial, or null.
export const value = (t, k) => (t.values && t.values[k] !== undefined ? t.values[k] : null);

// Whether trial t counts as feasible, as the server's best and Pareto front count trials: in a
// constrained study a complete or pruned trial is feasible when it gave constraints and all are
// <= 0 (one that gave none is infeasible); in a study without constraints every trial is.
export const feasible = (data, t) =>
  !data.constrained || (!!t.constraints && t.constraints.every((c) => c <= 0));

// Every param name: the distributions' first, then any other a trial has.
export function paramNames(data) {
  if (data._names) return data._names;
  const names = Object.keys(data.dists);
  const seen = new Set(names);
  for (const t of data.trials())
    for (const p in t.params)
      if (!seen.has(p)) { seen.add(p); names.push(p); }
  data._names = names;
  return names;
}

// api.js: the page's only door to the server. Every call goes to a relative /api/v1/ URL of this
// server (the Content-Security-Policy forbids any other origin anyway) and carries the token
// kept in localStorage as "Authorization: Bearer"; a 401 asks for the token again.
import {h} from './util.js';

const KEY = 'hpo.token';

export const token = {
  get: () => localStorage.getItem(KEY) || '',
  set: (t) => localStorage.setItem(KEY, t.trim()),
  clear: () => localStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let unauthorized = () => {};
// fn(message) is called on every 401 (app.js shows the token box).
export function onUnauthorized(fn) { unauthorized = fn; }

export const enc = encodeURIComponent;

// fetch() of a path of this server's API with the token; throws ApiError unless 2xx.
export async function request(path, {signal} = {}) {
  // only same-origin relative URLs under /api/v1/ ever get the token
  if (typeof path !== 'string' || !path.startsWith('/api/v1/'))
    throw new Error('api: not an /api/v1/ path: ' + path);
  const headers = {};
  const t = token.get();
  if (t) headers.Authorization = 'Bearer ' + t;
  const res = await fetch(path, {headers, signal, credentials: 'omit', cache: 'no-store'});
  if (res.ok) return res;
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  const err = new ApiError(res.status, body?.error?.code || '',
                           body?.error?.message || res.statusText || 'HTTP ' + res.status);
  if (res.status === 401) unauthorized(err.message);
  throw err;
}

export async function getJSON(path, opts) {
  return (await request(path, opts)).json();
}

// Saves the bytes at path as a file named `name` (a link cannot carry the token: fetch + blob).
export async function download(path, name) {
  const blob = await (await request(path)).blob();
  const url = URL.createObjectURL(blob);
  const a = h('a', {href: url, download: name, hidden: true});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

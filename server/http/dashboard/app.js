// app.js: the entry point: the token box, the breadcrumbs, and the hash router that mounts one
// view at a time into <main> (each view's mount returns its cleanup: timers, polls, plots).
//   #/                          studies.js  the studies
//   #/studies/NAME              study.js    a study's plots, live
//   #/studies/NAME/trials       trials.js   its trials table
//   #/studies/NAME/trials/N     trial.js    one trial
// Any of them may end in "?token=..." (quickstart.sh prints such a link): see takeTokenFromUrl.
import {onUnauthorized, token} from './api.js';
import {h, fill} from './util.js';
import * as studies from './studies.js';
import * as study from './study.js';
import * as trials from './trials.js';
import * as trial from './trial.js';

const $ = (id) => document.getElementById(id);
const view = $('view');
let unmount = null;

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'studies' && parts.length >= 2) {
    const name = parts[1];
    if (parts.length === 2) return {view: study, args: {study: name}};
    if (parts[2] === 'trials' && parts.length === 3) return {view: trials, args: {study: name}};
    if (parts[2] === 'trials' && parts.length === 4 && /^\d+$/.test(parts[3]))
      return {view: trial, args: {study: name, number: +parts[3]}};
  }
  return {view: studies, args: {}};
}

function crumbs(v, args) {
  const e = encodeURIComponent;
  const links = [h('a', {href: '#/'}, 'studies')];
  if (args.study) links.push(h('a', {href: `#/studies/${e(args.study)}`}, args.study));
  if (v === trials) links.push(h('span', {}, 'trials'));
  if (args.number !== undefined) links.push(h('a', {href: `#/studies/${e(args.study)}/trials`}, 'trials'),
                                            h('span', {}, `trial ${args.number}`));
  fill($('crumbs'), links);
}

function show() {
  if (unmount) unmount();
  unmount = null;
  const {view: v, args} = route();
  crumbs(v, args);
  view.replaceChildren();
  window.scrollTo(0, 0);
  unmount = v.mount(view, args) || null;
}

// The token box: shown on demand, on a 401, and at the start when no token is kept.
function tokenBox(message) {
  $('token-message').textContent = message || 'The data of this server needs a token (read scope is enough).';
  $('token-input').value = token.get();
  $('token-box').hidden = false;
  $('token-input').focus();
}
let asked = false;
onUnauthorized((msg) => {
  if (!asked || $('token-box').hidden) tokenBox('Token refused: ' + msg);
  asked = true;
});
$('token-button').addEventListener('click', () => tokenBox());
$('token-cancel').addEventListener('click', () => {
  $('token-box').hidden = true;
  if (!unmount) show(); // (a server without authentication needs no token)
});
$('token-clear').addEventListener('click', () => { token.clear(); $('token-input').value = ''; });
$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token.set($('token-input').value);
  $('token-box').hidden = true;
  show(); // again, with the token
});

// A link may carry a token in its fragment ("#/studies/NAME?token=..."; the fragment never
// reaches the server): it is kept like a typed one and taken out of the address bar.
function takeTokenFromUrl() {
  const at = location.hash.indexOf('?');
  if (at < 0) return;
  const t = new URLSearchParams(location.hash.slice(at + 1)).get('token');
  if (t) token.set(t);
  history.replaceState(null, '', location.pathname + location.hash.slice(0, at));
}

takeTokenFromUrl();
window.addEventListener('hashchange', () => {
  takeTokenFromUrl();
  if (unmount || token.get()) show();
});
if (token.get()) show();
else tokenBox(); // the views start once a token is given (or the box closed)

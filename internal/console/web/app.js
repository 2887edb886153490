// The console's shell: language, session, the app picker, navigation and the
// hash router. Pages live in pages/*.js; each exports render functions
// (view, ctx, ...route params) that fill the view and may return a cleanup
// function run when the page is left.

import { get, post, del, setCsrf, onUnauthorized, ApiError } from './api.js';
import { h, d } from './dom.js';
import { t, setLang, detect, lang, LANGS, onLangChange } from './i18n.js';
import { errorBox, pageHead, emptyState, toastError } from './ui.js';
import * as signin from './pages/signin.js';
import * as dashboard from './pages/dashboard.js';
import * as apps from './pages/apps.js';
import * as users from './pages/users.js';
import * as groups from './pages/groups.js';
import * as messages from './pages/messages.js';
import * as broadcasts from './pages/broadcasts.js';
import * as admins from './pages/admins.js';
import * as audit from './pages/audit.js';
import * as account from './pages/account.js';

const APP_KEY = 'parley.console.app';

const state = {
  user: null, // {username, role, apps}
  apps: [], // the app objects of GET /apps
  app: '', // the chosen app, "org/app"
};

const routes = [
  { re: /^\/dashboard$/, page: 'dashboard', render: dashboard.render },
  { re: /^\/apps$/, page: 'apps', render: apps.list },
  { re: /^\/apps\/([^/]+)\/([^/]+)$/, page: 'apps', render: apps.detail },
  { re: /^\/users$/, page: 'users', perApp: true, render: users.list },
  { re: /^\/users\/([^/]+)$/, page: 'users', perApp: true, render: users.detail },
  { re: /^\/groups$/, page: 'groups', perApp: true, render: (v, c) => groups.list(v, c, 'groups') },
  { re: /^\/groups\/([^/]+)$/, page: 'groups', perApp: true, render: (v, c, id) => groups.detail(v, c, 'groups', id) },
  { re: /^\/rooms$/, page: 'rooms', perApp: true, render: (v, c) => groups.list(v, c, 'rooms') },
  { re: /^\/rooms\/([^/]+)$/, page: 'rooms', perApp: true, render: (v, c, id) => groups.detail(v, c, 'rooms', id) },
  { re: /^\/messages$/, page: 'messages', perApp: true, render: messages.render },
  { re: /^\/broadcasts$/, page: 'broadcasts', perApp: true, render: broadcasts.render },
  { re: /^\/admins$/, page: 'admins', owner: true, render: admins.render },
  { re: /^\/audit$/, page: 'audit', owner: true, render: audit.render },
  { re: /^\/account$/, page: 'account', render: account.render },
];

const $ = (id) => document.getElementById(id);

// ---- roles -----------------------------------------------------------------------

function isOwner() { return state.user?.role === 'owner'; }

// canWrite says whether the account may change things in app ("org/app"),
// or, without an app, anything at all.
function canWrite(app) {
  const u = state.user;
  if (!u) return false;
  if (u.role === 'owner') return true;
  if (u.role !== 'app_admin') return false;
  return app ? (u.apps || []).includes(app) : true;
}

// ---- routing -----------------------------------------------------------------------

let generation = 0;
let cleanup = null;

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function context(view) {
  const gen = generation;
  return {
    user: state.user,
    app: state.app,
    apps: state.apps,
    isOwner: isOwner(),
    canWrite: (app = state.app) => canWrite(app),
    alive: () => gen === generation,
    navigate,
    reloadApps: loadApps,
    signOut,
    view,
  };
}

async function route() {
  if (!state.user) return;
  generation += 1;
  const gen = generation;
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  const [path, qs = ''] = (location.hash.replace(/^#/, '') || '/dashboard').split('?');
  const r = routes.find((x) => x.re.test(path));
  if (!r) { navigate('#/dashboard'); return; }
  const params = path.match(r.re).slice(1).map((p) => decodeURIComponent(p));
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === r.page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  closeNav();
  // A dialog belongs to the page it was opened on.
  for (const dlg of document.querySelectorAll('dialog[open]')) dlg.close();
  const view = $('main');
  view.replaceChildren();
  view.dataset.page = r.page;
  delete view.dataset.ready;
  try {
    if (r.owner && !isOwner()) {
      view.append(pageHead(t(`nav.${r.page}`)), emptyState(t('common.owner_only')));
    } else if (r.perApp && !state.app) {
      view.append(pageHead(t(`nav.${r.page}`)),
        emptyState(t('common.no_app'), h('a', { href: '#/apps', class: 'btn btn-primary' }, t('common.go_apps'))));
    } else {
      const done = await r.render(view, { ...context(view), query: new URLSearchParams(qs) }, ...params);
      if (typeof done === 'function') {
        if (gen === generation) cleanup = done;
        else done();
      }
    }
  } catch (err) {
    view.append(errorBox(err));
  }
  if (gen !== generation) return;
  view.dataset.ready = '1'; // the page has loaded its data (the browser tests wait for it)
  const h1 = view.querySelector('h1');
  document.title = `${h1 ? h1.textContent : ''} · ${t('app.title')}`;
  if (document.activeElement === document.body || !view.contains(document.activeElement)) {
    (h1 || view).focus({ preventScroll: true });
  }
}

// ---- the shell ---------------------------------------------------------------------

function fillLangPicker(sel) {
  sel.replaceChildren(...LANGS.map((l) => h('option', { value: l, lang: l }, t(`lang.${l}`))));
  sel.value = lang();
}

function fillAppPicker() {
  const sel = $('app-picker');
  if (!state.apps.length) {
    sel.replaceChildren(h('option', { value: '' }, t('shell.no_apps')));
    sel.disabled = true;
    return;
  }
  sel.disabled = false;
  sel.replaceChildren(...state.apps.map((a) => h('option', { value: `${a.org}/${a.app}`, translate: 'no' }, `${a.org}/${a.app}`)));
  sel.value = state.app;
}

function fillAccount() {
  const u = state.user;
  $('account-link').replaceChildren(d(u.username, 'span', { class: 'account-name' }), ' ', h('span', { class: 'badge badge-neutral' }, t(`role.${u.role}`)));
  $('account-link').setAttribute('aria-label', t('shell.account', { user: u.username }));
  for (const li of document.querySelectorAll('[data-owner-only]')) li.hidden = !isOwner();
}

async function loadApps() {
  const res = await get('/apps');
  state.apps = res.items || [];
  const keys = state.apps.map((a) => `${a.org}/${a.app}`);
  let saved = '';
  try { saved = localStorage.getItem(APP_KEY) || ''; } catch { /* storage disabled */ }
  state.app = keys.includes(state.app) ? state.app : keys.includes(saved) ? saved : keys[0] || '';
  fillAppPicker();
}

function closeNav() {
  $('shell').classList.remove('nav-open');
  $('nav-toggle').setAttribute('aria-expanded', 'false');
}

async function signedIn(session) {
  state.user = session.user;
  setCsrf(session.csrf);
  $('signin-view').hidden = true;
  $('signin-view').replaceChildren();
  $('shell').hidden = false;
  fillAccount();
  try {
    await loadApps();
  } catch (err) {
    toastError(err);
  }
  if (!location.hash || location.hash === '#/signin') location.replace('#/dashboard');
  await route();
}

// showSignin shows the sign-in page, with the notice of i18n key noticeKey.
function showSignin(noticeKey) {
  generation += 1;
  if (cleanup) { cleanup(); cleanup = null; }
  state.user = null;
  state.apps = [];
  setCsrf('');
  $('shell').hidden = true;
  $('main').replaceChildren();
  const view = $('signin-view');
  view.hidden = false;
  signin.render(view, { noticeKey, onSignedIn: signedIn, fillLangPicker });
  document.title = `${t('signin.title')} · ${t('app.title')}`;
}

async function signOut(everywhere = false) {
  try {
    if (everywhere) await post('/session/revoke-all');
    else await del('/session');
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) { toastError(err); return; }
  }
  showSignin(everywhere ? 'signin.signed_out_everywhere' : 'signin.signed_out');
}

function wireShell() {
  fillLangPicker($('lang-picker'));
  $('lang-picker').addEventListener('change', (e) => setLang(e.target.value));
  $('app-picker').addEventListener('change', (e) => {
    state.app = e.target.value;
    try { localStorage.setItem(APP_KEY, state.app); } catch { /* storage disabled */ }
    // A details page belongs to the previous app: go back to its list.
    const m = location.hash.match(/^#\/(users|groups|rooms)\//);
    if (m) navigate(`#/${m[1]}`);
    else route();
  });
  $('signout').addEventListener('click', () => signOut(false));
  $('nav-toggle').addEventListener('click', () => {
    const open = $('shell').classList.toggle('nav-open');
    $('nav-toggle').setAttribute('aria-expanded', String(open));
  });
  window.addEventListener('hashchange', route);
  onLangChange(() => {
    $('toasts').replaceChildren(); // notices in the previous language
    fillLangPicker($('lang-picker'));
    if (state.user) {
      fillAppPicker();
      fillAccount();
      route();
    } else if (!$('signin-view').hidden) {
      showSignin($('signin-view').querySelector('[data-notice]')?.dataset.notice);
    }
  });
  onUnauthorized(() => { if (state.user) showSignin('signin.expired'); });
}

async function boot() {
  await setLang(detect(), { remember: false });
  wireShell();
  try {
    await signedIn(await get('/session'));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) showSignin();
    else {
      showSignin();
      $('signin-view').prepend(errorBox(err));
    }
  }
}

boot();

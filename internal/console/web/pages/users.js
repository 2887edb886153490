// Users of the chosen app: search and create; a user's page with profile,
// attributes, devices and friends, and the changes an operator makes
// (nickname and attributes, password, ban/unban, force logout, erasure).

import { get, post, put, appPath } from '../api.js';
import { h, d, code } from '../dom.js';
import { t } from '../i18n.js';
import {
  pageHead, section, table, pagedTable, time, dl, badge, writeButton, formDialog, confirmDialog,
  toast, errorBox, kvEditor,
} from '../ui.js';

const userHref = (u) => `#/users/${encodeURIComponent(u)}`;

function statusBadge(u) {
  return u.activated === false ? badge(t('users.banned'), 'danger') : badge(t('users.active'), 'ok');
}

export async function list(view, ctx) {
  const allowed = ctx.canWrite();
  const create = writeButton(allowed, t('users.create'), async () => {
    const u = await formDialog({
      title: t('users.create'),
      fields: [
        { name: 'username', label: t('users.username'), required: true, pattern: '^[A-Za-z0-9_.\\-]{1,64}$', help: t('users.username_help'), autocomplete: 'off' },
        { name: 'password', label: t('users.password'), type: 'password', required: true, autocomplete: 'new-password', maxlength: 64 },
        { name: 'nickname', label: t('users.nickname'), maxlength: 100 },
      ],
      submitLabel: t('users.create_submit'),
      onSubmit: (v) => post(appPath(ctx.app, 'users'), { username: v.username, password: v.password, ...(v.nickname ? { nickname: v.nickname } : {}) }),
    });
    if (u) {
      toast(t('users.created', { user: u.username }));
      ctx.navigate(userHref(u.username));
    }
  }, { kind: 'primary' });

  const q = h('input', { type: 'search', id: 'users-q', name: 'q', autocomplete: 'off', spellcheck: 'false' });
  const search = h('form', { class: 'search', role: 'search' },
    h('label', { for: 'users-q' }, t('users.search')), q,
    h('button', { type: 'submit', class: 'btn' }, t('common.search')));

  const list = pagedTable({
    caption: t('nav.users'),
    empty: t('users.empty'),
    columns: [
      { label: t('users.username'), cell: (u) => h('a', { href: userHref(u.username), translate: 'no' }, u.username) },
      { label: t('users.nickname'), cell: (u) => d(u.nickname) },
      { label: t('users.status'), cell: statusBadge },
      { label: t('common.created'), cell: (u) => time(u.created) },
    ],
    fetch: (cursor) => get(appPath(ctx.app, 'users'), { q: q.value.trim(), cursor, limit: 50 }),
  });
  search.addEventListener('submit', (e) => { e.preventDefault(); list.load(); });

  view.append(pageHead(t('nav.users'), { lead: t('users.lead', { app: ctx.app }), actions: [create] }),
    section(t('users.list'), search, list.el));
  await list.load();
}

export async function detail(view, ctx, username) {
  const allowed = ctx.canWrite();
  const base = appPath(ctx.app, 'users', username);
  const head = pageHead(t('users.user_title', { user: username }), { back: { href: '#/users', label: t('nav.users') } });
  const body = h('div', { class: 'stack' });
  view.append(head, body);

  async function load() {
    let u;
    try {
      u = await get(base);
    } catch (err) {
      body.replaceChildren(errorBox(err));
      return;
    }
    body.replaceChildren(profile(u), attributes(u), devices(u), friends(u));
  }

  function profile(u) {
    const banned = u.activated === false;
    const actions = h('div', { class: 'section-actions' },
      writeButton(allowed, t('users.edit'), () => editProfile(u)),
      writeButton(allowed, t('users.reset_password'), () => resetPassword()),
      writeButton(allowed, t('users.force_logout'), () => forceLogout(null), { kind: 'warn' }),
      banned
        ? writeButton(allowed, t('users.unban'), () => setBanned(false), { kind: 'primary' })
        : writeButton(allowed, t('users.ban'), () => setBanned(true), { kind: 'danger' }),
      writeButton(allowed, t('users.erase'), () => erase(), { kind: 'danger' }));
    return section(t('users.profile'),
      dl([
        [t('users.username'), code(u.username)],
        [t('users.nickname'), d(u.nickname || '—')],
        [t('users.status'), statusBadge(u)],
        [t('common.created'), time(u.created)],
        [t('users.friends_count'), d(u.friends ?? 0)],
        [t('users.blocked_count'), d(u.blocked ?? 0)],
      ]),
      actions);
  }

  function attributes(u) {
    const attrs = u.attributes || {};
    const keys = Object.keys(attrs);
    const tbl = table({
      caption: t('users.attributes'),
      empty: t('users.no_attributes'),
      columns: [
        { label: t('attrs.key'), cell: (k) => code(k) },
        { label: t('attrs.value'), cell: (k) => d(typeof attrs[k] === 'string' ? attrs[k] : JSON.stringify(attrs[k])) },
      ],
      rows: keys,
    });
    return section(t('users.attributes'), tbl.el);
  }

  function devices(u) {
    const list = u.devices || [];
    const tbl = table({
      caption: t('users.devices'),
      empty: t('users.no_devices'),
      columns: [
        { label: t('users.resource'), cell: (x) => code(x.res) },
        { label: t('users.platform'), cell: (x) => [d(x.platform), x.background ? [' ', badge(t('users.background'), 'neutral')] : null] },
        { label: t('users.device_name'), cell: (x) => d(x.device_name) },
        { label: t('users.since'), cell: (x) => time(x.since) },
        {
          label: t('common.actions'),
          class: 'actions',
          cell: (x) => writeButton(allowed, t('users.logout_device'), () => forceLogout(x.res), { kind: 'quiet', 'aria-label': t('users.logout_device_named', { res: x.res }) }),
        },
      ],
      rows: list,
    });
    return section(t('users.devices_n', { n: list.length }), tbl.el);
  }

  function friends() {
    const tbl = pagedTable({
      caption: t('users.friends'),
      empty: t('users.no_friends'),
      columns: [
        { label: t('users.username'), cell: (f) => h('a', { href: userHref(f.username), translate: 'no' }, f.username) },
        { label: t('users.remark'), cell: (f) => d(f.remark) },
      ],
      fetch: (cursor) => get(`${base}/friends`, { cursor, limit: 50 }),
    });
    tbl.load();
    return section(t('users.friends'), tbl.el);
  }

  async function editProfile(u) {
    const kv = kvEditor(u.attributes, { legend: t('users.attributes') });
    const ok = await formDialog({
      title: t('users.edit_title', { user: username }),
      fields: [{ name: 'nickname', label: t('users.nickname'), value: u.nickname || '', maxlength: 100 }],
      submitLabel: t('common.save'),
      wide: true,
      onSubmit: (v) => put(base, { nickname: v.nickname, attributes: kv.value() }),
      extra: kv,
    });
    if (ok) { toast(t('users.saved')); load(); }
  }

  async function resetPassword() {
    const ok = await formDialog({
      title: t('users.reset_password'),
      intro: t('users.reset_intro', { user: username }),
      fields: [{ name: 'password', label: t('users.new_password'), type: 'password', required: true, autocomplete: 'new-password', maxlength: 64 }],
      submitLabel: t('users.reset_submit'),
      onSubmit: (v) => post(`${base}/password`, { password: v.password }),
    });
    if (ok) toast(t('users.password_reset'));
  }

  async function setBanned(ban) {
    const ok = await confirmDialog({
      title: ban ? t('users.ban') : t('users.unban'),
      message: ban ? t('users.ban_confirm', { user: username }) : t('users.unban_confirm', { user: username }),
      confirmLabel: ban ? t('users.ban') : t('users.unban'),
      danger: ban,
      action: () => post(`${base}/${ban ? 'ban' : 'unban'}`),
    });
    if (ok) { toast(ban ? t('users.banned_done', { user: username }) : t('users.unbanned_done', { user: username })); load(); }
  }

  async function erase() {
    const ok = await confirmDialog({
      title: t('users.erase'),
      message: t('users.erase_confirm', { user: username }),
      confirmLabel: t('users.erase'),
      danger: true,
      action: () => post(`${base}/erase`),
    });
    if (ok) { toast(t('users.erased_done', { user: username })); ctx.navigate('#/users'); }
  }

  async function forceLogout(res) {
    const ok = await confirmDialog({
      title: t('users.force_logout'),
      message: res ? t('users.logout_device_confirm', { user: username, res }) : t('users.force_logout_confirm', { user: username }),
      confirmLabel: t('users.force_logout'),
      danger: true,
      action: () => post(`${base}/logout`, res ? { resource: res } : {}),
    });
    if (ok) { toast(t('users.logged_out')); load(); }
  }

  await load();
}

// Groups and chat rooms of the chosen app (the same pages for both kinds):
// search, and a group's page with its settings, announcement, members and
// roles, mutes, and dissolving it.

import { get, post, put, del, appPath } from '../api.js';
import { h, d, code } from '../dom.js';
import { t } from '../i18n.js';
import {
  pageHead, section, table, pagedTable, time, dl, badge, writeButton, formDialog, confirmDialog,
  toast, toastError, errorBox, form, yesNo,
} from '../ui.js';

const MUTES = [
  ['10m', 10 * 60e3],
  ['1h', 3600e3],
  ['1d', 86400e3],
  ['7d', 7 * 86400e3],
  ['30d', 30 * 86400e3],
];

// kind is "groups" or "rooms"; keys are prefixed with it.
const href = (kind, id) => `#/${kind}/${encodeURIComponent(id)}`;

export async function list(view, ctx, kind) {
  const q = h('input', { type: 'search', id: `${kind}-q`, name: 'q', autocomplete: 'off', spellcheck: 'false' });
  const search = h('form', { class: 'search', role: 'search' },
    h('label', { for: `${kind}-q` }, t(`${kind}.search`)), q,
    h('button', { type: 'submit', class: 'btn' }, t('common.search')));
  const columns = [
    { label: t('groups.id'), cell: (g) => h('a', { href: href(kind, g.id), translate: 'no' }, g.id) },
    { label: t('groups.name'), cell: (g) => d(g.name) },
    { label: t('groups.owner'), cell: (g) => d(g.owner) },
    { label: t('groups.members'), cell: (g) => d(g.members ?? g.affiliations_count ?? '') },
  ];
  // Rooms are always public and never disabled.
  if (kind === 'groups') {
    columns.push(
      { label: t('groups.public'), cell: (g) => yesNo(g.public) },
      { label: t('groups.state'), cell: (g) => (g.disabled ? badge(t('groups.disabled'), 'danger') : badge(t('groups.enabled'), 'ok')) });
  }
  columns.push({ label: t('common.created'), cell: (g) => time(g.created) });
  const list = pagedTable({
    caption: t(`nav.${kind}`),
    empty: t(`${kind}.empty`),
    columns,
    fetch: (cursor) => get(appPath(ctx.app, kind), { q: q.value.trim(), cursor, limit: 50 }),
  });
  search.addEventListener('submit', (e) => { e.preventDefault(); list.load(); });
  view.append(pageHead(t(`nav.${kind}`), { lead: t(`${kind}.lead`, { app: ctx.app }) }), section(t(`${kind}.list`), search, list.el));
  await list.load();
}

export async function detail(view, ctx, kind, id) {
  const allowed = ctx.canWrite();
  const base = appPath(ctx.app, kind, id);
  const body = h('div', { class: 'stack' });
  view.append(pageHead(t(`${kind}.title`, { id }), { back: { href: `#/${kind}`, label: t(`nav.${kind}`) } }), body);

  async function load() {
    let g;
    try {
      g = await get(base);
    } catch (err) {
      body.replaceChildren(errorBox(err));
      return;
    }
    body.replaceChildren(facts(g), announcement(g), members(g));
  }

  function facts(g) {
    const dissolve = writeButton(allowed, t(`${kind}.dissolve`), async () => {
      const ok = await confirmDialog({
        title: t(`${kind}.dissolve`),
        message: t(`${kind}.dissolve_confirm`, { name: g.name || id, id }),
        confirmLabel: t(`${kind}.dissolve`),
        danger: true,
        action: () => del(base),
      });
      if (ok) { toast(t(`${kind}.dissolved`, { id })); ctx.navigate(`#/${kind}`); }
    }, { kind: 'danger' });
    const pairs = [
      [t('groups.id'), code(g.id ?? id)],
      [t('groups.name'), d(g.name)],
      [t('groups.description'), d(g.description || '—')],
      [t('groups.owner'), g.owner ? h('a', { href: `#/users/${encodeURIComponent(g.owner)}`, translate: 'no' }, g.owner) : d('—')],
      [t('groups.members'), d(g.affiliations_count ?? (g.members || []).length)],
      [t('groups.maxusers'), d(g.maxusers ?? '—')],
    ];
    if (kind === 'groups') {
      pairs.push(
        [t('groups.public'), yesNo(g.public)],
        [t('groups.membersonly'), yesNo(g.membersonly)],
        [t('groups.allowinvites'), yesNo(g.allowinvites)],
        [t('groups.state'), g.disabled ? badge(t('groups.disabled'), 'danger') : badge(t('groups.enabled'), 'ok')]);
    }
    pairs.push(
      [t('groups.mute_all'), yesNo(g.mute)],
      [t('common.created'), time(g.created)]);
    if (g.custom) pairs.push([t('groups.custom'), d(g.custom, 'span', { class: 'mono' })]);
    const actions = [dissolve];
    if (kind === 'groups') {
      actions.unshift(h('a', { class: 'btn', href: `#/messages?group=${encodeURIComponent(g.id ?? id)}` }, t('groups.view_messages')));
    }
    return section(t('groups.details'), dl(pairs), h('div', { class: 'section-actions' }, actions));
  }

  function announcement(g) {
    const f = form({
      fields: [{ name: 'announcement', label: t('groups.announcement_text'), type: 'textarea', value: g.announcement || '', maxlength: 512, help: t('groups.announcement_help') }],
      submitLabel: t('groups.announcement_save'),
      allowed,
      onSubmit: async (v) => {
        await put(`${base}/announcement`, { announcement: v.announcement });
        toast(t('groups.announcement_saved'));
      },
    });
    return section(t('groups.announcement'), f);
  }

  function members(g) {
    const now = Date.now();
    const rows = g.members || [];
    const tbl = table({
      caption: t('groups.members'),
      empty: t('groups.no_members'),
      columns: [
        { label: t('users.username'), cell: (m) => h('a', { href: `#/users/${encodeURIComponent(m.username)}`, translate: 'no' }, m.username) },
        { label: t('groups.role'), cell: (m) => badge(t(`grouprole.${m.role}`), m.role === 'owner' ? 'accent' : m.role === 'admin' ? 'info' : 'neutral') },
        { label: t('groups.muted_until'), cell: (m) => (m.muted_until && (m.muted_until < 0 || m.muted_until > now) ? (m.muted_until < 0 ? t('groups.muted_forever') : time(m.muted_until)) : d('—')) },
        {
          label: t('common.actions'),
          class: 'actions',
          cell: (m) => {
            if (m.role === 'owner') return d('');
            const muted = m.muted_until && (m.muted_until < 0 || m.muted_until > now);
            return [
              m.role === 'admin'
                ? writeButton(allowed, t('groups.make_member'), () => setRole(m.username, 'member'), { kind: 'quiet', 'aria-label': t('groups.make_member_named', { user: m.username }) })
                : writeButton(allowed, t('groups.make_admin'), () => setRole(m.username, 'admin'), { kind: 'quiet', 'aria-label': t('groups.make_admin_named', { user: m.username }) }),
              muted
                ? writeButton(allowed, t('groups.unmute'), () => unmute(m.username), { kind: 'quiet', 'aria-label': t('groups.unmute_named', { user: m.username }) })
                : writeButton(allowed, t('groups.mute'), () => mute(m.username), { kind: 'quiet', 'aria-label': t('groups.mute_named', { user: m.username }) }),
            ];
          },
        },
      ],
      rows,
    });
    const total = g.affiliations_count ?? rows.length;
    return section(t('groups.members_n', { n: total }),
      total > rows.length ? h('p', { class: 'help' }, t('groups.members_first', { n: rows.length })) : null,
      tbl.el);
  }

  async function setRole(username, role) {
    try {
      await put(`${base}/roles`, { username, role });
      toast(t('groups.role_set', { user: username, role: t(`grouprole.${role}`) }));
      load();
    } catch (err) {
      toastError(err);
    }
  }

  async function mute(username) {
    const ok = await formDialog({
      title: t('groups.mute_title', { user: username }),
      fields: [{
        name: 'duration', label: t('groups.mute_duration'), type: 'select', value: String(MUTES[1][1]),
        // Rooms also mute for ever (-1); groups do not.
        options: [...MUTES, ...(kind === 'rooms' ? [['forever', -1]] : [])].map(([k, ms]) => ({ value: String(ms), label: t(`duration.${k}`) })),
      }],
      submitLabel: t('groups.mute'),
      onSubmit: (v) => post(`${base}/mute`, { usernames: [username], duration_ms: Number(v.duration) }),
    });
    if (ok) { toast(t('groups.muted', { user: username })); load(); }
  }

  async function unmute(username) {
    const ok = await confirmDialog({
      title: t('groups.unmute'),
      message: t('groups.unmute_confirm', { user: username }),
      confirmLabel: t('groups.unmute'),
      action: () => post(`${base}/mute`, { usernames: [username], duration_ms: 0 }),
    });
    if (ok) { toast(t('groups.unmuted', { user: username })); load(); }
  }

  await load();
}

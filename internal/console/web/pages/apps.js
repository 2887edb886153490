// Apps: the list, creating one (owner), and an app's page: credentials,
// rotating the client secret, settings, push notifiers.

import { get, post, put, del, appPath } from '../api.js';
import { h, d, code } from '../dom.js';
import { t } from '../i18n.js';
import {
  pageHead, section, table, time, dl, writeButton, formDialog, confirmDialog, secretDialog,
  form, toast, errorBox, emptyState, badge,
} from '../ui.js';

const NAME = '^[A-Za-z0-9_\\-]{1,64}$';

export async function list(view, ctx) {
  const create = writeButton(ctx.isOwner, t('apps.create'), async () => {
    const res = await formDialog({
      title: t('apps.create'),
      fields: [
        { name: 'org', label: t('apps.org'), required: true, pattern: NAME, help: t('apps.name_help'), autocomplete: 'off' },
        { name: 'app', label: t('apps.app'), required: true, pattern: NAME, autocomplete: 'off' },
      ],
      submitLabel: t('apps.create_submit'),
      onSubmit: (v) => post('/apps', { org: v.org, app: v.app }),
    });
    if (!res) return;
    await secretDialog({ title: t('apps.created_title', { app: `${res.org}/${res.app}` }), message: t('apps.secret_once'), secret: res.client_secret });
    await ctx.reloadApps();
    ctx.navigate(`#/apps/${encodeURIComponent(res.org)}/${encodeURIComponent(res.app)}`);
  }, { kind: 'primary' });

  view.append(pageHead(t('nav.apps'), { lead: t('apps.lead'), actions: [create] }));
  if (!ctx.apps.length) {
    view.append(emptyState(t('apps.empty')));
    return;
  }
  const tbl = table({
    caption: t('nav.apps'),
    columns: [
      { label: t('apps.app'), cell: (a) => h('a', { href: `#/apps/${encodeURIComponent(a.org)}/${encodeURIComponent(a.app)}`, translate: 'no' }, `${a.org}/${a.app}`) },
      { label: t('apps.appkey'), cell: (a) => code(a.appkey) },
      { label: t('apps.client_id'), cell: (a) => code(a.client_id) },
      { label: t('common.created'), cell: (a) => time(a.created) },
    ],
    rows: ctx.apps,
  });
  view.append(section(t('apps.list'), tbl.el));
}

// The app settings of docs/rest.md, with their defaults.
const SETTINGS = [
  { name: 'open_registration', type: 'checkbox' },
  { name: 'friends_only', type: 'checkbox' },
  { name: 'max_devices', type: 'number', min: 0, def: 4 },
  { name: 'device_overflow', type: 'select', options: ['kick_oldest', 'reject'] },
  { name: 'recall_window_seconds', type: 'number', min: 0, max: 604800, def: 120 },
  { name: 'max_message_bytes', type: 'number', min: 0, max: 61440, def: 5120 },
  { name: 'max_file_bytes', type: 'number', min: 0, max: 2147483648, def: 10485760 },
  { name: 'room_recent_messages', type: 'number', min: 0, max: 100, def: 10 },
  { name: 'room_grace_seconds', type: 'number', min: 0, def: 120 },
  { name: 'room_max_users', type: 'number', min: 0, max: 1000000, def: 10000 },
];

function settingsFields(settings) {
  return SETTINGS.map((s) => {
    const v = settings?.[s.name];
    const f = { name: s.name, type: s.type, label: t(`setting.${s.name}`), help: t(`setting.${s.name}.help`) };
    if (s.type === 'checkbox') f.value = !!v;
    else if (s.type === 'select') {
      f.options = s.options.map((o) => ({ value: o, label: t(`setting.${s.name}.${o}`) }));
      f.value = v || s.options[0];
    } else {
      f.value = v || '';
      f.placeholder = t('setting.default', { v: s.def });
      f.min = s.min;
      f.max = s.max;
    }
    return f;
  });
}

const PROVIDERS = ['fcm', 'apns', 'webhook', 'log'];

function notifierFields(existing) {
  const is = (...p) => (v) => p.includes(v.provider);
  return [
    { name: 'name', label: t('notifiers.name'), required: true, value: existing?.name || '', readonly: existing ? true : undefined, pattern: NAME, autocomplete: 'off' },
    { name: 'provider', label: t('notifiers.provider'), type: 'select', value: existing?.provider || 'fcm', options: PROVIDERS.map((p) => ({ value: p, label: t(`provider.${p}`) })) },
    { name: 'service_account', label: t('notifiers.service_account'), type: 'json', rows: 6, required: true, help: t('notifiers.service_account_help'), showIf: is('fcm') },
    { name: 'key_p8', label: t('notifiers.key_p8'), type: 'textarea', rows: 5, required: true, class: 'mono', showIf: is('apns') },
    { name: 'key_id', label: t('notifiers.key_id'), required: true, showIf: is('apns') },
    { name: 'team_id', label: t('notifiers.team_id'), required: true, showIf: is('apns') },
    { name: 'topic', label: t('notifiers.topic'), required: true, help: t('notifiers.topic_help'), showIf: is('apns') },
    { name: 'sandbox', label: t('notifiers.sandbox'), type: 'checkbox', showIf: is('apns') },
    { name: 'url', label: t('notifiers.url'), type: 'url', required: true, showIf: is('webhook') },
    { name: 'secret', label: t('notifiers.secret'), type: 'password', autocomplete: 'off', help: t('notifiers.secret_help'), showIf: is('webhook') },
  ];
}

export async function detail(view, ctx, org, name) {
  const app = `${org}/${name}`;
  const a = ctx.apps.find((x) => x.org === org && x.app === name);
  view.append(pageHead(t('apps.app_title', { app }), { back: { href: '#/apps', label: t('nav.apps') } }));
  if (!a) {
    view.append(emptyState(t('apps.not_found')));
    return;
  }
  const allowed = ctx.canWrite(app);

  // Credentials.
  const rotate = writeButton(allowed, t('apps.rotate'), async () => {
    let secret = '';
    const ok = await confirmDialog({
      title: t('apps.rotate_title'),
      message: t('apps.rotate_confirm', { app }),
      confirmLabel: t('apps.rotate_submit'),
      danger: true,
      action: async () => { secret = (await post(appPath(app, 'secret'))).client_secret; },
    });
    if (ok) await secretDialog({ title: t('apps.new_secret'), message: t('apps.secret_once'), secret });
  }, { kind: 'danger' });
  view.append(section(t('apps.credentials'),
    dl([
      [t('apps.appkey'), code(a.appkey)],
      [t('apps.client_id'), code(a.client_id)],
      [t('apps.client_secret'), t('apps.secret_hidden')],
      [t('common.created'), time(a.created)],
    ]),
    h('div', { class: 'section-actions' }, rotate)));

  // Settings.
  const settingsForm = form({
    fields: settingsFields(a.settings),
    submitLabel: t('common.save'),
    allowed,
    onSubmit: async (v) => {
      const res = await put(appPath(app, 'settings'), { settings: v });
      if (res && res.settings) a.settings = res.settings;
      toast(t('apps.settings_saved'));
    },
  });
  settingsForm.classList.add('form-grid');
  view.append(section(t('apps.settings'), settingsForm));

  // Notifiers.
  const notifiersSlot = h('div');
  const addNotifier = writeButton(allowed, t('notifiers.add'), () => editNotifier(null));
  view.append(section(t('notifiers.title'), h('p', { class: 'help' }, t('notifiers.lead')), notifiersSlot,
    h('div', { class: 'section-actions' }, addNotifier)));

  async function editNotifier(existing) {
    const ok = await formDialog({
      title: existing ? t('notifiers.edit_title', { name: existing.name }) : t('notifiers.add'),
      intro: existing ? t('notifiers.edit_intro') : undefined,
      fields: notifierFields(existing),
      submitLabel: t('common.save'),
      wide: true,
      onSubmit: (v) => {
        const body = { ...v };
        delete body.name;
        if (body.secret === '') delete body.secret;
        return put(appPath(app, 'notifiers', v.name), body);
      },
    });
    if (ok) {
      toast(t('notifiers.saved'));
      loadNotifiers();
    }
  }

  async function loadNotifiers() {
    try {
      const res = await get(appPath(app, 'notifiers'));
      const tbl = table({
        caption: t('notifiers.title'),
        empty: t('notifiers.empty'),
        columns: [
          { label: t('notifiers.name'), cell: (n) => code(n.name) },
          { label: t('notifiers.provider'), cell: (n) => badge(t(`provider.${n.provider}`)) },
          { label: t('notifiers.summary'), cell: (n) => d(n.summary) },
          { label: t('common.updated'), cell: (n) => time(n.updated) },
          {
            label: t('common.actions'),
            class: 'actions',
            cell: (n) => [
              writeButton(allowed, t('common.edit'), () => editNotifier(n), { kind: 'quiet', 'aria-label': t('notifiers.edit_title', { name: n.name }) }),
              writeButton(allowed, t('common.delete'), async () => {
                const done = await confirmDialog({
                  title: t('notifiers.delete_title'),
                  message: t('notifiers.delete_confirm', { name: n.name }),
                  confirmLabel: t('common.delete'),
                  danger: true,
                  action: () => del(appPath(app, 'notifiers', n.name)),
                });
                if (done) { toast(t('notifiers.deleted')); loadNotifiers(); }
              }, { kind: 'quiet-danger', 'aria-label': t('notifiers.delete_title') }),
            ],
          },
        ],
        rows: res.items || [],
      });
      notifiersSlot.replaceChildren(tbl.el);
    } catch (err) {
      notifiersSlot.replaceChildren(errorBox(err));
    }
  }
  await loadNotifiers();
}

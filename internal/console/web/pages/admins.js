// Console accounts (owner only): list, create, change role, apps or
// password, delete.

import { get, post, put, del } from '../api.js';
import { h, d, code } from '../dom.js';
import { t } from '../i18n.js';
import { pageHead, section, table, time, badge, writeButton, formDialog, confirmDialog, toast, errorBox } from '../ui.js';

const ROLES = ['owner', 'app_admin', 'viewer'];

function fields(ctx, existing) {
  const apps = ctx.apps.map((a) => `${a.org}/${a.app}`);
  const list = [];
  if (!existing) {
    list.push({ name: 'username', label: t('admins.username'), required: true, autocomplete: 'off', pattern: '^[A-Za-z0-9_.@\\-]{1,64}$', help: t('admins.username_help') });
  }
  list.push(
    {
      name: 'password', label: existing ? t('admins.new_password') : t('admins.password'), type: 'password',
      required: !existing, minlength: 12, maxlength: 256, autocomplete: 'new-password',
      help: existing ? t('admins.password_keep') : t('admins.password_help'),
    },
    {
      name: 'role', label: t('admins.role'), type: 'select', value: existing?.role || 'viewer',
      options: ROLES.map((r) => ({ value: r, label: t(`role.${r}`) })),
      help: t('admins.role_help'),
    },
    {
      name: 'apps', label: t('admins.apps'), type: 'checkboxes', value: existing?.apps || [],
      options: apps.map((a) => ({ value: a, label: d(a) })),
      help: t('admins.apps_help'),
      showIf: (v) => v.role !== 'owner',
    });
  return list;
}

export async function render(view, ctx) {
  const slot = h('div');
  const create = writeButton(ctx.isOwner, t('admins.create'), async () => {
    const ok = await formDialog({
      title: t('admins.create'),
      fields: fields(ctx),
      submitLabel: t('admins.create_submit'),
      onSubmit: (v) => post('/admins', { username: v.username, password: v.password, role: v.role, apps: v.role === 'owner' ? [] : v.apps || [] }),
    });
    if (ok) { toast(t('admins.created', { user: ok.username })); load(); }
  }, { kind: 'primary' });
  view.append(pageHead(t('nav.admins'), { lead: t('admins.lead'), actions: [create] }), section(t('admins.list'), slot));

  async function edit(a) {
    const ok = await formDialog({
      title: t('admins.edit_title', { user: a.username }),
      fields: fields(ctx, a),
      submitLabel: t('common.save'),
      onSubmit: (v) => {
        const body = { role: v.role, apps: v.role === 'owner' ? [] : v.apps || [] };
        if (v.password) body.password = v.password;
        return put(`/admins/${encodeURIComponent(a.username)}`, body);
      },
    });
    if (ok) { toast(t('admins.saved')); load(); }
  }

  async function remove(a) {
    const ok = await confirmDialog({
      title: t('admins.delete_title'),
      message: t('admins.delete_confirm', { user: a.username }),
      confirmLabel: t('common.delete'),
      danger: true,
      action: () => del(`/admins/${encodeURIComponent(a.username)}`),
    });
    if (ok) { toast(t('admins.deleted', { user: a.username })); load(); }
  }

  async function load() {
    try {
      const res = await get('/admins');
      const tbl = table({
        caption: t('nav.admins'),
        columns: [
          { label: t('admins.username'), cell: (a) => code(a.username) },
          { label: t('admins.role'), cell: (a) => badge(t(`role.${a.role}`), a.role === 'owner' ? 'accent' : a.role === 'app_admin' ? 'info' : 'neutral') },
          { label: t('admins.apps'), cell: (a) => (a.role === 'owner' ? t('admins.all_apps') : (a.apps || []).length ? d(a.apps.join(', ')) : t(a.role === 'viewer' ? 'admins.all_apps' : 'admins.no_apps')) },
          { label: t('common.created'), cell: (a) => time(a.created) },
          {
            label: t('common.actions'),
            class: 'actions',
            cell: (a) => [
              writeButton(ctx.isOwner, t('common.edit'), () => edit(a), { kind: 'quiet', 'aria-label': t('admins.edit_title', { user: a.username }) }),
              a.username === ctx.user.username ? null
                : writeButton(ctx.isOwner, t('common.delete'), () => remove(a), { kind: 'quiet-danger', 'aria-label': t('admins.delete_named', { user: a.username }) }),
            ],
          },
        ],
        rows: res.items || [],
      });
      slot.replaceChildren(tbl.el);
    } catch (err) {
      slot.replaceChildren(errorBox(err));
    }
  }
  await load();
}

// The signed-in account: who it is, changing its password, signing out
// everywhere.

import { post } from '../api.js';
import { h, d, code } from '../dom.js';
import { t } from '../i18n.js';
import { pageHead, section, dl, form, toast, button, confirmDialog, FieldError } from '../ui.js';

export async function render(view, ctx) {
  const u = ctx.user;
  const apps = u.role === 'owner' ? t('admins.all_apps') : (u.apps || []).length ? d(u.apps.join(', ')) : t(u.role === 'viewer' ? 'admins.all_apps' : 'admins.no_apps');
  const pw = form({
    fields: [
      { name: 'old', label: t('account.old_password'), type: 'password', required: true, autocomplete: 'current-password' },
      { name: 'new', label: t('account.new_password'), type: 'password', required: true, minlength: 12, autocomplete: 'new-password', help: t('account.new_password_help') },
      { name: 'again', label: t('account.repeat_password'), type: 'password', required: true, minlength: 12, autocomplete: 'new-password' },
    ],
    submitLabel: t('account.change_password'),
    write: false,
    // For password managers: which account the password belongs to.
    extra: [h('input', { type: 'text', name: 'username', autocomplete: 'username', value: u.username, hidden: true, readonly: true, 'aria-hidden': 'true', tabindex: '-1' })],
    onSubmit: async (v, el) => {
      if (v.new !== v.again) throw new FieldError('again', 'account.mismatch');
      await post('/password', { old: v.old, new: v.new });
      el.reset();
      toast(t('account.password_changed'));
    },
  });
  const everywhere = button(t('account.signout_everywhere'), async () => {
    const ok = await confirmDialog({
      title: t('account.signout_everywhere'),
      message: t('account.signout_everywhere_confirm'),
      confirmLabel: t('account.signout_everywhere'),
      danger: true,
    });
    if (ok) ctx.signOut(true);
  }, { kind: 'danger' });
  view.append(
    pageHead(t('account.title')),
    section(t('account.who'), dl([
      [t('admins.username'), code(u.username)],
      [t('admins.role'), t(`role.${u.role}`)],
      [t('admins.apps'), apps],
    ])),
    section(t('account.password'), h('p', { class: 'help' }, t('account.password_lead')), pw),
    section(t('account.sessions'), h('p', { class: 'help' }, t('account.sessions_lead')), h('div', { class: 'section-actions' }, everywhere)));
}

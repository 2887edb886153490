// Broadcasts of the chosen app: compose a message and send it to every chat
// room, every user, or the users online now.

import { post, appPath } from '../api.js';
import { h, code } from '../dom.js';
import { t } from '../i18n.js';
import { pageHead, section, form, confirmDialog, table, time, toast } from '../ui.js';

const TARGETS = ['users', 'online', 'rooms'];

export async function render(view, ctx) {
  const allowed = ctx.canWrite();
  const sent = table({
    caption: t('broadcasts.sent'),
    empty: t('broadcasts.none_sent'),
    columns: [
      { label: t('messages.time'), cell: (b) => time(b.ts) },
      { label: t('broadcasts.target'), cell: (b) => t(`broadcasts.target_${b.target}`) },
      { label: t('broadcasts.id'), cell: (b) => code(b.id) },
    ],
  });

  const compose = form({
    fields: [
      {
        name: 'target', label: t('broadcasts.target'), type: 'radios', value: 'users',
        options: TARGETS.map((x) => ({ value: x, label: t(`broadcasts.target_${x}`) })),
        help: t('broadcasts.limits'),
      },
      {
        name: 'type', label: t('messages.type'), type: 'select', value: 'txt',
        options: [{ value: 'txt', label: t('msgtype.txt') }, { value: 'custom', label: t('msgtype.custom') }],
      },
      { name: 'msg', label: t('broadcasts.text'), type: 'textarea', required: true, rows: 4, showIf: (v) => v.type === 'txt' },
      { name: 'customEvent', label: t('broadcasts.custom_event'), required: true, pattern: '^[a-zA-Z0-9_.\\/\\-]{1,32}$', showIf: (v) => v.type === 'custom' },
      { name: 'customExts', label: t('broadcasts.custom_exts'), type: 'json', help: t('broadcasts.custom_exts_help'), showIf: (v) => v.type === 'custom' },
      { name: 'from', label: t('broadcasts.from'), placeholder: t('broadcasts.from_placeholder'), autocomplete: 'off', help: t('broadcasts.from_help') },
      { name: 'ext', label: t('broadcasts.ext'), type: 'json', rows: 3, help: t('broadcasts.ext_help') },
    ],
    submitLabel: t('broadcasts.send'),
    allowed,
    onSubmit: async (v, formEl) => {
      const body = v.type === 'txt' ? { msg: v.msg } : { customEvent: v.customEvent, ...(v.customExts ? { customExts: v.customExts } : {}) };
      const req = { target: v.target, type: v.type, body };
      if (v.ext) req.ext = v.ext;
      if (v.from) req.from = v.from;
      let id = '';
      const ok = await confirmDialog({
        title: t('broadcasts.confirm_title'),
        message: t(`broadcasts.confirm_${v.target}`, { app: ctx.app }),
        confirmLabel: t('broadcasts.send'),
        danger: true,
        action: async () => { id = (await post(appPath(ctx.app, 'broadcasts'), req)).id; },
      });
      if (!ok) return;
      sent.add([{ ts: Date.now(), target: v.target, id }]);
      toast(t('broadcasts.sent_done'));
      formEl.querySelector('textarea[name=msg]').value = '';
    },
  });
  view.append(
    pageHead(t('nav.broadcasts'), { lead: t('broadcasts.lead', { app: ctx.app }) }),
    section(t('broadcasts.compose'), compose),
    section(t('broadcasts.sent'), h('p', { class: 'help' }, t('broadcasts.sent_help')), sent.el));
}
